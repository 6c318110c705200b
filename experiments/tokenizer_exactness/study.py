"""Llama 2 + a Chinese addition: merge counts, and HF-vs-SentencePiece ids line by line.

Stands in for users' own tokenizers (Chinese-LLaMA's Unigram ``chinese_sp.model``, tied-score
merges): a Unigram and a BPE Chinese model are trained on the shared zh_tw corpora (95% of
documents), merged into Llama 2 under each mode and score policy, and measured on the held-out
5% and on 500 English lines. Per variant: pieces added / unreachable (and how many a
score-order check, the old rule, would have wrongly dropped), whether the fast conversion is
exact, how many held-out lines a forced (``allow_inexact``) fast conversion encodes with
SentencePiece's ids, the same for ``load_tokenizer``, and English lines changed.

    PYTHONPATH=. python experiments/tokenizer_exactness/study.py   # ~2 min on 2 cores

Writes ``experiments/tokenizer_exactness/results.md``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import warnings
from pathlib import Path

import sentencepiece as spm

from bailong.core.shared_data import shared_path
from bailong.tokenizer.corpus import sample_lines, split_heldout, write_lines, zh_tw_documents
from bailong.tokenizer.hf import InexactConversionError, hf_tokenizer_from_sentencepiece
from bailong.tokenizer.load import load_tokenizer
from bailong.tokenizer.merge import NORMAL, load_model_proto, merge_sentencepiece
from bailong.tokenizer.train import train_sentencepiece
from experiments.benchmarks.bench_common import machine, markdown_table

OUT = Path(__file__).resolve().parent / "results.md"
VARIANTS = [  # (addition, mode, score_policy, cjk_only)
    ("unigram", "append_all", "zero", False),
    ("unigram", "reachable", "below_base", False),
    ("unigram", "reachable", "addition", False),
    ("unigram", "reachable", "zero", False),
    ("bpe", "reachable", "below_base", True),
    ("bpe", "reachable", "zero", True),
    ("bpe", "reachable", "addition", True),
]


def score_order_drops(base: Path, addition: Path) -> int:
    """Pieces the old rule dropped: checked in score order against pieces already accepted."""
    vocab = {p.piece for p in load_model_proto(base).pieces}
    new = [p for p in load_model_proto(addition).pieces if p.type == NORMAL]
    new = [p for p in new if p.piece not in vocab]
    new.sort(key=lambda p: (len(p.piece) > 1, -p.score))
    dropped = 0
    for p in new:
        s = p.piece
        if len(s) == 1 or any(s[:i] in vocab and s[i:] in vocab for i in range(1, len(s))):
            vocab.add(s)
        else:
            dropped += 1
    return dropped


def agreeing(tok, sp: spm.SentencePieceProcessor, lines: list[str]) -> int:
    got = tok(lines, add_special_tokens=False)["input_ids"]
    return sum(a == b for a, b in zip(got, sp.encode(lines), strict=True))


def main() -> None:
    base = shared_path("tokenizers/llama2/tokenizer.model")
    zh_dir = shared_path("corpora/zh_tw")
    en_dir = shared_path("corpora/en")
    if base is None or zh_dir is None or en_dir is None:
        raise SystemExit("needs the shared data (BAILONG_SHARED_DATA)")
    train_docs, heldout_docs = split_heldout(zh_tw_documents(zh_dir), 0.05, seed=0)
    zh = [line for doc in heldout_docs for line in doc.splitlines() if line][:1000]
    en = sample_lines(sorted(en_dir.glob("*.txt")), 500, seed=0)
    base_sp = spm.SentencePieceProcessor(model_file=str(base))
    rows = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        train_file = write_lines(train_docs, tmp / "train.txt")
        spm.SentencePieceTrainer.train(
            input=str(train_file), model_prefix=str(tmp / "unigram"), model_type="unigram",
            vocab_size=20000, character_coverage=0.9995, max_sentence_length=8192,
            minloglevel=2, num_threads=2,
        )  # fmt: skip
        additions = {
            "unigram": tmp / "unigram.model",
            "bpe": train_sentencepiece([train_file], tmp / "bpe", 30000),
        }
        for kind, mode, policy, cjk_only in VARIANTS:
            out = tmp / f"{kind}-{mode}-{policy}.model"
            result = merge_sentencepiece(
                base, additions[kind], out, mode=mode, score_policy=policy, cjk_only=cjk_only
            )
            sp = spm.SentencePieceProcessor(model_file=str(out))
            try:
                hf_tokenizer_from_sentencepiece(out)
                exact = "yes"
            except InexactConversionError:
                exact = "refused"
            forced = hf_tokenizer_from_sentencepiece(out, allow_inexact=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loaded = load_tokenizer(str(out))
            en_changed = sum(a != b for a, b in zip(base_sp.encode(en), sp.encode(en), strict=True))
            rows.append([
                kind, mode, policy, str(cjk_only).lower(), f"{result.candidates:,}",
                f"{result.added:,}", f"{result.unreachable:,}",
                f"{score_order_drops(base, additions[kind]):,}" if not cjk_only else "–",
                exact, f"{agreeing(forced, sp, zh)}/{len(zh)}",
                f"{agreeing(forced, sp, en)}/{len(en)}",
                f"{agreeing(loaded, sp, zh + en)}/{len(zh) + len(en)} ({type(loaded).__name__})",
                f"{en_changed}/{len(en)}",
            ])  # fmt: skip
            print(rows[-1], flush=True)
    header = [
        "addition", "mode", "score_policy", "cjk_only", "candidates", "added", "unreachable",
        "old score-order drops", "exact HF?", "forced HF = SP (zh)", "forced HF = SP (en)",
        "load_tokenizer = SP", "English lines changed",
    ]  # fmt: skip
    text = (
        f"# Merges and HF-vs-SentencePiece agreement ({dt.date.today()}, {machine()})\n\n"
        "Llama 2 (32,000) + a Chinese model trained on 95% of the shared zh_tw documents "
        "(Unigram 20,000 like Chinese-LLaMA's chinese_sp.model; BPE 30,000 like the default); "
        f"held-out: {len(zh)} zh_tw lines, {len(en)} English lines.\n\n"
        + markdown_table(header, rows)
        + "\n"
    )
    OUT.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
