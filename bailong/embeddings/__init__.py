"""Vocabulary extension: resize embeddings to an extended tokenizer and initialize new rows.

Methods (``embedding_init.method``): ``zip_tie`` (Bailong's), the baselines
``subword_mean``, ``mean``, ``mean_cov``, ``random``, ``zeros``, ``piece_logprob`` (ours) and
``token_distillation`` (Dobler et al. 2025, on snippets of fitting text); ``embedding_init.output``
chooses the ``lm_head`` rows apart from the method (``output_side.py``).
Add a method by writing an ``InitContext -> NewRows`` function (``context.py``) and giving it
a row in ``method_names.INIT_METHOD_TABLE`` (the registry is built from it). The package imports
nothing itself, so its settings (``config.py``) load without torch.
"""
