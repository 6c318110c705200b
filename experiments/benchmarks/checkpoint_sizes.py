"""Disk per run for each ``lora.embeddings`` option: one checkpoint and the saved adapter.

Measured: a tiny run (``tiny_llama``, hidden 128, LoRA r8, NF4) with the 59,241-token extended
vocabulary (Llama 2 + 27,241 pieces), one real training run per option through
``bailong.training.run.train``, 2 steps with a checkpoint; the sizes of ``last.ckpt`` and of
``adapter/`` are read off the disk. Computed: the same counting rule at Llama 2 7B shape with
the paper's LoRA (r=128 on every linear layer), checked against the tiny measurement in the
same table (a checkpoint = trainable tensors + two AdamW moments, fp32; an adapter = trainable
tensors, plus both full embedding matrices when the vocabulary grew and the adapter does not
already hold them: ``frozen`` and ``lora``).

    PYTHONPATH=. python experiments/benchmarks/checkpoint_sizes.py --tokenizer DIR
    (DIR: an extended tokenizer, e.g. bailong-extend-tokenizer's output)
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

from experiments.benchmarks.bench_common import markdown_table, report, train_config

OPTIONS = ("full", "new_rows", "lora", "frozen")
FP32 = 4
ADAM = 2


@dataclass(frozen=True)
class Shape:
    vocab: int
    old_vocab: int
    hidden: int
    intermediate: int
    layers: int
    r: int

    def lora(self) -> int:
        attn = 4 * self.r * 2 * self.hidden
        mlp = 3 * self.r * (self.hidden + self.intermediate)
        return self.layers * (attn + mlp)

    def embeddings(self, option: str) -> int:
        return {
            "full": 2 * self.vocab * self.hidden,
            "new_rows": 2 * (self.vocab - self.old_vocab) * self.hidden,
            "lora": 2 * self.r * (self.vocab + self.hidden),
            "frozen": 0,
        }[option]

    def checkpoint_bytes(self, option: str) -> int:
        return (self.lora() + self.embeddings(option)) * FP32 * (1 + ADAM)

    def adapter_bytes(self, option: str) -> int:
        saved_matrices = 2 * self.vocab * self.hidden if option in ("frozen", "lora") else 0
        return (self.lora() + self.embeddings(option) + saved_matrices) * FP32


TINY = Shape(vocab=59_241, old_vocab=32_000, hidden=128, intermediate=384, layers=2, r=8)
LLAMA2_7B = Shape(vocab=59_241, old_vocab=32_000, hidden=4096, intermediate=11008, layers=32, r=128)


def measure(work: Path, tokenizer: str, llama2: str, option: str) -> tuple[int, int]:
    from bailong.training.run import RunContext, train

    run = work / option
    cfg = train_config(
        run,
        [
            f"tokenizer.name_or_path={tokenizer}",
            "embedding_init=zip_tie",
            f"embedding_init.original_tokenizer={llama2}",
            f"lora.embeddings={option}",
            "trainer.max_steps=2",
            "trainer.val_check_interval=2",
            "callbacks.checkpoint.every_n_train_steps=2",
            "callbacks.progress_bar=none",
            "logger=none",
            "validate_before_fit=false",
            "data.block_size=64",
            "data.batch_size=2",
        ],
    )
    train(cfg, RunContext(output_dir=run))
    adapter = sum(f.stat().st_size for f in (run / "adapter").iterdir())
    return (run / "checkpoints" / "last.ckpt").stat().st_size, adapter


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB" if n < 1e9 else f"{n / 1e9:,.2f} GB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", required=True, help="extended tokenizer (59,241 pieces)")
    parser.add_argument("--llama2", help="original tokenizer.model (default: the shared one)")
    parser.add_argument("--options", default=",".join(OPTIONS))
    args = parser.parse_args()
    from bailong.core.shared_data import shared_data_dir

    data = shared_data_dir()
    llama2 = args.llama2 or (str(data / "tokenizers/llama2/tokenizer.model") if data else None)
    if llama2 is None:
        parser.error("--llama2 is needed: no shared data found (BAILONG_SHARED_DATA)")
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for option in args.options.split(","):
            ckpt, adapter = measure(Path(work), args.tokenizer, llama2, option)
            full_ckpt = TINY.checkpoint_bytes("full")
            rows.append(
                [
                    f"`{option}`",
                    f"{mb(ckpt)} ({mb(TINY.checkpoint_bytes(option))})",
                    f"{100 * ckpt / full_ckpt:.0f}%",
                    f"{mb(adapter)} ({mb(TINY.adapter_bytes(option))})",
                    f"{(LLAMA2_7B.lora() + LLAMA2_7B.embeddings(option)) / 1e6:,.1f}M",
                    mb(LLAMA2_7B.checkpoint_bytes(option)),
                    mb(LLAMA2_7B.adapter_bytes(option)),
                ]
            )
    table = markdown_table(
        [
            "lora.embeddings",
            "tiny checkpoint: measured (computed)",
            "of full",
            "tiny adapter: measured (computed)",
            "7B trainable",
            "7B checkpoint",
            "7B adapter",
        ],
        rows,
    )
    notes = [
        "tiny: tiny_llama (hidden 128, 2 layers), LoRA r8 on every linear layer, NF4, vocab "
        "59,241 (32,000 + 27,241), fp32 trainable tensors; measured = bytes on disk after 2 steps",
        "7B: Llama 2 7B shape, LoRA r=128 on every linear layer, vocab 59,241, fp32 trainable "
        "tensors (prepare_model_for_kbit_training upcasts them), computed with the rule the "
        "tiny column checks",
    ]
    report("checkpoint_sizes", "Checkpoint and adapter size per lora.embeddings option", table,
           notes)  # fmt: skip


if __name__ == "__main__":
    main()
