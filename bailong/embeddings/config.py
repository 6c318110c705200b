"""Settings of vocabulary extension (``embedding_init``), shared by training and the probe.

``check_embedding_init`` runs before any model loads: the method is a registered one, the
weightings are known, and the base's original tokenizer file is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bailong.config_checks import check_choice, fail
from bailong.embeddings.method_names import INIT_METHOD_NAMES

# What an original tokenizer directory may hold (bailong/embeddings/original.py reads either).
ORIGINAL_TOKENIZER_FILES = ("tokenizer.model", "tokenizer.json")
# Weightings of a new token's original pieces (zip_tie): see bailong/embeddings/combine.py.
PIECE_WEIGHTS = ("uniform", "first", "last")
SPACE_PIECE = ("keep", "drop")


@dataclass
class EmbeddingInitConfig:
    """Vocabulary extension: resize embed_tokens/lm_head to the tokenizer and fill the new rows.

    ``method: none`` keeps the model as loaded (the tokenizer must then fit the model).
    """

    method: str = "none"
    # The tokenizer the base was trained with (a SentencePiece .model, a tokenizer.json, or a
    # directory holding either): it splits each new token into the pieces its rows come from.
    original_tokenizer: str | None = None
    # Round the new vocabulary size up to a multiple of this (rows past the tokenizer are
    # initialized too); None = exactly the tokenizer's size.
    pad_to_multiple_of: int | None = None
    seed: int = 0  # random and mean_cov sampling
    # zip_tie only: how a new row weights its original pieces, per matrix.
    input_weights: str = "uniform"
    output_weights: str = "uniform"
    # zip_tie only: copy the new input rows into lm_head instead of combining lm_head rows.
    tie_output_to_input: bool = False
    # Piece methods: a new token that starts with "▁" (a space) either keeps the "▁" piece
    # among its pieces ("keep") or is split without it ("drop").
    space_piece: str = "keep"
    # Piece methods: prepend BOS (<s>) to every new token's pieces.
    include_bos: bool = False
    # mean_cov only: the sampling covariance is cov_scale x the old rows' covariance
    # (1e-9 is transformers' mean_resizing value).
    cov_scale: float = 1.0e-9


def embedding_init_methods() -> tuple[str, ...]:
    """``none`` plus every registered initializer."""
    return ("none", *INIT_METHOD_NAMES)


def check_embedding_init(cfg: EmbeddingInitConfig, key: str = "embedding_init") -> None:
    """Checks shared by the train and probe configs."""
    check_choice(f"{key}.method", cfg.method, embedding_init_methods())
    check_choice(f"{key}.input_weights", cfg.input_weights, PIECE_WEIGHTS)
    check_choice(f"{key}.output_weights", cfg.output_weights, PIECE_WEIGHTS)
    check_choice(f"{key}.space_piece", cfg.space_piece, SPACE_PIECE)
    if cfg.pad_to_multiple_of is not None and cfg.pad_to_multiple_of <= 0:
        fail(f"{key}.pad_to_multiple_of", cfg.pad_to_multiple_of, "must be positive or null")
    if cfg.cov_scale <= 0:
        fail(f"{key}.cov_scale", cfg.cov_scale, "must be positive")
    if cfg.method == "none":
        return
    if cfg.original_tokenizer is None:
        fail(
            f"{key}.original_tokenizer",
            None,
            f"{key}.method={cfg.method!r} extends the vocabulary, but the tokenizer is not an "
            "extension and no original tokenizer is named: add vocab=extended (Llama 2's "
            "tokenizer + Traditional Chinese pieces, from bailong-extend-tokenizer) or "
            "tokenizer=sample_extended (built here, no download), or set "
            f"{key}.original_tokenizer=<the base's tokenizer.model>; {key}=none trains "
            "without extension",
        )
    path = Path(cfg.original_tokenizer).expanduser()
    if not (path.is_file() or any((path / f).is_file() for f in ORIGINAL_TOKENIZER_FILES)):
        fail(
            f"{key}.original_tokenizer",
            cfg.original_tokenizer,
            "no tokenizer file there (a SentencePiece .model, a tokenizer.json, or a directory "
            "holding tokenizer.model or tokenizer.json)",
        )
