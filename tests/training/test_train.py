"""End to end on CPU: the default job, its metrics, checkpoints, adapter and resume."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import torch
from safetensors.torch import load_file

from bailong.training.run import RunContext, train
from tests.support.helpers import train_settings

FAST = [
    "trainer.max_steps=6",
    "trainer.val_check_interval=3",
    "callbacks.checkpoint.every_n_train_steps=3",
    "callbacks.progress_bar=none",
    "data.block_size=64",
    "data.batch_size=4",
]


def read_metrics(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "csv" / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def column(rows: list[dict[str, str]], key: str) -> list[tuple[int, float]]:
    return [(int(r["step"]), float(r[key])) for r in rows if r.get(key)]


def test_fast_dev_run_of_the_default(tmp_path: Path) -> None:
    cfg = train_settings(tmp_path, ["debug=fast_dev_run", "callbacks.progress_bar=none"])
    metrics = train(cfg, RunContext(output_dir=tmp_path))
    assert math.isfinite(metrics["train/loss"])


def test_short_run_logs_step0_loss_falls_and_checkpoints(tmp_path: Path) -> None:
    cfg = train_settings(tmp_path, [*FAST, "trainer.max_steps=12"])
    train(cfg, RunContext(output_dir=tmp_path))
    rows = read_metrics(tmp_path)
    val = column(rows, "val/loss")
    assert val[0][0] == 0, "a validation loss before any update is logged at step 0"
    assert val[-1][1] < val[0][1], f"validation loss did not fall: {val}"
    train_loss = column(rows, "train/loss")
    assert [s for s, _ in train_loss] == list(range(12))
    tokens = column(rows, "train/tokens_seen")
    assert tokens[-1][1] == 12 * 4 * 64
    ckpts = sorted((tmp_path / "checkpoints").glob("*.ckpt"))
    assert ckpts == [tmp_path / "checkpoints" / "last.ckpt"], "by default only last.ckpt is kept"
    assert not list((tmp_path / "checkpoints").glob(".*.tmp")), "no temp files left behind"


def test_checkpoint_and_adapter_hold_exactly_the_trainable_tensors(tmp_path: Path) -> None:
    cfg = train_settings(tmp_path, FAST)
    train(cfg, RunContext(output_dir=tmp_path))
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    keys = set(ckpt["state_dict"])
    assert keys and all(("lora_" in k) or ("modules_to_save" in k) for k in keys)
    assert not any("base_layer" in k for k in keys), "the frozen 4-bit base is not saved"
    assert {"optimizer_states", "lr_schedulers", "loops"} <= set(ckpt)
    assert ckpt["bailong"]["tokens_seen"] == 6 * 4 * 64
    n_layers = cfg.model.config["num_hidden_layers"]
    assert len([k for k in keys if "lora_A" in k]) == 7 * n_layers
    assert len([k for k in keys if "modules_to_save" in k]) == 2
    adapter = load_file(tmp_path / "adapter" / "adapter_model.safetensors")
    assert len(adapter) == len(keys)
    assert any("embed_tokens" in k for k in adapter) and any("lm_head" in k for k in adapter)
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()


def test_resume_continues_the_same_steps_and_losses(tmp_path: Path) -> None:
    """Stopping at step 3 and resuming from its checkpoint reproduces steps 3..5 exactly.

    Dropout is on, so this also checks that the RNG streams are restored.
    """
    full_dir, part_dir = tmp_path / "full", tmp_path / "part"
    same = [*FAST, "optim.schedule_steps=6", "lora.dropout=0.1"]
    train(train_settings(full_dir, same), RunContext(output_dir=full_dir))
    train(train_settings(part_dir, [*same, "trainer.max_steps=3"]), RunContext(part_dir))
    resumed = train_settings(part_dir, [*same, "ckpt_path=last"])
    train(resumed, RunContext(output_dir=part_dir))
    full = column(read_metrics(full_dir), "train/loss")
    part = column(read_metrics(part_dir), "train/loss")
    assert [s for s, _ in part] == list(range(6))
    for (s_full, l_full), (s_part, l_part) in zip(full, part, strict=True):
        assert s_full == s_part
        assert l_full == l_part, f"step {s_full}: {l_full} vs resumed {l_part}"
