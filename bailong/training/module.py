"""The LightningModule: a (4-bit, LoRA-wrapped) causal LM trained on next-token loss.

It logs what the users compare across sweeps: ``train/loss`` every step against
``train/tokens_seen``, the learning rate, and validation loss (a validation pass before the
first update gives the step-0 loss). Checkpoints hold only the trainable tensors (adapters and
any trainable embedding/head copies) plus optimizer, scheduler and data position, never the
frozen 4-bit base, so they stay small and resume exactly.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.types import OptimizerLRSchedulerConfig
from peft import PeftModel
from transformers import PreTrainedModel

from bailong.training.checkpoint_io import CheckpointReadError
from bailong.training.config import NonFinitePolicy, OptimConfig
from bailong.training.optim import build_optimizer, build_scheduler

log = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""


class NonFiniteWeightsError(RuntimeError):
    """A trainable tensor became NaN or infinite: such weights are never saved."""


class CausalLMModule(L.LightningModule):
    def __init__(self, model: PeftModel | PreTrainedModel, optim: OptimConfig) -> None:
        super().__init__()
        self.model = model
        self.optim_cfg = optim
        self.tokens_seen = 0
        self.skipped_batches = 0
        self.batches_in_step = 0  # finite-loss micro-batches since the last optimizer step
        # The checkpoint omits frozen base weights, which the model already holds.
        self.strict_loading = False

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """Exactly the tensors that train (LightningModule naming, as in checkpoints)."""
        names = {n for n, p in self.named_parameters() if p.requires_grad}
        return {k: v for k, v in self.state_dict().items() if k in names}

    def check_finite_weights(self, what: str) -> None:
        """Raise before ``what`` is saved when a trainable tensor holds NaN or inf (a run whose
        every batch was then skipped as non-finite would otherwise end "successfully")."""
        bad = [k for k, v in self.trainable_state_dict().items() if not torch.isfinite(v).all()]
        if bad:
            raise NonFiniteWeightsError(
                f"{len(bad)} trainable tensors (e.g. {bad[:3]}) are NaN or infinite at global "
                f"step {self.global_step} ({self.skipped_batches} batches skipped as non-finite "
                f"so far); {what} was not saved: lower optim.lr or check the data"
            )

    def on_fit_start(self) -> None:
        """Every module trains: ``from_pretrained`` returns the model in ``eval()``, and Lightning
        (>= 2.2) keeps each submodule's mode at ``fit``. A Hugging Face model in eval mode skips
        gradient checkpointing (it checks ``self.training``): 28.7 instead of 10.3 GiB at 7B,
        sequence 2,048. Validation restores the modes it found, so they stay in training mode."""
        self.train()

    def forward(self, **batch: torch.Tensor) -> Any:
        return self.model(**batch)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self(**batch).loss
        # Packed SFT rows carry position_ids and no attention_mask: every position is a token.
        mask = batch.get("attention_mask")
        n_tokens = int(mask.sum()) if mask is not None else batch["input_ids"].numel()
        mean_loss, all_tokens = self.across_ranks(loss, n_tokens)
        if not math.isfinite(mean_loss):
            # Decided on the mean over ranks, so under DDP every rank stops or skips together
            # (a rank skipping its backward alone would leave the others waiting forever).
            if self.optim_cfg.on_nonfinite_loss is NonFinitePolicy.stop:
                raise NonFiniteLossError(
                    f"training loss is {mean_loss} at global step {self.global_step} "
                    f"(batch {batch_idx}); set optim.on_nonfinite_loss=skip to skip such batches"
                )
            self.skipped_batches += 1
            log.warning(
                "training loss is %s at global step %d (batch %d): batch skipped, %d so far",
                mean_loss,
                self.global_step,
                batch_idx,
                self.skipped_batches,
            )
            self.log("train/skipped_batches", float(self.skipped_batches))
            # Log the bad value itself: otherwise the step would show the previous step's loss.
            self.log("train/loss", mean_loss, prog_bar=True)
            return self.loss_without_gradient()
        self.batches_in_step += 1
        self.tokens_seen += all_tokens
        self.log("train/loss", mean_loss, prog_bar=True)
        self.log("train/tokens_seen", float(self.tokens_seen))
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"])
        return loss

    def loss_without_gradient(self) -> torch.Tensor:
        """What a skipped batch returns: a loss whose backward adds exactly zero to every
        trainable gradient. Lightning refuses a ``None`` from ``training_step`` under DDP, and
        the backward still lets DDP's gradient all-reduce run on every rank."""
        trainable = [p for p in self.parameters() if p.requires_grad]
        return torch.stack([p.sum() for p in trainable]).sum() * 0.0

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """A step whose micro-batches were all skipped leaves the weights alone: without
        gradients the optimizer skips every parameter (at zero gradient AdamW would still move
        them with its momentum and weight decay)."""
        if self.batches_in_step == 0:
            optimizer.zero_grad(set_to_none=True)
        self.batches_in_step = 0

    def across_ranks(self, loss: torch.Tensor, n_tokens: int) -> tuple[float, int]:
        """The loss averaged over the data-parallel ranks and the tokens they saw together.

        One all-reduce per micro-batch (a no-op in a single process). Ranks may see different
        token counts (padded SFT batches), so the count is summed, not multiplied.
        """
        local = torch.tensor([loss.item(), n_tokens], dtype=torch.float64, device=loss.device)
        total = self.trainer.strategy.reduce(local, reduce_op="sum")
        return float(total[0]) / self.trainer.world_size, int(total[1])

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self(**batch).loss
        batch_size = batch["input_ids"].shape[0]
        self.log("val/loss", loss, prog_bar=True, batch_size=batch_size, sync_dist=True)
        return loss

    def on_validation_epoch_end(self) -> None:
        # Lets val curves share the tokens axis with train curves (W&B define_metric).
        self.log("val/tokens_seen", float(self.tokens_seen))
        loss = self.trainer.callback_metrics.get("val/loss")
        if loss is not None:
            self.log("val/ppl", math.exp(min(float(loss), 50.0)))

    def configure_optimizers(self) -> OptimizerLRSchedulerConfig:
        params = [p for p in self.parameters() if p.requires_grad]
        optimizer = build_optimizer(params, self.optim_cfg)
        total = self.optim_cfg.schedule_steps or int(self.trainer.estimated_stepping_batches)
        scheduler = build_scheduler(optimizer, self.optim_cfg, total)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.check_finite_weights("the checkpoint")
        checkpoint["state_dict"] = self.trainable_state_dict()
        checkpoint["bailong"] = {
            "tokens_seen": self.tokens_seen,
            "skipped_batches": self.skipped_batches,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        own = self.trainable_state_dict()
        saved = checkpoint["state_dict"]
        missing, unexpected = sorted(set(own) - set(saved))[:5], sorted(set(saved) - set(own))[:5]
        resized = [
            f"{k}: {tuple(saved[k].shape)} saved, {tuple(v.shape)} here"
            for k, v in own.items()
            if k in saved and saved[k].shape != v.shape
        ][:3]
        if missing or unexpected or resized:
            raise CheckpointReadError(
                Path(str(self.trainer.ckpt_path)),
                "it was saved with other model/lora/tokenizer settings than this config's "
                f"(missing e.g. {missing}, unexpected e.g. {unexpected}, resized e.g. {resized}); "
                "resume with the settings it was saved with",
            )
        state = checkpoint.get("bailong", {})
        self.tokens_seen = int(state.get("tokens_seen", 0))
        self.skipped_batches = int(state.get("skipped_batches", 0))
