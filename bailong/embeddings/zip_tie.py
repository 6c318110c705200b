"""Zip-tie embedding initialization (Chen & Li 2024, "Bailong", arXiv 2404.00862).

What the paper says (abstract and the authors' model cards; see the note below on sources):
Llama 2's vocabulary is extended with 27,241 Traditional Chinese tokens, and each new token's
embedding is initialized from the embeddings of the tokens the ORIGINAL tokenizer produces for
it — for most Chinese characters its UTF-8 byte-fallback tokens ``<0xE8> <0x87> <0xBA>`` — so
the pieces are "zip-tied" into one vector. This lowers the initial loss of the secondary
pretraining and saves training steps compared with other initializations. The model cards
describe Bailong 7B as trained "with tied embedding and expanded vocabulary"; we read "tied"
as this zip-tie of pieces, not as sharing one matrix between ``embed_tokens`` and ``lm_head``
(Llama 2 is untied and Bailong keeps its architecture).

Source note: the text of the paper's zip-tie section (its section number and equation) was not
reachable from this project's sources (only the abstract and summaries were), so the exact
weight function is NOT taken from the paper. Every point the available text leaves open is a
config field (``conf/embedding_init/zip_tie.yaml``):

- ``input_weights`` — weights over a token's pieces for its ``embed_tokens`` row: ``uniform``
  (``e_new = (1/n) Σ_i E_in[p_i]``), ``first`` or ``last`` (all weight on one piece).
- ``output_weights`` — the same for ``lm_head`` (``u_new = (1/n) Σ_i E_out[p_i]`` for
  uniform: the new logit is the mean of its pieces' logits; ``first``: the logit of the piece
  the original model would emit first).
- ``tie_output_to_input`` — ``lm_head``'s new rows copy the new ``embed_tokens`` rows instead
  of combining ``lm_head`` rows.
- pieces come from the original SentencePiece model on the token's text without a dummy
  prefix, BOS or EOS (see ``bailong.embeddings.pieces``): a piece ``臺灣`` maps to its 6 bytes
  only, a piece ``▁臺灣`` to ``▁`` plus its 6 bytes.

The config's defaults, ``input_weights: last`` with ``tie_output_to_input: true``, are a
MEASURED choice, not the paper's equation: of the 14 readings probed on the reference base
``models/zh_byte_base_23m`` (``experiments/zip_tie_refbase``) it had the lowest held-out
Chinese bits per character before training. With uniform weights on both matrices (the
earlier default, and ``EmbeddingInitConfig``'s field defaults) zip-tie equals
``subword_mean``.
"""

from __future__ import annotations

from bailong.embeddings.combine import combine_rows
from bailong.embeddings.context import InitContext, NewRows


def zip_tie(ctx: InitContext) -> NewRows:
    assert ctx.pieces is not None
    new_input = combine_rows(ctx.old_input, ctx.pieces, ctx.cfg.input_weights)
    if ctx.cfg.tie_output_to_input:
        new_output = new_input.to(dtype=ctx.old_output.dtype, device=ctx.old_output.device)
    else:
        new_output = combine_rows(ctx.old_output, ctx.pieces, ctx.cfg.output_weights)
    return NewRows(input=new_input, output=new_output)
