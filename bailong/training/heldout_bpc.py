"""Bits per character on the run's held-out documents, logged during training.

``val/loss`` is a per-token mean over packed blocks whose text depends on the tokenizer (the
mix draws token shares, and an extended tokenizer spends fewer tokens on Chinese), so two runs
with different vocabularies validate on different text in different units. This callback
scores the SAME characters for any tokenizer: the first ``max_chars_per_source`` characters
of each source's validation documents (the per-document seeded split, so never trained on),
and logs ``heldout/<source>/bpc`` and the pooled ``heldout/bpc`` against
``train/tokens_seen``, at step 0 (before any update) and every ``every_n_train_steps``.
"""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from bailong.data.config import DataConfig
from bailong.data.datamodule import CausalLMDataModule
from bailong.data.sources import SourceStats, configured_sources, documents
from bailong.eval.perplexity import TextScore, score_documents
from bailong.training.config import HeldoutBpcConfig


def heldout_texts(cfg: DataConfig, seed: int, max_chars: int) -> dict[str, list[str]]:
    """Per source, validation documents (in source order) cut to ``max_chars`` in total."""
    texts: dict[str, list[str]] = {}
    for src in configured_sources(cfg):
        out, budget = [], max_chars
        for _, doc in documents(src, cfg, SourceStats(), "val", seed):
            out.append(doc[:budget])
            budget -= len(out[-1])
            if budget <= 0:
                break
        if out:
            texts[src.name] = out
    return texts


def _datamodule(trainer: L.Trainer) -> CausalLMDataModule:
    """The run's data module (its settings, seed and tokenizer)."""
    # set on the trainer by Lightning's data connector; the Trainer class does not declare it
    return trainer.datamodule  # type: ignore[attr-defined]


class HeldoutBpcCallback(Callback):
    def __init__(self, cfg: HeldoutBpcConfig) -> None:
        self.cfg = cfg
        self.texts: dict[str, list[str]] = {}
        self.last_step = -1

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        data = _datamodule(trainer)
        self.texts = heldout_texts(data.cfg, data.seed, self.cfg.max_chars_per_source)
        if not self.texts:
            raise ValueError("callbacks.heldout_bpc: the run has no validation documents")
        if trainer.global_step == 0:
            self.score(trainer, pl_module)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *_) -> None:
        if trainer.global_step % self.cfg.every_n_train_steps == 0:
            self.score(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.score(trainer, pl_module)

    def score(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.global_step == self.last_step or not trainer.is_global_zero:
            return
        self.last_step = trainer.global_step
        data = _datamodule(trainer)
        tokenizer = data.tokenizer
        block = self.cfg.block_size or data.cfg.block_size
        model = pl_module.model
        assert isinstance(model, torch.nn.Module), "the LightningModule's model is a submodule"
        was_training = pl_module.training
        pl_module.eval()
        metrics, total = {}, TextScore()
        with torch.no_grad():
            for name, docs in self.texts.items():
                score = score_documents(model, tokenizer, docs, block, batch_size=8)
                metrics[f"heldout/{name}/bpc"] = score.as_dict()["bits_per_char"]
                total.add(score)
        metrics["heldout/bpc"] = total.as_dict()["bits_per_char"]
        metrics["train/tokens_seen"] = float(getattr(pl_module, "tokens_seen", 0))
        # the step convention of val/loss: after N updates, step N - 1 (0 before any update)
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=max(trainer.global_step - 1, 0))
        pl_module.train(was_training)
