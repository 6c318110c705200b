"""The extend-tokenizer pipeline: corpus → Chinese BPE model → append-only merge → HF dir → report.

``addition_model`` replaces the training step with an existing SentencePiece model (BPE or
Unigram, e.g. Chinese-LLaMA's). Output directory layout::

    tokenizer.model, tokenizer.json, tokenizer_config.json   # the extended tokenizer
    addition.model, addition.vocab                            # the Chinese model it appended
    corpus/train_zh.txt, corpus/heldout_zh.txt                # what it trained / measured on
    report.json                                               # the report (also printed)

tokenizer.json is written only when it gives SentencePiece's ids exactly (checked on every
held-out line); otherwise the report says why, tokenizer_config.json names transformers'
SentencePiece-backed class (so ``AutoTokenizer`` is exact too) and ``load_tokenizer`` uses
SentencePiece itself.
"""

from __future__ import annotations

import shutil
import time
import warnings
from pathlib import Path
from typing import Any

from bailong.core.progress import stage
from bailong.tokenizer.byte_level_extend import extend_byte_level, takes_byte_level_path
from bailong.tokenizer.corpus import (
    line_documents,
    sample_lines,
    split_heldout,
    to_traditional,
    write_lines,
    zh_tw_documents,
)
from bailong.tokenizer.extend_config import ExtendTokenizerConfig
from bailong.tokenizer.hf import InexactConversionError, save_tokenizer_dir
from bailong.tokenizer.merge import merge_sentencepiece
from bailong.tokenizer.report import build_report, write_report
from bailong.tokenizer.sentencepiece_backed import sentencepiece_tokenizer
from bailong.tokenizer.train import train_sentencepiece


def chinese_documents(settings: ExtendTokenizerConfig) -> list[str]:
    corpus = settings.corpus
    docs = zh_tw_documents(Path(corpus.zh_tw_dir)) if corpus.zh_tw_dir else []
    for path in corpus.files:
        docs += line_documents(Path(path).expanduser())
    return to_traditional(docs, corpus.opencc) if corpus.opencc else docs


def _base_model(settings: ExtendTokenizerConfig) -> str:
    if settings.base_model is None:
        raise ValueError(
            "base_model is not set: pass the settings through validate_extend_tokenizer_config, "
            "which fills in the shared default"
        )
    return settings.base_model


def extend_byte_level_base(settings: ExtendTokenizerConfig) -> dict[str, Any]:
    """The path of a base given as a ``tokenizer.json`` (or a model directory holding one and no
    ``tokenizer.model``: Llama 3, Qwen): the same corpus, held-out split and report, with a
    byte-level BPE of ``spm.vocab_size`` tokens trained and appended (``merge.cjk_only`` and
    ``merge.max_added`` apply; see ``bailong.tokenizer.byte_level``)."""
    out = Path(settings.output_dir).expanduser()
    corpus = settings.corpus
    train_docs, heldout_docs = split_heldout(
        chinese_documents(settings), corpus.heldout_fraction, corpus.seed
    )
    write_lines(train_docs, out / "corpus" / "train_zh.txt")
    write_lines(heldout_docs, out / "corpus" / "heldout_zh.txt")
    heldout = {"zh_tw": [line for doc in heldout_docs for line in doc.splitlines() if line]}
    if corpus.en_files and corpus.en_sample_lines:
        en_paths = [Path(p).expanduser() for p in corpus.en_files]
        heldout["en"] = sample_lines(en_paths, corpus.en_sample_lines, corpus.seed)
    m = settings.merge
    report = extend_byte_level(
        _base_model(settings),
        train_docs,
        heldout,
        out,
        vocab_size=settings.spm.vocab_size,
        cjk_only=m.cjk_only,
        max_added=m.max_added,
    )
    write_report(report, out / "report.json")
    return report


def extend_tokenizer(settings: ExtendTokenizerConfig) -> dict[str, Any]:
    """Run the pipeline into ``settings.output_dir``; return the report (also written as JSON)."""
    base_model = _base_model(settings)
    if takes_byte_level_path(base_model):
        return extend_byte_level_base(settings)
    out = Path(settings.output_dir).expanduser()
    corpus = settings.corpus
    with stage("reading the Chinese corpus"):
        train_docs, heldout_docs = split_heldout(
            chinese_documents(settings), corpus.heldout_fraction, corpus.seed
        )
    train_file = write_lines(train_docs, out / "corpus" / "train_zh.txt")
    write_lines(heldout_docs, out / "corpus" / "heldout_zh.txt")

    started = time.perf_counter()
    if settings.addition_model is not None:
        addition = out / "addition.model"
        if Path(settings.addition_model).resolve() != addition.resolve():
            shutil.copyfile(settings.addition_model, addition)
    else:
        sp = settings.spm
        with stage(
            f"training the {sp.vocab_size:,}-piece Chinese BPE on {len(train_docs):,} documents"
        ):
            addition = train_sentencepiece(
                [train_file],
                out / "addition",
                sp.vocab_size,
                character_coverage=sp.character_coverage,
                max_sentencepiece_length=sp.max_sentencepiece_length,
                user_defined_symbols=sp.user_defined_symbols,
                input_sentence_size=sp.input_sentence_size,
                max_sentence_length=sp.max_sentence_length,
                num_threads=sp.num_threads,
            )
    train_seconds = time.perf_counter() - started

    started = time.perf_counter()
    m = settings.merge
    with stage("appending its pieces to the base"):
        merged = merge_sentencepiece(
            base_model,
            addition,
            out / "tokenizer.model",
            cjk_only=m.cjk_only,
            min_score=m.min_score,
            max_added=m.max_added,
            score_policy=m.score_policy,
            mode=m.mode,
        )
    merge_seconds = time.perf_counter() - started

    heldout = {"zh_tw": [line for doc in heldout_docs for line in doc.splitlines() if line]}
    if corpus.en_files and corpus.en_sample_lines:
        en_paths = [Path(p).expanduser() for p in corpus.en_files]
        heldout["en"] = sample_lines(en_paths, corpus.en_sample_lines, corpus.seed)
    check_lines = [line for lines in heldout.values() for line in lines]
    try:
        with stage(f"writing tokenizer.json, checked on {len(check_lines):,} held-out lines"):
            save_tokenizer_dir(out / "tokenizer.model", out, check_lines=check_lines)
        hf: dict[str, object] = {"tokenizer_json": True, "lines_checked": len(check_lines)}
    except InexactConversionError as err:
        warnings.warn(f"tokenizer.json not written: {err}", stacklevel=2)
        hf = {"tokenizer_json": False, "reason": str(err)}
        sentencepiece_tokenizer(out / "tokenizer.model").save_pretrained(out)
    with stage("measuring the report on the held-out text"):
        report = build_report(
            Path(base_model),
            out / "tokenizer.model",
            heldout,
            extra={
                "merge": merged.to_dict(),
                "hf_conversion": hf,
                "train_lines": sum(1 for _ in train_file.open(encoding="utf-8")),
                "addition_vocab_size": merged.addition_size,
                "train_seconds": round(train_seconds, 2),
                "merge_seconds": round(merge_seconds, 3),
            },
        )
    if not hf["tokenizer_json"]:
        report["warnings"].append(f"tokenizer.json not written: {hf['reason']}")
    write_report(report, out / "report.json")
    return report
