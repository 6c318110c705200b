"""Names of files a job leaves in its output dir, shared by the job wrapper that writes them
and the readers (``bailong-compare``) that must not import the training stack to find them."""

FAILED_MARKER = "FAILED"  # the traceback of a job that raised
