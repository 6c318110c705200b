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
config field (``conf/embedding_init/zip_tie.yaml``), with these defaults (our choices):

- ``input_weights: uniform`` — new ``embed_tokens`` row = the mean of its pieces' rows,
  ``e_new = (1/n) Σ_i E_in[p_i]``. The neutral choice: no piece is privileged, and for a
  Chinese character every byte carries part of its identity. ``first``/``last`` put all the
  weight on one piece.
- ``output_weights: uniform`` — new ``lm_head`` row = the mean of its pieces' ``lm_head`` rows,
  ``u_new = (1/n) Σ_i E_out[p_i]``, so the logit of a new token is the mean of its pieces'
  logits. ``first`` makes it the logit of its first piece (the one the original model would
  emit at that position).
- ``tie_output_to_input: false`` — each matrix is combined in its own space (the two Llama 2
  matrices are different spaces); ``true`` copies the new input rows into ``lm_head``.
- pieces come from the original SentencePiece model on the token's text without a dummy
  prefix, BOS or EOS (see ``bailong.embeddings.pieces``): a piece ``臺灣`` maps to its 6 bytes
  only, a piece ``▁臺灣`` to ``▁`` plus its 6 bytes.

With all defaults zip-tie computes the same rows as ``subword_mean``; the probe
(``bailong-probe-init``) is how the knobs are compared.
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
