"""Settings of vocabulary extension (``embedding_init``), shared by training and the probe.

``check_embedding_init`` runs before any model loads: the method is a registered one, the
weightings are known, and the base's original tokenizer file is there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bailong.core.checks import check_choice, fail
from bailong.embeddings.method_names import INIT_METHOD_NAMES

# What an original tokenizer directory may hold (bailong/embeddings/original.py reads either).
ORIGINAL_TOKENIZER_FILES = ("tokenizer.model", "tokenizer.json")
# Weightings of a new token's original pieces (zip_tie): see bailong/embeddings/combine.py.
PIECE_WEIGHTS = ("uniform", "first", "last")
SPACE_PIECE = ("keep", "drop")
# Where a new token's lm_head row comes from, chosen apart from its embed_tokens row
# (bailong/embeddings/output_side.py): the method's own rows, zero rows, a copy of the new
# input row, a combination of the pieces' lm_head rows, or piece_logprob's row with the
# remaining pieces scored in their real contexts of the fitting text.
OUTPUT_SIDES = ("method", "zeros", "tied", "pieces", "corpus_logprob")
# Methods and output sides that read fitting text (``fit.files``).
FIT_METHODS = ("token_distillation",)
FIT_OUTPUTS = ("corpus_logprob",)


@dataclass
class FitTextConfig:
    """Fitting text of the corpus methods: snippets around each new token's occurrences.

    Take it from the run's TRAINING text, never from text the model is evaluated on.
    """

    files: list[str] = field(default_factory=list)  # .txt (blank-line documents) or .jsonl
    max_chars: int = 2_000_000  # read at most this many characters of them, in file order
    snippets: int = 4  # occurrences kept per new token (a seeded sample)
    max_tokens: int | None = 4000  # only the new tokens most frequent in the text; null = all
    tokens_before: int = 16  # context kept before the occurrence (tokens of the run tokenizer)
    tokens_after: int = 8  # and after it: the positions token distillation matches


@dataclass
class DistillConfig:
    """Budget of ``token_distillation`` (Dobler et al. 2025): Adam on the new input rows."""

    steps: int = 200
    batch_size: int = 32  # snippets per step
    lr: float = 1.0e-2
    # Hidden states matched: index into the model's hidden states (0 = the embeddings,
    # num_layers or -1 = the last layer's output after the final norm).
    target_layer: int = -1


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
    # Where the new lm_head rows come from (OUTPUT_SIDES): "method" keeps each method's own;
    # any other value replaces them (for zip_tie it overrides tie_output_to_input).
    output: str = "method"
    fit: FitTextConfig = field(default_factory=FitTextConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)


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
    check_choice(f"{key}.output", cfg.output, OUTPUT_SIDES)
    check_fit(cfg, key)
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


def check_fit(cfg: EmbeddingInitConfig, key: str) -> None:
    """The fitting-text and distillation budget: positive sizes, files that exist, and fitting
    text given whenever the method or the output side reads it."""
    for name in ("max_chars", "snippets"):
        if getattr(cfg.fit, name) <= 0:
            fail(f"{key}.fit.{name}", getattr(cfg.fit, name), "must be positive")
    if cfg.fit.max_tokens is not None and cfg.fit.max_tokens <= 0:
        fail(f"{key}.fit.max_tokens", cfg.fit.max_tokens, "must be positive or null")
    for name in ("tokens_before", "tokens_after"):
        if getattr(cfg.fit, name) < 0:
            fail(f"{key}.fit.{name}", getattr(cfg.fit, name), "must be >= 0")
    for name in ("steps", "batch_size"):
        if getattr(cfg.distill, name) <= 0:
            fail(f"{key}.distill.{name}", getattr(cfg.distill, name), "must be positive")
    if not cfg.distill.lr > 0:
        fail(f"{key}.distill.lr", cfg.distill.lr, "must be positive")
    for i, name in enumerate(cfg.fit.files):
        if not Path(name).expanduser().is_file():
            fail(f"{key}.fit.files[{i}]", name, "no such text file (.txt or .jsonl)")
    reader = cfg.method if cfg.method in FIT_METHODS else None
    if cfg.output in FIT_OUTPUTS:
        reader = f"output={cfg.output}"
    if reader and not cfg.fit.files:
        fail(
            f"{key}.fit.files",
            [],
            f"{reader} reads fitting text: list training text files, e.g. "
            f"'{key}.fit.files=[data/train.txt]' (never the held-out text)",
        )
