"""Settings of ``bailong-extend-tokenizer`` and their door, ``validate_extend_tokenizer_config``:
typed, checked, with the shared-data defaults (Llama 2's tokenizer, the zh_tw corpus) resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from bailong.core.checks import check_choice, fail, merge_schema
from bailong.core.shared_data import ENV_VAR, shared_path
from bailong.data.config import OPENCC_CONFIGS
from bailong.tokenizer.config import MIN_BYTE_FALLBACK_PIECES, MergeMode, ScorePolicy
from bailong.tokenizer.files import is_sentencepiece


@dataclass
class ExtendCorpusConfig:
    # Folder shaped like shared/data/corpora/zh_tw (drcd_dev.json, tang_poems/, cc0_sentences/);
    # None: the shared one when present.
    zh_tw_dir: str | None = None
    # Extra plain-text training files, one document a line (e.g. your own crawl).
    files: list[str] = field(default_factory=list)
    # OpenCC conversion of the training text, e.g. "s2twp" (Simplified → Taiwan Traditional).
    opencc: str | None = None
    heldout_fraction: float = 0.05
    # English text for the "segmentation unchanged" check; None: shared corpora/en/*.txt.
    en_files: list[str] | None = None
    en_sample_lines: int = 2000
    seed: int = 0


@dataclass
class SentencePieceTrainConfig:
    vocab_size: int = 30000
    character_coverage: float = 0.9995
    max_sentencepiece_length: int = 16
    user_defined_symbols: list[str] = field(default_factory=list)
    input_sentence_size: int = 0  # 0: all sentences
    max_sentence_length: int = 8192
    num_threads: int = 2


@dataclass
class MergeConfig:
    cjk_only: bool = True
    min_score: float | None = None
    max_added: int | None = None
    score_policy: ScorePolicy = ScorePolicy.below_base
    mode: MergeMode = MergeMode.reachable


@dataclass
class ExtendTokenizerConfig:
    task_name: str = "extend_tokenizer"
    # The SentencePiece model to extend; None: shared tokenizers/llama2/tokenizer.model.
    base_model: str | None = None
    output_dir: str = "extended_tokenizer"
    # An existing SentencePiece model (BPE or Unigram) to append instead of training one.
    addition_model: str | None = None
    paths: dict[str, Any] = field(default_factory=dict)
    corpus: ExtendCorpusConfig = field(default_factory=ExtendCorpusConfig)
    spm: SentencePieceTrainConfig = field(default_factory=SentencePieceTrainConfig)
    merge: MergeConfig = field(default_factory=MergeConfig)


def _shared_default(key: str, value: str | None, relative: str) -> str:
    """``value``, or the shared data path it defaults to; fails naming both when neither exists."""
    if value is not None:
        if not Path(value).expanduser().exists():
            fail(key, value, "no such file or directory")
        return str(Path(value).expanduser())
    found = shared_path(relative)
    if found is None:
        fail(key, None, f"set it, or {ENV_VAR} to a shared data folder holding {relative}")
    return str(found)


def _check_byte_level_settings(settings: ExtendTokenizerConfig) -> None:
    """A byte-level base (a tokenizer.json) trains its own BPE addition and appends merges: the
    SentencePiece-only settings would be silently ignored, so they are refused."""
    assert settings.base_model is not None, "resolved by validate_extend_tokenizer_config"
    if is_sentencepiece(settings.base_model):
        return
    m, why = settings.merge, "applies to SentencePiece bases only; this base is a tokenizer.json"
    if settings.addition_model is not None:
        fail("addition_model", settings.addition_model, why)
    if m.mode is not MergeMode.reachable:
        fail("merge.mode", m.mode.value, why)
    if m.score_policy is not ScorePolicy.below_base:
        fail("merge.score_policy", m.score_policy.value, why)
    if m.min_score is not None:
        fail("merge.min_score", m.min_score, why)


def _check_corpus(corpus: ExtendCorpusConfig) -> None:
    """Checks ``corpus.*`` and fills its shared-data defaults in place."""
    for i, path in enumerate(corpus.files):
        if not Path(path).expanduser().is_file():
            fail(f"corpus.files[{i}]", path, "no such file")
    if corpus.zh_tw_dir is not None or not corpus.files:
        corpus.zh_tw_dir = _shared_default("corpus.zh_tw_dir", corpus.zh_tw_dir, "corpora/zh_tw")
    if corpus.en_files is None:
        en_dir = shared_path("corpora/en")
        corpus.en_files = sorted(str(p) for p in en_dir.glob("*.txt")) if en_dir else []
    for i, path in enumerate(corpus.en_files):
        if not Path(path).expanduser().is_file():
            fail(f"corpus.en_files[{i}]", path, "no such file")
    if corpus.opencc is not None:
        check_choice("corpus.opencc", corpus.opencc, OPENCC_CONFIGS)
    if not 0.0 <= corpus.heldout_fraction < 1.0:
        fail("corpus.heldout_fraction", corpus.heldout_fraction, "must lie in [0, 1)")
    if corpus.en_sample_lines < 0:
        fail("corpus.en_sample_lines", corpus.en_sample_lines, "must be >= 0")


def validate_extend_tokenizer_config(cfg: DictConfig) -> ExtendTokenizerConfig:
    """The extend-tokenizer config, typed, checked, with shared-data defaults resolved."""
    settings = merge_schema(ExtendTokenizerConfig, cfg)
    settings.base_model = _shared_default(
        "base_model", settings.base_model, "tokenizers/llama2/tokenizer.model"
    )
    _check_byte_level_settings(settings)
    if settings.addition_model is not None:
        if not Path(settings.addition_model).expanduser().is_file():
            fail("addition_model", settings.addition_model, "no such SentencePiece model file")
        settings.addition_model = str(Path(settings.addition_model).expanduser())
    _check_corpus(settings.corpus)
    if settings.spm.vocab_size < MIN_BYTE_FALLBACK_PIECES:
        fail("spm.vocab_size", settings.spm.vocab_size, "needs >= 300 pieces (259 are bytes etc.)")
    if not 0.0 < settings.spm.character_coverage <= 1.0:
        fail("spm.character_coverage", settings.spm.character_coverage, "must lie in (0, 1]")
    if settings.merge.max_added is not None and settings.merge.max_added < 0:
        fail("merge.max_added", settings.merge.max_added, "must be >= 0 (or null for no cap)")
    return settings
