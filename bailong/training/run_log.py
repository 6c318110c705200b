"""Log lines that say what a training run is about to do: which embedding initialization ran
on how many rows, and how much disk its checkpoints will take. They go to the console and, in
a Hydra job, to ``<run dir>/<task>.log`` beside the metrics."""

from __future__ import annotations

import logging

import torch

from bailong.embeddings.extend import ExtensionReport
from bailong.training.config import CheckpointConfig

log = logging.getLogger("bailong.train")
ADAM_MOMENTS = 2  # AdamW keeps two tensors per trainable tensor, in its dtype


def log_sample_extension(original: str, extended: str) -> None:
    log.info(
        "tokenizer=sample_extended: original tokenizer %s, extended with the Chinese pieces of "
        "the data files: %s",
        original,
        extended,
    )


def log_vocabulary(report: ExtensionReport | None, rows: int) -> None:
    if report is None:
        log.info("embedding_init=none: vocabulary not extended (%d embedding rows)", rows)
        return
    pieces = (
        f", {report.mean_pieces:.2f} original pieces per new token" if report.mean_pieces else ""
    )
    log.info(
        "embedding_init=%s: %d rows kept, %d new token rows + %d padding rows initialized "
        "(%d in all) in %.1f s%s",
        report.method,
        report.num_old,
        report.num_new_tokens,
        report.num_padding,
        report.num_rows,
        report.seconds,
        pieces,
    )


def checkpoint_bytes(model: torch.nn.Module) -> int:
    """About the size of one checkpoint: the trainable tensors and their AdamW moments."""
    trainable = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    return trainable * (1 + ADAM_MOMENTS)


def log_checkpoint_plan(model: torch.nn.Module, cfg: CheckpointConfig) -> None:
    if not cfg.enabled:
        log.info("checkpoints off (callbacks.checkpoint.enabled=false)")
        return
    files = 1 + cfg.keep + (1 if cfg.best else 0)
    extra = f" + {cfg.keep} step-*.ckpt" if cfg.keep else ""
    extra += f" + best.ckpt by {cfg.best}" if cfg.best else ""
    log.info(
        "checkpoints: last.ckpt%s, about %.0f MB each (%.0f MB at most), written every %d steps",
        extra,
        checkpoint_bytes(model) / 1e6,
        files * checkpoint_bytes(model) / 1e6,
        cfg.every_n_train_steps,
    )
