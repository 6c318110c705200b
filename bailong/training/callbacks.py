"""Callbacks from config: atomic step checkpoints with a ``last.ckpt``, RNG state, held-out
bits per character, progress bar.

Disk: each checkpoint holds every trainable tensor and its two Adam moments, so with an
extended vocabulary and trainable embeddings even a tiny run's file is large (182 MB at
59,241 tokens). By default only ``last.ckpt`` is kept (rewritten every N steps, what a resume
reads); ``keep`` adds that many ``step-*.ckpt`` files, ``best`` a ``best.ckpt`` by a metric."""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch.callbacks import Callback, RichProgressBar, TQDMProgressBar

from bailong.core.progress import on_terminal
from bailong.training.config import CallbacksConfig
from bailong.training.heldout_bpc import HeldoutBpcCallback
from bailong.training.line_progress_bar import LineProgressBar
from bailong.training.relocatable_checkpoint import RelocatableCheckpoint
from bailong.training.rng_state import RngStateCallback
from bailong.training.sigterm import CheckpointOnSigterm

BEST_NAME = "best"  # checkpoints/best.ckpt with callbacks.checkpoint.best


def checkpoint_dir(output_dir: Path) -> Path:
    return output_dir / "checkpoints"


def build_callbacks(cfg: CallbacksConfig, output_dir: Path) -> list[Callback]:
    callbacks: list[Callback] = []
    if cfg.checkpoint.enabled:
        callbacks.append(RngStateCallback())
        callbacks.append(CheckpointOnSigterm(checkpoint_dir(output_dir)))
        callbacks.append(
            RelocatableCheckpoint(
                dirpath=str(checkpoint_dir(output_dir)),
                filename="step-{step:06d}",
                auto_insert_metric_name=False,
                every_n_train_steps=cfg.checkpoint.every_n_train_steps,
                save_top_k=cfg.checkpoint.keep,
                monitor="step",
                mode="max",
                save_last=True,
                save_on_train_epoch_end=True,
            )
        )
        if cfg.checkpoint.best:
            callbacks.append(
                RelocatableCheckpoint(
                    dirpath=str(checkpoint_dir(output_dir)),
                    filename=BEST_NAME,
                    auto_insert_metric_name=False,
                    monitor=cfg.checkpoint.best,
                    mode="min",
                    save_top_k=1,
                    save_on_train_epoch_end=False,  # after each validation, when val/* is new
                )
            )
    if cfg.heldout_bpc.enabled:
        callbacks.append(HeldoutBpcCallback(cfg.heldout_bpc))
    bar = cfg.progress_bar
    if bar == "auto":  # a live bar on a terminal, plain lines in a redirected log
        bar = "tqdm" if on_terminal() else "lines"
    if bar == "rich":
        callbacks.append(RichProgressBar())
    elif bar == "tqdm":
        callbacks.append(TQDMProgressBar(refresh_rate=1))
    elif bar == "lines":
        callbacks.append(LineProgressBar())
    return callbacks
