"""Up-front checks of a train config against this machine and the model's source.

``validate_train_config`` runs the value checks and these, and reports every problem found in
one error, so a paper config on a laptop says at once that there is no GPU, that paged
optimizers need one, that bf16 autocast is not for CPU runs and that the weights are not
there — instead of one problem per attempt, the last after a minute of hub retries.

Model and tokenizer sources: a local-looking name (``bailong.core.paths.looks_local``:
absolute, ``./``, ``~``, more than one ``/``, or under an existing directory) that does not
exist is an error before anything loads. A ``org/name`` hub id not in the Hugging Face cache
is an error when ``HF_HUB_OFFLINE`` is set (no network is tried), else it is looked up once
on the hub (one request, 10 s timeout, no retries) so a missing or unreachable model fails
here rather than in ``from_pretrained``.
Nothing here imports torch on a CPU-only install (that import alone costs seconds).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from functools import cache
from pathlib import Path

from bailong.core.checks import collect, problem
from bailong.core.paths import looks_local
from bailong.model.config import check_cpu_4bit_shapes
from bailong.training.config import TrainConfig

HUB_TIMEOUT_S = 10.0
TRUE_VALUES = {"1", "ON", "YES", "TRUE"}  # how huggingface_hub reads its boolean variables
HALF_PRECISIONS = {"bf16", "bf16-mixed", "bf16-true", "16", "16-mixed", "16-true", "half"}


def cuda_available() -> bool:
    """Whether a CUDA GPU is usable, without importing torch when the wheel is a CPU build."""
    try:
        version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return False
    if version.endswith("+cpu"):
        return False
    import torch

    return torch.cuda.is_available()


def device_problems(cfg: TrainConfig) -> list[str]:
    """Set-ups this machine cannot run (or should not: bf16 autocast on CPU)."""
    found = []
    accelerator = str(cfg.trainer.get("accelerator", "auto"))
    on_cpu = accelerator == "cpu" or not cuda_available()
    if accelerator in ("gpu", "cuda") and on_cpu:
        found.append(
            problem("trainer.accelerator", accelerator, "no CUDA GPU is visible; use trainer=cpu")
        )
    if cfg.optim.name.startswith("paged") and on_cpu:
        found.append(
            problem(
                "optim.name", cfg.optim.name, "paged optimizers need a CUDA GPU; use 'adamw' on CPU"
            )
        )
    if on_cpu and cfg.quantization.enabled:
        found += collect([lambda: check_cpu_4bit_shapes(cfg.model)])
    if on_cpu and cfg.quantization.enabled and cfg.quantization.compute_dtype == "float16":
        found.append(
            problem(
                "quantization.compute_dtype",
                "float16",
                "4-bit float16 compute is unsupported on CPU; use bfloat16 or float32",
            )
        )
    found += liger_problems(cfg.model.liger_kernel, on_cpu)
    precision = str(cfg.trainer.get("precision", "32-true"))
    if on_cpu and precision in HALF_PRECISIONS:
        found.append(
            problem(
                "trainer.precision",
                precision,
                "16-bit autocast is for GPUs; on CPU it is slow or unsupported and the CPU "
                "presets are tested in 32-true. Use trainer.precision=32-true (the 4-bit layers "
                "still compute in quantization.compute_dtype)",
            )
        )
    return found


def liger_problems(wanted: bool, on_cpu: bool) -> list[str]:
    """``model.liger_kernel=true`` needs a CUDA GPU and the optional liger-kernel package."""
    if not wanted:
        return []
    if on_cpu:
        return [
            problem(
                "model.liger_kernel",
                True,
                "Liger Kernel's Triton kernels need a CUDA GPU and no GPU is visible (or "
                "trainer.accelerator=cpu); set model.liger_kernel=false on CPU",
            )
        ]
    if importlib.util.find_spec("liger_kernel") is None:
        return [
            problem(
                "model.liger_kernel",
                True,
                "the liger-kernel package is not installed: pip install 'bailong[gpu]'",
            )
        ]
    return []


def hub_offline() -> bool:
    return any(
        os.environ.get(v, "").upper() in TRUE_VALUES
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


@cache
def hub_lookup(repo_id: str) -> str | None:
    """None when ``repo_id`` exists on the hub (gated counts); else why it cannot be used."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        HfApi().model_info(repo_id, timeout=HUB_TIMEOUT_S)
    except GatedRepoError:
        return None
    except RepositoryNotFoundError:
        return "no such model on the Hugging Face hub (or it is private)"
    except Exception as err:  # network failures come from requests or httpx, version-dependent
        return f"the Hugging Face hub could not be reached ({type(err).__name__}: {err})"
    return None


def in_hub_cache(repo_id: str, filename: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, filename), str)


def source_problems(key: str, name: str | None, cache_file: str) -> list[str]:
    """Whether the model/tokenizer at ``name`` can be loaded without surprises."""
    if name is None or Path(name).expanduser().exists():
        return []
    if looks_local(name):
        return [problem(key, name, "no such file or directory")]
    try:
        if in_hub_cache(name, cache_file):
            return []
    except ValueError as err:  # huggingface_hub's HFValidationError: not a repo id either
        return [problem(key, name, f"no such file or directory, and not a hub id ({err})")]
    local = "not a local directory"
    if hub_offline():
        return [
            problem(
                key, name, f"{local}, and not in the Hugging Face cache while HF_HUB_OFFLINE is set"
            )
        ]
    reason = hub_lookup(name)
    return [] if reason is None else [problem(key, name, f"{local}, and {reason}")]


def train_preflight(cfg: TrainConfig) -> list[str]:
    """Machine and source problems of a train config (after its values are known valid)."""
    model = source_problems("model.name_or_path", cfg.model.name_or_path, "config.json")
    name = cfg.tokenizer.name_or_path
    same_source = name == cfg.model.name_or_path and model  # already reported once
    tokenizer = (
        []
        if same_source
        else source_problems("tokenizer.name_or_path", name, "tokenizer_config.json")
    )
    return device_problems(cfg) + model + tokenizer
