"""A run killed at any point resumes bit-identically: every metric row and every adapter tensor
equal to the uninterrupted run's.

The default job (tiny Llama, real bitsandbytes NF4 base, LoRA with dropout) over 3 batches an
epoch, for 8 steps (3 epochs), a checkpoint and a validation every 2 steps. One run goes to
the end (the reference) and copies its run directory after every step and during every
validation: what a SIGKILL at that point leaves (``tests/support/kill_switch.py``); each copy is
then
finished with ``ckpt_path=last``. Real signals check the same in place: a SIGKILL during a
validation, and SIGTERM on an epoch's last batch and during a validation.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from bailong.training.run import RunContext, train
from bailong.training.sigterm import EXIT_STATUS
from tests.support.helpers import train_process, train_settings
from tests.training.test_train import read_metrics

STEPS = 8
RUN = [
    "callbacks.progress_bar=none",
    f"trainer.max_steps={STEPS}",
    "data.train_items=24",  # 3 batches of 8 an epoch
    "callbacks.checkpoint.every_n_train_steps=2",
    "trainer.val_check_interval=2",
]
SNAPSHOTS = [
    *(f"after_step_{k}" for k in range(1, STEPS + 1)),
    *(f"validation_{k}" for k in range(2, STEPS + 1, 2)),
]
# <signal>:<point>:<global step> (tests/support/kill_switch.py)
SIGNALS = [
    "KILL:validation:4",
    "TERM:after_step:5",  # arrives during step 6, epoch 1's last batch, a validation after it
    "TERM:validation:6",
]
EXIT = {"KILL": -signal.SIGKILL, "TERM": EXIT_STATUS}


def metric_values(run_dir: Path) -> dict[tuple[int, str], tuple[str, str]]:
    """(step, metric) -> (value, epoch). Steps between a checkpoint and a kill are logged twice;
    the later row (the resumed run's) is the one readers keep."""
    values = {}
    for row in read_metrics(run_dir):
        for key, value in row.items():
            if key not in ("step", "epoch") and value:
                values[(int(row["step"]), key)] = (value, row["epoch"])
    return values


def adapter_tensors(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(run_dir / "adapter" / "adapter_model.safetensors")


def assert_same_run(expected_dir: Path, got_dir: Path) -> None:
    expected, got = metric_values(expected_dir), metric_values(got_dir)
    assert sorted(got) == sorted(expected), "a metric row is missing or extra"
    wrong = {key: (got[key], expected[key]) for key in expected if got[key] != expected[key]}
    assert not wrong, f"(resumed, uninterrupted) (value, epoch) differ: {wrong}"
    want, have = adapter_tensors(expected_dir), adapter_tensors(got_dir)
    assert sorted(have) == sorted(want)
    differ = [name for name in want if not torch.equal(have[name], want[name])]
    assert not differ, f"{len(differ)} of {len(want)} adapter tensors differ, e.g. {differ[:3]}"


def finish(proc, run_dir: Path, status: int = 0) -> None:  # type: ignore[no-untyped-def]
    got = proc.wait(timeout=900)
    assert got == status, (
        f"exit {got}, wanted {status}: " + run_dir.with_suffix(".log").read_text()[-3000:]
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the uninterrupted run, the folder of its copies at every kill point)."""
    tmp = tmp_path_factory.mktemp("matrix")
    run, snapshots = tmp / "uninterrupted", tmp / "snapshots"
    entry = ["-m", "tests.support.kill_switch", f"SNAPSHOT:{snapshots}"]
    finish(train_process(run, RUN, tmp, entry), run)
    metrics = metric_values(run)
    assert {epoch for _, epoch in metrics.values()} == {"0", "1", "2"}, "3 epochs"
    assert len([key for key in metrics if key[1] == "val/loss"]) == 1 + STEPS // 2
    assert sorted(p.name for p in snapshots.iterdir()) == sorted(SNAPSHOTS)
    return run, snapshots


@pytest.mark.slow
@pytest.mark.parametrize("point", SNAPSHOTS)
def test_a_run_killed_anywhere_resumes_bit_identically(
    reference: tuple[Path, Path], tmp_path: Path, point: str
) -> None:
    uninterrupted, snapshots = reference
    run = tmp_path / "run"
    shutil.copytree(snapshots / point, run)
    assert not (run / "adapter").exists(), "killed before the end"
    finish(train_process(run, [*RUN, "ckpt_path=last"], tmp_path), run)
    assert_same_run(uninterrupted, run)


@pytest.mark.slow
@pytest.mark.parametrize("stop", SIGNALS)
def test_a_run_signalled_resumes_bit_identically(
    reference: tuple[Path, Path], tmp_path: Path, stop: str
) -> None:
    run = tmp_path / "run"
    finish(
        train_process(run, RUN, tmp_path, ["-m", "tests.support.kill_switch", stop]),
        run,
        EXIT[stop[:4]],
    )
    assert not (run / "adapter").exists(), "stopped before the end"
    finish(train_process(run, [*RUN, "ckpt_path=last"], tmp_path), run)
    assert_same_run(reference[0], run)
    assert not (run / "FAILED").exists()


# ---- the same in this process, resumed from kept step checkpoints (a minute, not ten) ---------


FAST_RUN = [*RUN, "callbacks.checkpoint.keep=4"]  # step-000002 ... step-000008.ckpt


@pytest.mark.slow
def test_resumes_inside_epoch_1_and_after_an_epochs_last_batch_are_exact(tmp_path: Path) -> None:
    """What a kill leaves: its run directory as of the checkpoint. Step 4 is inside epoch 1 (it
    went on with epoch 0's batches), step 6 is epoch 1's last batch (it went on one epoch
    late)."""
    full = tmp_path / "full"
    train(train_settings(full, FAST_RUN), RunContext(output_dir=full))
    for step in (4, 6):
        run = tmp_path / f"from-{step}"
        (run / "checkpoints").mkdir(parents=True)
        last = run / "checkpoints" / "last.ckpt"
        shutil.copy(full / "checkpoints" / f"step-{step:06d}.ckpt", last)
        (run / "csv").mkdir()
        kept = [r for r in read_metrics(full) if int(r["step"]) < step]
        header = list(read_metrics(full)[0])
        lines = [",".join(header), *(",".join(r[k] for k in header) for r in kept)]
        (run / "csv" / "metrics.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        train(train_settings(run, [*FAST_RUN, f"ckpt_path={last}"]), RunContext(output_dir=run))
        assert_same_run(full, run)
