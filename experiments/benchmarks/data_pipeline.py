"""Tokens/s of bailong's read + clean + tokenize + pack vs raw ``tokenizers`` batch encoding.

Ours: ``pretrain_blocks`` for the train and validation splits (what ``CausalLMDataModule``
does) from a file of mixed Traditional Chinese and English documents (the shared cc0 sentences
and English Wikipedia, one document a line), with the Llama 2 tokenizer. Raw: the Rust
``tokenizers`` backend's ``encode_batch`` over the same cleaned documents already in memory (no
reading, cleaning, splitting or packing). Both rates use the raw token count as numerator, so
the ratio is the ratio of times. Repeats alternate the two sides.

    PYTHONPATH=. python experiments/benchmarks/data_pipeline.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from bailong.conf_dir import conf_dir
from bailong.config import validate_train_config
from bailong.data.datamodule import pretrain_blocks
from bailong.data.sources import SourceStats, configured_sources, documents
from bailong.shared_data import shared_path
from bailong.tokenizer.load import load_tokenizer
from experiments.benchmarks.bench_common import interleaved, markdown_table, median, report, timed

TARGET = 0.8


def corpus_file(out: Path) -> Path:
    zh = sorted(shared_path("corpora/zh_tw/cc0_sentences").glob("*.txt"))
    en = [shared_path("corpora/en/wiki_demo.txt")]
    with out.open("w", encoding="utf-8") as f:
        for path in [*zh, *en]:
            f.write(path.read_text(encoding="utf-8").rstrip("\n") + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    llama2 = shared_path("tokenizers/llama2/tokenizer.model")
    if llama2 is None or shared_path("corpora/en/wiki_demo.txt") is None:
        raise SystemExit("needs shared data: tokenizers/llama2, corpora/zh_tw, corpora/en")
    tmp = Path(tempfile.mkdtemp(prefix="bailong-bench-data-"))
    text = corpus_file(tmp / "mixed.txt")
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

    def ours() -> float:
        return n_tokens / timed(
            lambda: [pretrain_blocks(cfg, tokenizer, 42, s) for s in ("train", "val")]
        )

    def raw() -> float:
        return n_tokens / timed(lambda: backend.encode_batch(docs, add_special_tokens=False))

    runs = interleaved({"bailong": ours, "raw": raw}, args.repeats)
    o, r = median(runs["bailong"]), median(runs["raw"])
    table = markdown_table(
        ["contender", "tokens/s (median)", "runs", "ratio vs raw", "target", "met"],
        [
            [
                "bailong read+clean+tokenize+pack",
                f"{o:,.0f}",
                " ".join(f"{x:,.0f}" for x in runs["bailong"]),
                f"{o / r:.2f}x",
                f">= {TARGET}x",
                "yes" if o / r >= TARGET else "no",
            ],
            [
                "raw tokenizers encode_batch",
                f"{r:,.0f}",
                " ".join(f"{x:,.0f}" for x in runs["raw"]),
                "1.00x",
                "",
                "",
            ],
        ],
    )
    notes = [
        f"{len(docs):,} documents, {text.stat().st_size / 2**20:.1f} MiB, {n_tokens:,} tokens "
        f"(Llama 2 tokenizer), block {cfg.block_size}, {args.repeats} repeats alternating",
    ]
    report("data_pipeline", "Data pipeline throughput", table, notes)


if __name__ == "__main__":
    main()
