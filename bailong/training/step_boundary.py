"""Where a training step ends: after its validation, when one runs after it.

A checkpoint (periodic or on SIGTERM) must hold a state that a resumed run continues from
exactly. Lightning, restoring a checkpoint written at the end of a training batch, counts the
validation due after that batch as done and skips it; a run killed during that validation
lost its ``val/loss`` row for good. Written after the validation (its rows are logged by
then), the checkpoint is one Lightning resumes from without running the validation again,
which is right because it ran.
"""

from __future__ import annotations

import lightning as L


def validation_follows(trainer: L.Trainer) -> bool:
    """Whether the fit loop validates right after the training batch that just ended.

    Asked in ``on_train_batch_end``; the answer is Lightning's own (the epoch loop evaluates
    the same condition after the batch's hooks), so the two cannot disagree.
    """
    epoch_loop = trainer.fit_loop.epoch_loop
    fetcher = trainer.fit_loop._data_fetcher
    return fetcher is not None and epoch_loop._should_check_val_fx(fetcher)
