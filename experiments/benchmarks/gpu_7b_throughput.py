"""7B-shaped QLoRA throughput on a GPU: bailong's Trainer path vs HF Trainer + peft.

GPU only (exits with a message otherwise; never part of CI). Builds a Llama 2 7B-shaped model
with random weights and the extended 59,241-token vocabulary through bailong's loading path
(``materialize_random_model`` → ``load_base_model`` in 4-bit NF4, bf16 compute), wraps it with
LoRA r=128 on every linear layer plus LoRA on embed_tokens/lm_head (``wrap_with_lora``), and
trains seq-2048 random-token batches, first through ``CausalLMModule`` + Lightning, then
through ``transformers.Trainer`` on the same model, alternating for ``--repeats``. Like with
like: both use gradient checkpointing, paged AdamW (32-bit), bf16 autocast, grad-norm clip 1.0
and the same batches; every decoder layer's mode is recorded inside each training step, and a
contender whose layers ran in eval mode (which silently turns checkpointing off) is reported as
such. Reports tokens/s over ``--steps`` minus 2 warm-up steps, peak memory, MFU (6 x params
FLOPs a token over the device's dense bf16 peak) and both ratios against HF, with the device
name. Target: >= 1.0x HF tokens/s at <= 1.05x its peak memory. The model cache needs ~14 GB.

    PYTHONPATH=. python experiments/benchmarks/gpu_7b_throughput.py [--steps 22 --repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from experiments.benchmarks.bench_common import interleaved, markdown_table, median, report

VOCAB = 59_241
SEQ = 2048
WARMUP = 2
LLAMA2_7B = {
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-5,
    "tie_word_embeddings": False,
}
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}  # dense, SXM


def peak_tflops(name: str) -> float | None:
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=WARMUP + 20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "bailong-gpu"))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("gpu_7b_throughput.py needs a CUDA GPU; none is available here.")

    import lightning as L
    from transformers import Trainer, TrainingArguments

    from bailong.model.config import EmbeddingMode, LoraConfig, ModelConfig, QuantizationConfig
    from bailong.model.load import load_base_model
    from bailong.model.lora import wrap_with_lora
    from bailong.model.module import CausalLMModule
    from bailong.training.config import OptimConfig

    model_cfg = ModelConfig(config=LLAMA2_7B, dtype="bfloat16", gradient_checkpointing=True)
    base = load_base_model(model_cfg, QuantizationConfig(), VOCAB, Path(args.cache_dir))
    lora = LoraConfig(r=128, alpha=256, dropout=0.05, embeddings=EmbeddingMode.lora)
    model = wrap_with_lora(base, lora, gradient_checkpointing=True).cuda()
    n_params = sum(p.numel() for p in model.parameters())
    gen = torch.Generator().manual_seed(0)
    rows = [
        {"input_ids": (ids := torch.randint(0, VOCAB, (SEQ,), generator=gen)), "labels": ids}
        for _ in range(args.steps)
    ]
    optim = OptimConfig(name="paged_adamw", lr=2e-4, schedule_steps=args.steps)
    peaks: dict[str, list[float]] = {"bailong": [], "hf": []}
    # per contender: how many decoder-layer calls with gradients ran in eval mode
    eval_calls = {"bailong": 0, "hf": 0}
    current = ["bailong"]

    def record_mode(layer: torch.nn.Module, args: object) -> None:
        if torch.is_grad_enabled() and not layer.training:
            eval_calls[current[0]] += 1

    for layer in model.get_base_model().model.layers:
        layer.register_forward_pre_hook(record_mode)

    class Clock(L.Callback):
        def __init__(self) -> None:
            self.ends: list[float] = []

        def on_train_batch_end(self, *a: object) -> None:
            torch.cuda.synchronize()
            self.ends.append(time.perf_counter())

    def rate(ends: list[float]) -> float:
        return (len(ends) - WARMUP) * SEQ / (ends[-1] - ends[WARMUP - 1])

    def ours() -> float:
        current[0] = "bailong"
        torch.cuda.reset_peak_memory_stats()
        clock = Clock()
        loader = torch.utils.data.DataLoader(rows, batch_size=1)
        trainer = L.Trainer(
            accelerator="gpu",
            devices=1,
            precision="bf16-mixed",
            max_steps=args.steps,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            callbacks=[clock],
            gradient_clip_val=1.0,
        )
        trainer.fit(CausalLMModule(model, optim), train_dataloaders=loader)
        peaks["bailong"].append(torch.cuda.max_memory_allocated() / 2**30)
        return rate(clock.ends)

    def hf() -> float:
        from transformers import TrainerCallback

        current[0] = "hf"
        torch.cuda.reset_peak_memory_stats()
        ends: list[float] = []

        class HFClock(TrainerCallback):
            def on_step_end(self, *a: object, **k: object) -> None:
                torch.cuda.synchronize()
                ends.append(time.perf_counter())

        targs = TrainingArguments(
            output_dir=str(Path(args.cache_dir) / "hf"),
            per_device_train_batch_size=1,
            max_steps=args.steps,
            bf16=True,
            optim="paged_adamw_32bit",
            learning_rate=2e-4,
            max_grad_norm=1.0,
            logging_steps=1,
            report_to=[],
            save_strategy="no",
            gradient_checkpointing=False,  # already enabled on the model by wrap_with_lora
        )
        Trainer(model=model, args=targs, train_dataset=rows, callbacks=[HFClock()]).train()
        peaks["hf"].append(torch.cuda.max_memory_allocated() / 2**30)
        return rate(ends)

    runs = interleaved({"bailong": ours, "hf": hf}, args.repeats)
    device = torch.cuda.get_device_name(0)
    peak = peak_tflops(device)
    table_rows = []
    hf_tps, hf_peak = median(runs["hf"]), max(peaks["hf"])
    for name, label in (("bailong", "bailong Lightning"), ("hf", "HF Trainer + peft")):
        tps, peak_gib = median(runs[name]), max(peaks[name])
        mfu = f"{100 * 6 * n_params * tps / (peak * 1e12):.1f}%" if peak else "n/a"
        mode = "all train" if eval_calls[name] == 0 else f"{eval_calls[name]} eval-mode calls"
        table_rows.append(
            [
                label,
                f"{tps:,.0f}",
                f"{peak_gib:.1f}",
                mfu,
                mode,
                f"{tps / hf_tps:.3f}x",
                f"{peak_gib / hf_peak:.3f}x",
            ]
        )
    table = markdown_table(
        [
            "contender",
            "tokens/s (median)",
            "peak GiB",
            "MFU (6N)",
            "decoder layers",
            "tokens/s vs HF",
            "peak vs HF",
        ],
        table_rows,
    )
    notes = [
        f"device {device}; 7B shape, vocab {VOCAB:,}, seq {SEQ}, batch 1, LoRA r=128 + "
        f"LoRA embeddings, NF4 bf16, paged AdamW, gradient checkpointing, "
        f"{args.steps - WARMUP} measured steps x {args.repeats} alternations"
    ]
    report("gpu_7b_throughput", "7B QLoRA throughput on GPU", table, notes)


if __name__ == "__main__":
    main()
