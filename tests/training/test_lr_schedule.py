"""Our learning-rate schedule against transformers' at every step (bailong.training.optim says
why we keep ours): where the curves agree, and the numbers where they do not."""

from __future__ import annotations

import pytest
import torch
from transformers.optimization import (
    get_constant_schedule_with_warmup,
    get_cosine_with_min_lr_schedule_with_warmup,
    get_linear_schedule_with_warmup,
)

from bailong.training.config import OptimConfig, Schedule
from bailong.training.optim import build_scheduler, lr_multiplier

TOTAL = 100
STEPS = range(TOTAL + 21)  # 20 steps past the schedule: optim.schedule_steps shorter than a run


def _theirs(schedule: Schedule, warmup: int, min_ratio: float, total: int = TOTAL):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    if schedule is Schedule.cosine:
        built = get_cosine_with_min_lr_schedule_with_warmup(
            optimizer, warmup, total, min_lr_rate=min_ratio
        )
    elif schedule is Schedule.linear:  # no floor there
        built = get_linear_schedule_with_warmup(optimizer, warmup, total)
    else:
        built = get_constant_schedule_with_warmup(optimizer, warmup)
    return built.lr_lambdas[0]


def _differ(a: float, b: float) -> bool:
    return abs(a - b) > 1e-12 * max(abs(a), abs(b))


@pytest.mark.parametrize("schedule", list(Schedule))
@pytest.mark.parametrize("warmup", [0, 10])
@pytest.mark.parametrize("min_ratio", [0.0, 0.1])
def test_the_steps_where_ours_and_transformers_differ(
    schedule: Schedule, warmup: int, min_ratio: float
) -> None:
    cfg = OptimConfig(warmup_steps=warmup, schedule=schedule, min_lr_ratio=min_ratio)
    theirs = _theirs(schedule, warmup, min_ratio)
    ours = [lr_multiplier(step, cfg, TOTAL) for step in STEPS]
    differ = {step for step in STEPS if _differ(ours[step], theirs(step))}
    expected = set(range(warmup))
    if schedule is Schedule.cosine:
        expected |= set(range(TOTAL + 1, len(STEPS)))
    if schedule is Schedule.linear and min_ratio > 0:
        expected |= set(range(warmup + 1, len(STEPS)))
    assert differ == expected
    # ours is theirs one step later wherever a floorless curve is inside its schedule
    if not (schedule is Schedule.linear and min_ratio > 0):
        later = _theirs(schedule, warmup + 1, min_ratio, TOTAL + 1)
        assert not [s for s in range(TOTAL + 1) if _differ(ours[s], later(s + 1))]


def test_the_numbers_the_optim_docstring_quotes() -> None:
    warm = OptimConfig(warmup_steps=10, schedule=Schedule.cosine, min_lr_ratio=0.1)
    theirs = _theirs(Schedule.cosine, 10, 0.1)
    assert [round(lr_multiplier(s, warm, TOTAL), 4) for s in (0, 9)] == [0.0909, 0.9091]
    assert [theirs(s) for s in (0, 9)] == [0.0, 0.9]
    cosine = OptimConfig(schedule=Schedule.cosine, min_lr_ratio=0.1)
    theirs = _theirs(Schedule.cosine, 0, 0.1)
    assert [lr_multiplier(s, cosine, TOTAL) for s in (101, 120)] == [0.1, 0.1]
    assert [round(theirs(s), 6) for s in (101, 120)] == [0.100222, 0.185942]
    linear = OptimConfig(schedule=Schedule.linear, min_lr_ratio=0.1)
    theirs = _theirs(Schedule.linear, 0, 0.1)
    assert [round(lr_multiplier(s, linear, TOTAL), 6) for s in (1, 100)] == [0.991, 0.1]
    assert [round(theirs(s), 6) for s in (1, 100)] == [0.99, 0.0]


def test_the_scheduler_steps_the_optimizer_along_the_curve() -> None:
    """What training runs: LambdaLR over the optimizer, one scheduler step per optimizer step."""
    cfg = OptimConfig(lr=2e-4, warmup_steps=3, schedule=Schedule.cosine, min_lr_ratio=0.1)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    scheduler = build_scheduler(optimizer, cfg, total_steps=10)
    seen = []
    for _ in range(12):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen == pytest.approx([cfg.lr * lr_multiplier(s, cfg, 10) for s in range(12)], rel=1e-12)
    assert seen[0] == pytest.approx(cfg.lr / 4) and seen[-1] == pytest.approx(cfg.lr * 0.1)
