"""Optimizer and learning-rate schedule from config (linear warmup, then constant/linear/cosine).

The schedule is ours, not transformers' ``get_scheduler`` family, because theirs draws a
different curve (``tests/training/test_lr_schedule.py`` compares every step, T=100 steps):

* warmup: ours is ``(step+1)/(warmup+1)``, theirs ``step/warmup``, so with 10 warmup steps
  ours runs 0.0909 … 0.9091 over steps 0 … 9 where theirs runs 0.0 … 0.9 (their first
  optimizer step has lr 0, a step that changes nothing);
* after ``total_steps`` (``optim.schedule_steps`` shorter than the run, to extend a run
  without changing its curve) ours holds the floor while their cosine climbs back: with
  ``min_lr_ratio=0.1`` 0.100222 at step 101 and 0.185942 at step 120 instead of 0.1;
* ``linear`` has a floor here (``min_lr_ratio``) and none there: 0.991 against 0.99 at
  step 1, 0.1 against 0.0 at step 100.

Elsewhere (cosine, constant and floorless linear, from the end of warmup to ``total_steps``)
the curves agree within 1e-12 relative; and from step 0 to ``total_steps`` ours is theirs one
step later: ours(s) = theirs(s+1) with warmup+1 and total_steps+1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TypedDict, cast

import torch
from torch.optim.lr_scheduler import LambdaLR

from bailong.training.config import OptimConfig, Schedule


class AdamArgs(TypedDict):
    """The numbers every AdamW variant here takes."""

    lr: float
    betas: tuple[float, float]
    eps: float
    weight_decay: float


def build_optimizer(
    params: Iterable[torch.nn.Parameter], cfg: OptimConfig
) -> torch.optim.Optimizer:
    kwargs: AdamArgs = {
        "lr": cfg.lr,
        # two numbers: range_checks.check_optimizer refuses any other count
        "betas": cast(tuple[float, float], tuple(cfg.betas)),
        "eps": cfg.eps,
        "weight_decay": cfg.weight_decay,
    }
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, **kwargs)
    import bitsandbytes as bnb

    optimizer_cls = {
        "paged_adamw": bnb.optim.PagedAdamW,
        "paged_adamw_8bit": bnb.optim.PagedAdamW8bit,
    }
    return optimizer_cls[cfg.name](params, **kwargs)


def lr_multiplier(step: int, cfg: OptimConfig, total_steps: int) -> float:
    """Multiplier of the peak lr at ``step``: warmup ramps from 1/(warmup+1) to 1."""
    if step < cfg.warmup_steps:
        return (step + 1) / (cfg.warmup_steps + 1)
    if cfg.schedule is Schedule.constant:
        return 1.0
    decay_steps = max(1, total_steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / decay_steps)
    if cfg.schedule is Schedule.linear:
        shape = 1.0 - progress
    else:
        shape = 0.5 * (1.0 + math.cos(math.pi * progress))
    return cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * shape


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: OptimConfig, total_steps: int
) -> LambdaLR:
    return LambdaLR(optimizer, lambda step: lr_multiplier(step, cfg, total_steps))
