"""Library messages we have checked and found harmless, silenced where they arise.

Each entry matches one message by its text (and the library that emits it) and says why it is
safe to hide, so anything new or different still shows. Applied by the command-line apps
(``silence_known_noise``); the library functions themselves change no global state. Not
silenced, on purpose: torch's "bitsandbytes::gemv_4bit: an autograd kernel was not registered"
warning, which flags 4-bit weights repacked for inference being used in training.
"""

from __future__ import annotations

import logging
import sys
import warnings

# (message regex, category, module regex, why it is harmless)
KNOWN_WARNINGS: list[tuple[str, type[Warning], str, str]] = [
    (
        r"`is_gradient_checkpointing` is deprecated",
        FutureWarning,
        r"transformers\.",
        "peft reads the old attribute name inside its own wrapper; nothing of ours calls it",
    ),
    (
        r"'set_vital' is deprecated",
        UserWarning,
        r"torchdata\.",
        "torchdata's StatefulDataLoader calls a deprecated torch telemetry hook internally",
    ),
    (
        r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        Warning,
        r"lightning\.",
        "Lightning's own use of a torch.utils._pytree API renamed in torch 2.13",
    ),
    (
        r"MatmulLtState\.\w+ is deprecated",
        FutureWarning,
        r"bitsandbytes\.",
        "bitsandbytes warns on its own attribute reads (kept for TGI/vLLM), once per layer",
    ),
]

# logger name → (text in the message, why it is harmless)
KNOWN_LOG_RECORDS: dict[str, tuple[str, str]] = {
    "bitsandbytes.backends.cpu.ops": (
        "from kernels-community",
        "optional faster CPU kernels from the `kernels` package; bitsandbytes falls back to its "
        "own CPU kernels, which our tests check",
    ),
    "lightning.pytorch.utilities.rank_zero": (
        "Tip: For seamless cloud logging",
        "an advertisement for another logger",
    ),
}


class _DropMessage(logging.Filter):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def silence_known_noise() -> None:
    """Install the filters above; call before importing the libraries (some warn at import).
    A redirected log also gets no library live bars (``bailong.core.progress``)."""
    from bailong.core.progress import library_bars_off_when_redirected  # no library imported

    library_bars_off_when_redirected()
    for message, category, module, _why in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
    for name, (text, _why) in KNOWN_LOG_RECORDS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropMessage) and f.text == text for f in logger.filters):
            logger.addFilter(_DropMessage(text))


def route_lightning_logs_through_root() -> None:
    """Print each Lightning log line once under a Hydra job (call after importing lightning).

    Lightning adds its own console handler at import and still propagates to the root logger,
    whose Hydra handlers write the console and ``<task>.log``: every line printed twice.
    """
    if "lightning" not in sys.modules or not logging.getLogger().handlers:
        return
    lightning_logger = logging.getLogger("lightning")
    for handler in list(lightning_logger.handlers):
        if type(handler) is logging.StreamHandler:
            lightning_logger.removeHandler(handler)
