"""The initializers' names, for code that must not import them.

``bailong.embeddings.registry`` maps these names to functions and imports torch (seconds);
validating a config needs only the names. A leaf: it imports nothing, and
tests/test_startup.py keeps it equal to the registry.
"""

INIT_METHOD_NAMES = (
    "zip_tie", "subword_mean", "mean", "mean_cov", "random", "zeros", "piece_logprob",
    "token_distillation",
)  # fmt: skip
