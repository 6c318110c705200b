"""QLoRA step throughput through bailong's LightningModule + Trainer vs a bare PyTorch loop.

Both contenders train the SAME peft model (4-bit NF4 base built by ``bailong.training.run``'s
``build_tokenizer``/``build_model`` from the tiny_llama config, made larger so a step takes
~0.1 s on a CPU), on the same batches from the same ``CausalLMDataModule`` loader, with the same
optimizer, schedule, gradient clipping and fp32 precision. The Trainer side is configured as a
user runs it (CSV logger, tqdm progress bar, per-step loss/lr/tokens logging) minus checkpoint
files and validation, which the bare loop would pay for too. Repeats alternate the two sides;
tokens/s is measured over the steps after a warm-up and the ratio of medians is reported.

    PYTHONPATH=. python experiments/benchmarks/train_step_overhead.py [--repeats 3 --steps 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import lightning as L
import torch

from bailong.data.build import build_datamodule
from bailong.training.config import TrainConfig
from bailong.training.module import CausalLMModule
from bailong.training.optim import build_optimizer, build_scheduler
from bailong.training.run import RunContext, build_model, build_tokenizer, build_trainer
from experiments.benchmarks.bench_common import (
    interleaved,
    markdown_table,
    median,
    report,
    train_config,
)

WARMUP = 2  # steps excluded from each run (first-call allocations, lazy init)


def settings(work: Path, block: int, batch: int, steps: int) -> TrainConfig:
    overrides = [
        "model.config.hidden_size=256",
        "model.config.intermediate_size=704",
        "model.config.num_hidden_layers=4",
        f"data.block_size={block}",
        f"data.batch_size={batch}",
        f"data.train_items={batch * steps}",
        "callbacks.checkpoint.enabled=false",
        f"trainer.max_steps={steps}",
        f"trainer.val_check_interval={steps}",
        "+trainer.limit_val_batches=0",
        "+trainer.enable_model_summary=false",
    ]
    return train_config(work, overrides)


class StepClock(L.Callback):
    """Wall time at the end of every training batch."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def on_train_batch_end(self, *args: object) -> None:
        self.ends.append(time.perf_counter())


def tokens_per_s(ends: list[float], tokens_per_step: int) -> float:
    steps = len(ends) - WARMUP
    return steps * tokens_per_step / (ends[-1] - ends[WARMUP - 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--block", type=int, default=128)
    parser.add_argument("--batch", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bailong-bench-"))
    cfg = settings(work, args.block, args.batch, args.steps)
    L.seed_everything(cfg.seed)
    tokenizer = build_tokenizer(cfg)
    model = build_model(cfg, tokenizer)
    datamodule = build_datamodule(cfg.data, tokenizer, cfg.seed)
    datamodule.setup("fit")
    module = CausalLMModule(model, cfg.optim)
    step_tokens = args.block * args.batch
    params = [p for p in model.parameters() if p.requires_grad]
    clip = cfg.trainer["gradient_clip_val"]

    def lightning_run() -> float:
        clock = StepClock()
        trainer = build_trainer(cfg, RunContext(output_dir=work))
        trainer.callbacks.append(clock)
        trainer.fit(module, datamodule=datamodule)
        return tokens_per_s(clock.ends, step_tokens)

    def bare_run() -> float:
        optimizer = build_optimizer(params, cfg.optim)
        scheduler = build_scheduler(optimizer, cfg.optim, args.steps)
        model.train()
        ends = []
        for batch in datamodule.train_dataloader():
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            ends.append(time.perf_counter())
            if len(ends) == args.steps:
                break
        return tokens_per_s(ends, step_tokens)

    runs = interleaved({"bailong": lightning_run, "bare": bare_run}, args.repeats)
    ours, bare = median(runs["bailong"]), median(runs["bare"])
    ratio = ours / bare
    table = markdown_table(
        ["contender", "tokens/s (median)", "runs", "ratio vs bare", "target", "met"],
        [
            [
                "bailong Trainer",
                f"{ours:,.0f}",
                " ".join(f"{x:,.0f}" for x in runs["bailong"]),
                f"{ratio:.3f}x",
                ">= 0.95x",
                "yes" if ratio >= 0.95 else "no",
            ],
            [
                "bare PyTorch loop",
                f"{bare:,.0f}",
                " ".join(f"{x:,.0f}" for x in runs["bare"]),
                "1.000x",
                "",
                "",
            ],
        ],
    )
    trainable = sum(p.numel() for p in params)
    notes = [
        f"model: Llama hidden 256, 4 layers, vocab {len(tokenizer)}, NF4 (fp32 compute), "
        f"LoRA r={cfg.lora.r} + full embeddings ({trainable:,} trainable)",
        f"batch {args.batch} x block {args.block} = {step_tokens} tokens/step, "
        f"{args.steps} steps/run ({WARMUP} warm-up excluded), {args.repeats} repeats alternating, "
        f"{torch.get_num_threads()} torch threads",
    ]
    report("train_step_overhead", "Training-step overhead (QLoRA, CPU)", table, notes)


if __name__ == "__main__":
    main()
