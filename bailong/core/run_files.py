"""Names of files a job leaves in its output dir, shared by the code that writes them (the
training job) and the readers (``bailong-compare``, studies) that must not import the training
stack to find them. A leaf: it imports nothing."""

from pathlib import PurePath

FAILED_MARKER = "FAILED"  # the traceback of a job that raised
METRICS_CSV = PurePath("csv") / "metrics.csv"  # the default CSV logger's rows (logger=csv)
ADAPTER_DIR = "adapter"  # a finished run's adapter, tokenizer and run record
