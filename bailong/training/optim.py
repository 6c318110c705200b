"""Optimizer and learning-rate schedule from config (linear warmup, then constant/linear/cosine)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch.optim.lr_scheduler import LambdaLR

from bailong.training.config import OptimConfig, Schedule


def build_optimizer(
    params: Iterable[torch.nn.Parameter], cfg: OptimConfig
) -> torch.optim.Optimizer:
    kwargs = {
        "lr": cfg.lr,
        "betas": tuple(cfg.betas),
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
