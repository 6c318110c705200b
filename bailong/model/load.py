"""Load the base causal LM, optionally quantized to 4-bit NF4 with bitsandbytes.

There is one loading path: a hub name or local directory goes to ``from_pretrained`` with a
``BitsAndBytesConfig``. A model described only by a config (tests, CPU smoke runs)
is first built with seeded random weights and saved to a cache directory, then loaded through
that same path, so tiny runs exercise exactly the code a 7B run uses. ``model.config.model_type``
picks the family of such a model (default ``llama``; ``qwen2``, ``mistral``, ``gemma``, ...).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, BitsAndBytesConfig, PreTrainedModel

from bailong.core.cache_entries import discard, publish, usable_model_dir
from bailong.core.paths import looks_local
from bailong.model.architecture import DEFAULT_MODEL_TYPE, random_model
from bailong.model.config import ModelConfig, QuantizationConfig
from bailong.model.cpu_4bit import use_portable_4bit_kernel


def torch_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def bnb_config(q: QuantizationConfig) -> BitsAndBytesConfig | None:
    """QLoRA's storage: NF4 weights, double-quantized constants; embeddings/head stay full."""
    if not q.enabled:
        return None
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=q.quant_type,
        bnb_4bit_use_double_quant=q.double_quant,
        bnb_4bit_compute_dtype=torch_dtype(q.compute_dtype),
        bnb_4bit_quant_storage=getattr(torch, q.quant_storage),
        llm_int8_skip_modules=list(q.skip_modules),
    )


def materialize_random_model(config: dict, vocab_size: int, seed: int, cache_dir: Path) -> Path:
    """Save a seeded random model for ``config`` once (cached by content); return its dir.

    The seeding happens on a forked RNG: a job that happens to build the cache must draw the
    same LoRA init and dropout masks afterwards as a job that finds it already built.
    """
    spec = {**config, "vocab_size": vocab_size, "seed": seed}
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    family = config.get("model_type", DEFAULT_MODEL_TYPE)
    target = cache_dir / "models" / f"{family}-random-{key}"
    if usable_model_dir(target):
        return target
    if target.exists():
        discard(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = random_model(config, vocab_size)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    try:
        model.save_pretrained(tmp)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    publish(tmp, target, usable_model_dir)  # concurrent sweep jobs never see half a model
    return target


def load_base_model(
    model_cfg: ModelConfig, quant_cfg: QuantizationConfig, vocab_size: int, cache_dir: Path
) -> PreTrainedModel:
    """The base model on CPU (4-bit when quantization is enabled), ready for resizing/LoRA."""
    source = model_cfg.name_or_path or str(
        materialize_random_model(model_cfg.config, vocab_size, model_cfg.seed, cache_dir)
    )
    if looks_local(source) and not Path(source).expanduser().exists():
        raise FileNotFoundError(
            f"model.name_or_path={source!r}: no such directory (a cached base is built by an "
            "earlier run, e.g. the study's base experiment)"
        )
    quantization = bnb_config(quant_cfg)
    model = AutoModelForCausalLM.from_pretrained(
        source,
        quantization_config=quantization,
        dtype=torch_dtype(model_cfg.dtype),
        attn_implementation=model_cfg.attn_implementation,
        trust_remote_code=model_cfg.trust_remote_code,
        device_map="cpu" if quantization is not None and not torch.cuda.is_available() else None,
    )
    model.config.use_cache = False
    if model_cfg.liger_kernel:
        from bailong.model.fused_kernels import apply_liger

        apply_liger(model)
    if quantization is not None:
        use_portable_4bit_kernel(model)  # same gradients and numbers on every CPU
    return model
