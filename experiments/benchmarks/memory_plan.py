"""Print the computed GPU memory plan of the paper's QLoRA run, per component.

Llama 2 7B extended to 59,241 tokens, seq 2048, LoRA r=128 on every linear layer plus LoRA on
embed_tokens and lm_head, NF4 double-quant base, bf16 compute, paged AdamW, gradient
checkpointing (``bailong.analysis.memory_plan``). With CUDA, ``gpu_7b_throughput.py`` measures
the peak of the real run to compare against.

    PYTHONPATH=. python experiments/benchmarks/memory_plan.py [--micro-batch 1 --seq 2048]
"""

from __future__ import annotations

import argparse
import dataclasses

from bailong.analysis.memory_plan import LLAMA2_7B, QLoraPlan, plan_rows
from experiments.benchmarks.bench_common import markdown_table, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=59_241)
    parser.add_argument("--rank", type=int, default=128)
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--micro-batch", type=int, default=1)
    args = parser.parse_args()
    plan = QLoraPlan(
        dataclasses.replace(LLAMA2_7B, vocab_size=args.vocab),
        lora_rank=args.rank,
        seq_len=args.seq,
        micro_batch=args.micro_batch,
    )
    table = markdown_table(["component", "GiB", "share"], [list(r) for r in plan_rows(plan)])
    notes = [
        f"base {plan.base_params():,} parameters, LoRA {plan.lora_params():,} trainable "
        f"= {100 * plan.trainable_fraction():.2f}% of base + LoRA (paper: ~4.6%)",
        f"seq {args.seq} x micro-batch {args.micro_batch}, gradient checkpointing; activations "
        "are an estimate (saved tensors of one block + all block inputs + fp32 logits/softmax)",
        "not counted: CUDA context (~0.5 GiB), allocator fragmentation, one layer's "
        "dequantized weights",
    ]
    report("memory_plan", "Memory plan: Bailong QLoRA on Llama 2 7B (computed)", table, notes)


if __name__ == "__main__":
    main()
