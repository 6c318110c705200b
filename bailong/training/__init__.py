"""Training: optimizer/schedule, loggers, callbacks, atomic checkpoints, the train task."""
