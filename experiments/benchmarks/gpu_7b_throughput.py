"""7B-shaped QLoRA throughput on a GPU: bailong's Trainer path vs HF Trainer + peft.

GPU only (exits with a message otherwise; never part of CI). Builds a Llama 2 7B-shaped model
with random weights and the extended 59,241-token vocabulary through bailong's loading path
(``materialize_random_model`` → ``load_base_model`` in 4-bit NF4, bf16 compute), wraps it with
LoRA r=128 on every linear layer plus the embeddings per arm (``wrap_with_lora``: ``--embeddings``
full = trainable embed_tokens/lm_head copies, new_rows = only the 27,241 rows past Llama 2's
32,000; ``--kernels`` off/on = without/with Liger Kernel, ``model.liger_kernel``), and
trains seq-2048 random-token batches, first through ``CausalLMModule`` + Lightning, then
through ``transformers.Trainer`` on the same model, alternating for ``--repeats``. Like with
like: both use gradient checkpointing, paged AdamW (32-bit), bf16 autocast, grad-norm clip 1.0
and the same batches; every decoder layer's mode is recorded inside each training step, and a
contender whose layers ran in eval mode (which silently turns checkpointing off) is reported as
such. Reports tokens/s over ``--steps`` minus 2 warm-up steps, peak memory, MFU (6 x params
FLOPs a token over the device's dense bf16 peak) and both ratios against HF, with the device
name. Target: >= 1.0x HF tokens/s at <= 1.05x its peak memory. The model cache needs ~14 GB.

    PYTHONPATH=. python experiments/benchmarks/gpu_7b_throughput.py [--steps 22 --repeats 3]
        [--embeddings full,new_rows --kernels off,on]
    PYTHONPATH=. python experiments/benchmarks/gpu_7b_throughput.py --dry-run   # CPU check

``--dry-run`` (CPU, seconds): every arm's model at a tiny shape (Liger arms only with CUDA),
one forward and backward, and its trainable parameter count; no timing, no results file.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from experiments.benchmarks.bench_common import interleaved, markdown_table, median, report

VOCAB = 59_241
OLD_VOCAB = 32_000  # Llama 2's own rows: new_rows trains the rest
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
TINY = {**LLAMA2_7B, "hidden_size": 256, "intermediate_size": 704, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 4}  # fmt: skip
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}  # dense, SXM


def peak_tflops(name: str) -> float | None:
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def build(shape: dict, embeddings: str, kernels: bool, cache_dir: Path, cuda: bool):
    """The arm's model through bailong's own loading path: NF4 base (Liger-patched when
    ``kernels``), resized to the extended vocabulary, LoRA r=128 + ``embeddings``."""
    from bailong.embeddings.resize import resize_to
    from bailong.model.config import EmbeddingMode, LoraConfig, ModelConfig, QuantizationConfig
    from bailong.model.load import load_base_model
    from bailong.model.lora import wrap_with_lora

    model_cfg = ModelConfig(
        config=shape, dtype="bfloat16", gradient_checkpointing=True, liger_kernel=kernels
    )
    quant = QuantizationConfig(compute_dtype="bfloat16" if cuda else "float32")
    base = load_base_model(model_cfg, quant, OLD_VOCAB, cache_dir)
    resize_to(base, VOCAB, None)  # random new rows: an init does not change the step time
    lora = LoraConfig(r=128, alpha=256, dropout=0.05, embeddings=EmbeddingMode(embeddings))
    model = wrap_with_lora(base, lora, gradient_checkpointing=True, old_rows=OLD_VOCAB)
    return model.cuda() if cuda else model


def dry_run(arms: list[tuple[str, bool]], cache_dir: Path) -> None:
    """CPU: each arm builds at a tiny shape and trains one step (no timing)."""
    for embeddings, kernels in arms:
        if kernels and not torch.cuda.is_available():
            print(f"{embeddings} + Liger: skipped (needs CUDA)")
            continue
        model = build(TINY, embeddings, kernels, cache_dir, cuda=False)
        ids = torch.randint(0, VOCAB, (1, 64))
        model(input_ids=ids, labels=ids).loss.backward()
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        grads = all(p.grad is not None for p in model.parameters() if p.requires_grad)
        print(f"{embeddings} kernels={'on' if kernels else 'off'}: {trainable:,} trainable "
              f"parameters, every one with a gradient: {grads}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=WARMUP + 20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--embeddings", default="full,new_rows")
    parser.add_argument("--kernels", default="off,on", help="Liger Kernel off, on or both")
    parser.add_argument("--dry-run", action="store_true", help="CPU check of every arm's build")
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "bailong-gpu"))
    args = parser.parse_args()
    arms = [(e, k == "on") for e in args.embeddings.split(",") for k in args.kernels.split(",")]
    if args.dry_run:
        dry_run(arms, Path(args.cache_dir))
        return
    if not torch.cuda.is_available():
        raise SystemExit("gpu_7b_throughput.py needs a CUDA GPU; none is available here.")
    table_rows: list[list[str]] = []
    for embeddings, kernels in arms:
        table_rows += measure_arm(args, embeddings, kernels)
        torch.cuda.empty_cache()
    table = markdown_table(
        [
            "arm",
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
        f"device {torch.cuda.get_device_name(0)}; 7B shape, vocab {VOCAB:,}, seq {SEQ}, batch 1, "
        f"LoRA r=128 + embeddings per arm, NF4 bf16, paged AdamW, gradient checkpointing, "
        f"{args.steps - WARMUP} measured steps x {args.repeats} alternations; MFU counts "
        "6 x all parameters a token"
    ]
    report("gpu_7b_throughput", "7B QLoRA throughput on GPU", table, notes)


def measure_arm(args: argparse.Namespace, embeddings: str, kernels: bool) -> list[list[str]]:
    """Ours vs HF Trainer + peft on one arm's model, alternating; one table row each."""
    import lightning as L
    from transformers import Trainer, TrainingArguments

    from bailong.training.config import OptimConfig
    from bailong.training.module import CausalLMModule

    model = build(LLAMA2_7B, embeddings, kernels, Path(args.cache_dir), cuda=True)
    arm = f"{embeddings}, Liger {'on' if kernels else 'off'}"
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
    peak = peak_tflops(torch.cuda.get_device_name(0))
    out = []
    hf_tps, hf_peak = median(runs["hf"]), max(peaks["hf"])
    for name, label in (("bailong", "bailong Lightning"), ("hf", "HF Trainer + peft")):
        tps, peak_gib = median(runs[name]), max(peaks[name])
        mfu = f"{100 * 6 * n_params * tps / (peak * 1e12):.1f}%" if peak else "n/a"
        mode = "all train" if eval_calls[name] == 0 else f"{eval_calls[name]} eval-mode calls"
        out.append(
            [
                arm,
                label,
                f"{tps:,.0f}",
                f"{peak_gib:.1f}",
                mfu,
                mode,
                f"{tps / hf_tps:.3f}x",
                f"{peak_gib / hf_peak:.3f}x",
            ]
        )
    return out  # the arm's model is freed with this frame, before the next arm loads


if __name__ == "__main__":
    main()
