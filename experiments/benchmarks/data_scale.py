"""Memory and start-up of ``bailong-train`` as the corpus grows 30×, with the token store.

Generates two mixed Traditional Chinese / English corpora of about 5 MB and 150 MB
(documents of 4-20 random lines of the shared cc0 sentences or English Wikipedia sentences, so
no two are duplicates), then runs ``bailong-train trainer.max_steps=2`` (tiny 4-bit Llama,
``tokenizer=llama2``, the two files as two sources mixed 50/50) twice per corpus in a fresh
cache: the first run builds the token stores, the second reuses them. Each run's peak
resident memory (the training process; its tokenizer workers separately) and its time to the
first training step are recorded; the ratio 150 MB / 5 MB of the peak must be <= 1.3. Last,
the disk and memory the paper config (13B tokens) needs, computed from the store format and
the documents' mean length measured here.

    PYTHONPATH=. python experiments/benchmarks/data_scale.py [--sizes-mb 5 150]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bailong.core.shared_data import shared_path
from experiments.benchmarks.bench_common import markdown_table, report

REPO = Path(__file__).resolve().parents[2]
MAX_RATIO = 1.3
PAPER_TOKENS = 13e9
PAPER_BLOCKS, PAPER_BLOCK = 6_347_657, 2048
# Runs inside the measured process: the time to the first training step and the peak RSS.
PROBE = """
import atexit, json, os, resource, sys, time
t0 = time.perf_counter()
from bailong.model import module
first = []
step = module.CausalLMModule.training_step
def timed_step(self, *args, **kwargs):
    if not first:
        first.append(time.perf_counter() - t0)
    return step(self, *args, **kwargs)
module.CausalLMModule.training_step = timed_step
def done():
    usage = resource.getrusage
    out = {"first_step_s": first[0] if first else None,
           "peak_rss_mib": usage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "workers_peak_rss_mib": usage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
    open(os.environ["BENCH_OUT"], "w").write(json.dumps(out))
atexit.register(done)
from bailong.cli.train import main
sys.argv = ["bailong-train", *sys.argv[1:]]
main()
"""


def sentences() -> tuple[list[str], list[str]]:
    zh_dir = shared_path("corpora/zh_tw/cc0_sentences")
    en = shared_path("corpora/en/wiki_demo.txt")
    if zh_dir is None or en is None:
        raise SystemExit("needs shared data: corpora/zh_tw/cc0_sentences, corpora/en/wiki_demo.txt")
    zh = [
        s.strip() for p in sorted(zh_dir.glob("*.txt")) for s in p.read_text("utf-8").splitlines()
    ]
    # wiki_demo holds one article a line: documents are built from its sentences
    en_lines = [s.strip() + "." for s in en.read_text("utf-8").replace("\n", " ").split(". ")]
    return [s for s in zh if len(s) >= 4], [s for s in en_lines if len(s) >= 20]


def write_corpus(path: Path, lines: list[str], joiner: str, size: int, seed: int) -> None:
    """Documents of 4-20 random lines, separated by blank lines, until ``size`` bytes."""
    rng = random.Random(seed)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        while written < size:
            doc = joiner.join(rng.choices(lines, k=rng.randint(4, 20))) + "\n\n"
            out.write(doc)
            written += len(doc.encode("utf-8"))


def run_train(folder: Path, cache: Path, zh: Path, en: Path, name: str) -> dict:
    out = folder / f"{name}.json"
    sources = f"[{{name:zh,path:'{zh}',weight:0.5}},{{name:en,path:'{en}',weight:0.5}}]"
    overrides = [
        f"hydra.run.dir={folder / name}",
        "tokenizer=llama2",
        f"tokenizer.name_or_path={shared_path('tokenizers/llama2/tokenizer.model')}",
        "trainer.max_steps=2",
        "optim.schedule_steps=2",
        "validate_before_fit=false",
        "save_adapter=false",
        "logger=csv",
        "callbacks.progress_bar=none",
        "data.files=[]",
        f"data.sources={sources}",
    ]
    env = {
        **os.environ,
        "BAILONG_CACHE": str(cache),
        "BENCH_OUT": str(out),
        "WANDB_MODE": "offline",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(REPO),
    }
    start = time.perf_counter()
    with open(folder / f"{name}.log", "w") as log:
        subprocess.run(
            [sys.executable, "-c", PROBE, *overrides], env=env, stdout=log, stderr=log, check=True
        )
    result = json.loads(out.read_text())
    result["wall_s"] = time.perf_counter() - start
    return result


def store_figures(cache: Path) -> dict:
    """Tokens, documents and bytes on disk of the stores the runs built."""
    tokens = docs = size = 0
    for meta_path in (cache / "token_stores").glob("*/meta.json"):
        meta = json.loads(meta_path.read_text())
        for split in meta["splits"].values():
            tokens += split["tokens"]
            docs += split["docs"]
        size += sum(p.stat().st_size for p in meta_path.parent.iterdir())
    return {"tokens": tokens, "docs": docs, "disk_bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=float, nargs=2, default=[5, 150])
    parser.add_argument("--keep", action="store_true", help="keep the generated corpora")
    args = parser.parse_args()
    zh_lines, en_lines = sentences()
    tmp = Path(tempfile.mkdtemp(prefix="bailong-bench-scale-"))
    load_before = os.getloadavg()[0]
    rows, results = [], {}
    for mb in args.sizes_mb:
        folder = tmp / f"{mb:g}mb"
        folder.mkdir()
        zh, en = folder / "zh.txt", folder / "en.txt"
        write_corpus(zh, zh_lines, "", int(mb * 1e6 / 2), 1)
        write_corpus(en, en_lines, " ", int(mb * 1e6 / 2), 2)
        cache = folder / "cache"
        first = run_train(folder, cache, zh, en, "first")
        second = run_train(folder, cache, zh, en, "second")
        store = store_figures(cache)
        results[mb] = (first, second, store)
        corpus_mb = (zh.stat().st_size + en.stat().st_size) / 1e6
        for label, r in (("first (builds the stores)", first), ("second (reuses them)", second)):
            rows.append(
                [
                    f"{corpus_mb:.1f} MB",
                    label,
                    f"{r['peak_rss_mib']:,.0f}",
                    f"{r['workers_peak_rss_mib']:,.0f}",
                    f"{r['first_step_s']:.1f}",
                    f"{r['wall_s']:.1f}",
                ]
            )
        if not args.keep:
            zh.unlink()
            en.unlink()
    small, big = (results[mb] for mb in args.sizes_mb)
    ratios = [big[i]["peak_rss_mib"] / small[i]["peak_rss_mib"] for i in (0, 1)]
    table = markdown_table(
        ["corpus", "run", "peak RSS MiB", "tokenizer workers' peak RSS MiB",
         "time to first step s", "wall s"],
        rows,
    )  # fmt: skip
    store = big[2]
    bytes_per_token = 2  # uint16: Llama 2 (32,000) and the extended vocabulary (59,241) fit
    mean_doc = store["tokens"] / store["docs"]
    paper_disk = PAPER_TOKENS * bytes_per_token + PAPER_TOKENS / mean_doc * 4  # ids + offsets
    order_bytes = PAPER_BLOCKS * 4  # the interleaved block order (uint32)
    notes = [
        f"peak RSS ratio {args.sizes_mb[1]:g} MB / {args.sizes_mb[0]:g} MB: first run "
        f"{ratios[0]:.2f}, second run {ratios[1]:.2f} (must be <= {MAX_RATIO}: "
        f"{'met' if max(ratios) <= MAX_RATIO else 'NOT met'})",
        f"time to first step, second run vs first: {small[1]['first_step_s']:.1f} vs "
        f"{small[0]['first_step_s']:.1f} s ({args.sizes_mb[0]:g} MB), "
        f"{big[1]['first_step_s']:.1f} vs {big[0]['first_step_s']:.1f} s ({args.sizes_mb[1]:g} MB)",
        f"stores of the {args.sizes_mb[1]:g} MB corpus: {store['tokens']:,} tokens in "
        f"{store['docs']:,} documents (mean {mean_doc:,.0f} tokens), "
        f"{store['disk_bytes'] / 1e6:,.1f} MB on disk "
        f"({store['disk_bytes'] / store['tokens']:.2f} bytes/token)",
        f"paper config (13B tokens, uint16 ids + int32 offsets at this mean document length): "
        f"{paper_disk / 1e9:,.1f} GB of stores on disk; per rank in memory: the block order "
        f"{order_bytes / 1e6:.0f} MB plus the pages of the blocks it reads (page cache, "
        "shared and reclaimable), not the corpus",
        "tiny 4-bit Llama, tokenizer=llama2, two sources 50/50, block 128, batch 8, "
        "validate_before_fit=false; peak RSS from getrusage inside the training process",
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
        f"(2 cores shared with other jobs)",
    ]
    report("data_scale", "Data at scale: memory and start-up with the token store", table, notes)


if __name__ == "__main__":
    main()
