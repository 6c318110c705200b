"""Step-0 held-out bits per character of the initializations beyond the paper.

    python -m experiments.init_beyond_paper.step0 STUDY_DIR OUT_JSONL [--arms a,b,...]

The reference base (models/zh_byte_base_23m, float32), the tokenizer and the held-out text
of experiments/zip_tie_refbase (``STUDY_DIR/tokenizer``, ``STUDY_DIR/heldout_2500``; built by
its run_study.sh), and the fitting text of ``fittext.py`` (``STUDY_DIR/fit_300000.txt``,
disjoint from the held-out text). The base is loaded once; each arm extends it, its
initialization is timed (process CPU seconds and wall seconds), the three held-out groups are
scored as the probe scores them (``score_documents``, 256-token windows), and the vocabulary
is cut back. One JSON line per arm is appended as soon as it is measured, so a run stopped
early keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bailong.data.heldout import read_heldout
from bailong.embeddings.config import DistillConfig, EmbeddingInitConfig, FitTextConfig
from bailong.embeddings.extend import extend_embeddings
from bailong.eval.perplexity import score_documents
from bailong.model.config import ModelConfig, QuantizationConfig
from bailong.model.load import load_base_model
from bailong.tokenizer.load import load_tokenizer
from experiments.zip_tie_refbase.heldout import shared_data_or_exit

GROUPS = ("zh_poems", "zh_modern", "en")
BLOCK = 256


def arms(fit: FitTextConfig) -> dict[str, dict]:
    """Every arm's ``embedding_init`` fields (besides ``original_tokenizer``)."""
    last = {"input_weights": "last"}
    return {
        "zeros": {"method": "zeros"},
        "zt_last_out_zeros": {"method": "zip_tie", **last, "output": "zeros"},
        "subword_mean_out_zeros": {"method": "subword_mean", "output": "zeros"},
        "zt_last_out_corpus_logprob": {
            "method": "zip_tie", **last, "output": "corpus_logprob", "fit": fit,
        },
        "td_20x32": {
            "method": "token_distillation", **last, "fit": fit,
            "distill": DistillConfig(steps=20, batch_size=32),
        },
        "td_60x32": {
            "method": "token_distillation", **last, "fit": fit,
            "distill": DistillConfig(steps=60, batch_size=32),
        },
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--arms", default=None, help="comma-separated subset (default: all)")
    parser.add_argument("--max-tokens", type=int, default=500, help="fit.max_tokens")
    args = parser.parse_args()
    data = shared_data_or_exit(parser)
    original = str(data / "tokenizers/llama2/tokenizer.model")
    tokenizer = load_tokenizer(str(args.study / "tokenizer/tokenizer.model"))
    model = load_base_model(
        ModelConfig(name_or_path=str(data / "models/zh_byte_base_23m")),
        QuantizationConfig(enabled=False),
        32_000,
        args.study / "cache",
    ).eval()
    texts = {g: read_heldout(args.study / f"heldout_2500/{g}.txt") for g in GROUPS}
    fit = FitTextConfig(files=[str(args.study / "fit_300000.txt")], max_tokens=args.max_tokens)
    table = arms(fit)
    names = args.arms.split(",") if args.arms else list(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for name in names:
        cfg = EmbeddingInitConfig(original_tokenizer=original, **table[name])
        cpu, wall = time.process_time(), time.perf_counter()
        extend_embeddings(model, tokenizer, cfg)
        row = {
            "arm": name,
            "init_cpu_s": round(time.process_time() - cpu, 1),
            "init_wall_s": round(time.perf_counter() - wall, 1),
        }
        for group, docs in texts.items():
            row[group] = score_documents(model, tokenizer, docs, BLOCK).as_dict()["bits_per_char"]
        row["zh"] = (row["zh_poems"] + row["zh_modern"]) / 2
        model.resize_token_embeddings(32_000, mean_resizing=False)
        with args.out.open("a", encoding="utf-8") as out:
            out.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
