"""The global batch: what one optimizer step consumes across all data-parallel ranks.

world size (devices × nodes) × micro-batch (``data.batch_size``) × ``accumulate_grad_batches``.
It is logged once as hyperparameters (``hparams.yaml``, the W&B config) and printed, so a run
states what its config implies; ``train/tokens_seen`` then grows by ``global_batch_tokens`` per
step for packed pretraining. Moving from one GPU to N multiplies it by N unless the micro-batch
or the accumulation is divided by N.
"""

from __future__ import annotations

import logging

import lightning as L
from lightning.pytorch.utilities import rank_zero_only

from bailong.data.config import DataConfig

log = logging.getLogger(__name__)


def global_batch(trainer: L.Trainer, data: DataConfig) -> dict[str, int]:
    """The factors of the global batch and its size in sequences (and tokens when packed)."""
    sequences = trainer.world_size * data.batch_size * trainer.accumulate_grad_batches
    values = {
        "world_size": trainer.world_size,
        "micro_batch": data.batch_size,
        "accumulate_grad_batches": trainer.accumulate_grad_batches,
        "global_batch_sequences": sequences,
    }
    if data.kind == "pretrain":  # packed blocks: every sequence is block_size tokens
        values["global_batch_tokens"] = sequences * data.block_size
    return values


def log_global_batch(trainer: L.Trainer, data: DataConfig) -> dict[str, int]:
    values = global_batch(trainer, data)
    for logger in trainer.loggers:
        logger.log_hyperparams(values)
    if rank_zero_only.rank == 0:  # type: ignore[attr-defined]  # set by Lightning, not declared
        tokens = values.get("global_batch_tokens")
        log.info(
            "global batch: %d rank(s) × %d sequences × %d accumulation = %d sequences per "
            "optimizer step%s",
            values["world_size"],
            values["micro_batch"],
            values["accumulate_grad_batches"],
            values["global_batch_sequences"],
            f" ({tokens} tokens)" if tokens else "",
        )
    return values
