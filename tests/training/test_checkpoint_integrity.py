"""A checkpoint that is corrupted, truncated, empty, garbage, a directory or from another
config is refused with one message naming the file; leftovers of killed saves are removed."""

from __future__ import annotations

import shutil
import struct
import zipfile
from pathlib import Path

import pytest
import torch

from bailong.training.checkpoint_checksum import CHECKSUM_KEY, FORMAT_KEY, checkpoint_digest
from bailong.training.checkpoint_io import CheckpointReadError
from bailong.training.run import RunContext, train
from tests.support.helpers import train_settings
from tests.training.test_train import FAST

RUN = [
    *FAST,
    "callbacks.checkpoint.keep=2",  # step files as well as last.ckpt
    "save_adapter=false",
    "validate_before_fit=false",
    "trainer.val_check_interval=100",
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 6-step run with checkpoints at steps 3 and 6 (``last.ckpt`` = step 6)."""
    run = tmp_path_factory.mktemp("integrity") / "run"
    train(train_settings(run, RUN), RunContext(output_dir=run))
    return run


def resume(run: Path, *overrides: str) -> None:
    cfg = train_settings(run, [*RUN, "trainer.max_steps=9", "ckpt_path=last", *overrides])
    train(cfg, RunContext(output_dir=run))


def copy_of(finished_run: Path, tmp_path: Path) -> tuple[Path, Path]:
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    return run, run / "checkpoints" / "last.ckpt"


def flip_bytes_inside_the_largest_tensor(ckpt: Path, count: int = 64) -> None:
    """What a bad disk or copy does: the zip stays valid, a tensor's bytes change."""
    with zipfile.ZipFile(ckpt) as archive:
        entry = max(
            (i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size
        )
    data = bytearray(ckpt.read_bytes())
    name_len, extra_len = struct.unpack(
        "<HH", data[entry.header_offset + 26 : entry.header_offset + 30]
    )
    start = entry.header_offset + 30 + name_len + extra_len + entry.file_size // 2
    data[start : start + count] = bytes(b ^ 0xFF for b in data[start : start + count])
    ckpt.write_bytes(bytes(data))


def test_checkpoints_carry_a_checksum(finished_run: Path) -> None:
    saved = torch.load(finished_run / "checkpoints" / "last.ckpt", weights_only=True)
    assert len(saved[CHECKSUM_KEY]) == 64


@pytest.mark.parametrize("damage", ["flipped", "truncated", "empty", "garbage", "directory"])
def test_a_damaged_last_checkpoint_is_refused_naming_the_file(
    finished_run: Path, tmp_path: Path, damage: str
) -> None:
    run, last = copy_of(finished_run, tmp_path)
    if damage == "flipped":
        flip_bytes_inside_the_largest_tensor(last)
        torch.load(last, weights_only=True)  # still loads: only the checksum can tell
    elif damage == "truncated":
        last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    elif damage == "empty":
        last.write_bytes(b"")
    elif damage == "garbage":
        last.write_bytes(bytes(range(256)) * 64)
    else:
        last.unlink()
        last.mkdir()
    with pytest.raises(CheckpointReadError, match=rf"cannot resume from {last}: .*ckpt_path=") as e:
        resume(run)
    assert "weights_only=False" not in str(e.value)


def edited(last: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Rewrites ``last`` after ``change`` edits its loaded contents in place."""
    saved = torch.load(last, weights_only=True)
    change(saved)
    torch.save(saved, last)


def without_checksum_and_scaled(saved: dict) -> None:
    """The checksum key removed, the largest trainable tensor scaled by 1000."""
    del saved[CHECKSUM_KEY]
    name = max(saved["state_dict"], key=lambda n: saved["state_dict"][n].numel())
    saved["state_dict"][name] *= 1000


def as_format_1(saved: dict) -> None:
    """What checkpoints were before the data order's epoch was saved: no format, a checksum."""
    del saved[CHECKSUM_KEY], saved[FORMAT_KEY]
    saved[CHECKSUM_KEY] = checkpoint_digest(saved)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (without_checksum_and_scaled, rf"it carries no checksum \({CHECKSUM_KEY}\)"),
        (as_format_1, r"it was written in checkpoint format 1, this bailong reads format 2"),
    ],
    ids=["no-checksum", "format-1"],
)
def test_a_checkpoint_that_cannot_be_verified_is_refused_naming_the_file(
    finished_run: Path,
    tmp_path: Path,
    change,
    problem: str,  # type: ignore[no-untyped-def]
) -> None:
    run, last = copy_of(finished_run, tmp_path)
    edited(last, change)
    with pytest.raises(CheckpointReadError, match=rf"cannot resume from {last}: {problem}"):
        resume(run)


def test_a_checkpoint_from_another_config_is_refused_naming_the_file(
    finished_run: Path, tmp_path: Path
) -> None:
    run, last = copy_of(finished_run, tmp_path)
    with pytest.raises(
        CheckpointReadError, match=rf"{last}: .*other model/lora/tokenizer .*resized"
    ):
        resume(run, "lora=r16")


def test_a_first_save_killed_midway_leaves_no_temp_file_behind(tmp_path: Path) -> None:
    """No last.ckpt yet (the first save was killed): the fresh start still cleans up."""
    ckpts = tmp_path / "checkpoints"
    ckpts.mkdir()
    leftover = ckpts / ".last.ckpt.k2j4h1.tmp"
    leftover.write_bytes(b"")
    cfg = train_settings(tmp_path, [*RUN, "trainer.max_steps=1", "ckpt_path=last"])
    train(cfg, RunContext(output_dir=tmp_path))
    assert not leftover.exists()
    assert torch.load(ckpts / "last.ckpt", weights_only=True)["global_step"] == 1


@pytest.mark.parametrize("how", ["copied", "moved"])
def test_a_copied_or_moved_run_resumes_from_and_updates_its_own_last_checkpoint(
    finished_run: Path, tmp_path: Path, how: str
) -> None:
    source = tmp_path / "original"
    shutil.copytree(finished_run, source)
    run = tmp_path / "elsewhere" / "run"
    (shutil.copytree if how == "copied" else shutil.move)(source, run)
    resume(run)  # keep=2: steps 3 and 6 were kept, step 9 now replaces step 3
    ckpts = run / "checkpoints"
    kept = sorted(p.name for p in ckpts.glob("*.ckpt"))
    assert kept == ["last.ckpt", "step-000006.ckpt", "step-000009.ckpt"]
    assert torch.load(ckpts / "last.ckpt", weights_only=True)["global_step"] == 9
