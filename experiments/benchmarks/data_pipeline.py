"""Tokens/s of building bailong's token store vs raw ``tokenizers`` batch encoding.

Ours: a fresh token store (``bailong.data.token_store``: read, clean, split, tokenize in
``data.store_workers`` processes, write Arrow) of a file of mixed Traditional Chinese and
English documents (the shared cc0 sentences and English Wikipedia, one document a line), with
the Llama 2 tokenizer, on 2 worker processes and in this process. Raw: the Rust ``tokenizers``
backend's ``encode_batch`` (all cores) over the same cleaned documents already in memory (no
reading, cleaning, splitting or writing). All rates use the raw token count as numerator, so
the ratio is the ratio of times. Repeats alternate the sides.

    PYTHONPATH=. python experiments/benchmarks/data_pipeline.py [--repeats 5] [--copies 4]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from bailong.cli.conf_dir import conf_dir
from bailong.core.shared_data import shared_path
from bailong.data.sources import SourceStats, configured_sources, documents
from bailong.data.token_store import token_store
from bailong.tokenizer.load import load_tokenizer
from bailong.training.validate import validate_train_config
from experiments.benchmarks.bench_common import interleaved, markdown_table, median, report, timed

TARGET = 0.8


def corpus_file(out: Path, copies: int) -> Path:
    """The shared lines, ``copies`` times (numbered, so deduplication keeps every copy)."""
    zh = sorted(shared_path("corpora/zh_tw/cc0_sentences").glob("*.txt"))
    en = [shared_path("corpora/en/wiki_demo.txt")]
    lines = [ln for p in [*zh, *en] for ln in p.read_text(encoding="utf-8").splitlines()]
    with out.open("w", encoding="utf-8") as f:
        for copy in range(copies):
            f.writelines(f"{ln} ({copy})\n" if copy else f"{ln}\n" for ln in lines)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--copies", type=int, default=4, help="corpus = the shared lines × N")
    args = parser.parse_args()
    llama2 = shared_path("tokenizers/llama2/tokenizer.model")
    if llama2 is None or shared_path("corpora/en/wiki_demo.txt") is None:
        raise SystemExit("needs shared data: tokenizers/llama2, corpora/zh_tw, corpora/en")
    tmp = Path(tempfile.mkdtemp(prefix="bailong-bench-data-"))
    text = corpus_file(tmp / "mixed.txt", args.copies)
    overrides = ["data.files=[]", f"data.sources=[{{name:mixed,path:'{text}',format:lines}}]"]
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        composed = compose(config_name="train", overrides=overrides)
    with open_dict(composed):
        composed.paths.output_dir = composed.paths.log_dir = str(tmp)
        composed.paths.cache_dir = str(tmp / "cache")
    cfg = validate_train_config(composed).data
    tokenizer = load_tokenizer(str(llama2))
    backend = tokenizer.backend_tokenizer
    docs = [
        t
        for split in ("train", "val")
        for src in configured_sources(cfg)
        for _, t in documents(src, cfg, SourceStats(), split, 42)
    ]
    n_tokens = sum(len(e.ids) for e in backend.encode_batch(docs, add_special_tokens=False))

    src = configured_sources(cfg)[0]

    def store(workers: int) -> float:
        settings = dataclasses.replace(cfg, store_dir=str(tmp / "stores"), store_workers=workers)
        seconds = timed(lambda: token_store(src, settings, tokenizer, 42))
        shutil.rmtree(tmp / "stores")
        return n_tokens / seconds

    def raw() -> float:
        return n_tokens / timed(lambda: backend.encode_batch(docs, add_special_tokens=False))

    def raw_fast() -> float:  # no offsets: what the store's workers call
        return n_tokens / timed(lambda: backend.encode_batch_fast(docs, add_special_tokens=False))

    contenders = {
        "store build, 2 tokenizer processes": lambda: store(2),
        "store build, 1 process": lambda: store(1),
        "raw tokenizers encode_batch": raw,
        "raw tokenizers encode_batch_fast": raw_fast,
    }
    runs = interleaved(contenders, args.repeats)
    r = median(runs["raw tokenizers encode_batch"])
    rows = []
    for name, values in runs.items():
        o = median(values)
        target = name.endswith("2 tokenizer processes")
        rows.append(
            [
                name,
                f"{o:,.0f}",
                " ".join(f"{x:,.0f}" for x in values),
                f"{o / r:.2f}x",
                f">= {TARGET}x" if target else "",
                ("yes" if o / r >= TARGET else "no") if target else "",
            ]
        )
    header = ["contender", "tokens/s (median)", "runs", "ratio vs raw", "target", "met"]
    table = markdown_table(header, rows)
    notes = [
        f"{len(docs):,} documents, {text.stat().st_size / 2**20:.1f} MiB, {n_tokens:,} tokens "
        f"(Llama 2 tokenizer), {args.repeats} repeats alternating; the store build includes "
        "reading, cleaning (dedup), the split and writing the Arrow files",
        f"load average {os.getloadavg()[0]:.1f} at the end ({os.cpu_count()} cores shared)",
    ]
    report("data_pipeline", "Data pipeline throughput", table, notes)


if __name__ == "__main__":
    main()
