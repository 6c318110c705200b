"""Reload a trained run (base + extended tokenizer + adapter) for evaluation, chat and export.

A run's ``adapter/`` directory holds the peft adapter (LoRA weights plus the trainable
``embed_tokens``/``lm_head`` copies), the tokenizer, and ``bailong_run.json``: the model and
quantization settings of the base it was trained on. Reloading rebuilds that exact base,
grows its embedding to the tokenizer's size when the vocabulary was extended (the new rows
are then overwritten by the saved embedding copies, so their initial values do not matter),
and attaches the adapter (peft #1300/#1457: resize first, then ``from_pretrained``).

A plain Hugging Face model directory (an exported model, or a base model to compare with)
loads as it is, so every app compares trained and untrained models through one function.

A run directory may come from someone else: ``bailong.training.run_record`` says what of its
record is trusted (nothing that runs code, chooses where we write or sizes what we build).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from bailong.core.checks import ConfigError
from bailong.core.paths import user_cache_dir
from bailong.core.run_files import ADAPTER_DIR
from bailong.embeddings.resize import input_embedding_layer, resize_to
from bailong.model.config import QuantizationConfig
from bailong.model.load import load_base_model, torch_dtype
from bailong.training.run_record import RunRecord


@dataclass
class LoadedModel:
    model: PreTrainedModel | PeftModel
    tokenizer: PreTrainedTokenizerBase
    chat_template: str  # llama2 | tokenizer
    source: Path
    is_adapter: bool


def find_adapter_dir(path: Path) -> Path | None:
    """``path`` itself or its ``adapter/`` subfolder when it holds a peft adapter."""
    for candidate in (path, path / ADAPTER_DIR):
        if (candidate / "adapter_config.json").is_file():
            return candidate
    return None


def _quantization(
    record: RunRecord, quantize: bool | None, dtype: str | None
) -> QuantizationConfig:
    quant = dataclasses.replace(record.quantization)
    if quantize is not None:
        quant.enabled = quantize
    if quant.enabled and not torch.cuda.is_available() and quant.compute_dtype == "float16":
        quant.compute_dtype = "float32"  # 4-bit fp16 compute does not run on CPU
    if dtype is not None and not quant.enabled:
        quant.compute_dtype = dtype
    return quant


def load_base_for_run(
    adapter_dir: Path,
    tokenizer_size: int,
    *,
    quantize: bool | None = None,
    dtype: str | None = None,
    cache_dir: Path | None = None,
    trust_remote_code: bool = False,
) -> PreTrainedModel:
    """The run's base model, resized to ``tokenizer_size`` rows when the vocabulary grew.

    ``trust_remote_code`` is the caller's own choice (a command-line flag), never the record's;
    a base built from the record's config is cached in ``cache_dir`` or the user's own cache.
    """
    record = RunRecord.read(adapter_dir)
    record.check_sizes(adapter_dir, tokenizer_size)
    # training kernels stay off: eval, chat and export run anywhere, CPUs included
    model_cfg = dataclasses.replace(
        record.model, trust_remote_code=trust_remote_code, liger_kernel=False
    )
    if dtype is not None:
        model_cfg.dtype = dtype
    quant = _quantization(record, quantize, dtype)
    cache = cache_dir or user_cache_dir()
    base = load_base_model(model_cfg, quant, record.base_vocab_size, cache)
    rows = input_embedding_layer(base).num_embeddings
    if record.extended:  # grown exactly as training grew it (padding rows included)
        resize_to(base, max(tokenizer_size, rows), record.pad_to_multiple_of)
    elif rows < tokenizer_size:
        # mean_resizing=False: the adapter's saved embedding/head rows replace these rows.
        base.resize_token_embeddings(tokenizer_size, mean_resizing=False)
    return base


def load_trained(
    path: str | Path,
    *,
    quantize: bool | None = None,
    dtype: str | None = None,
    cache_dir: Path | None = None,
    trust_remote_code: bool = False,
) -> LoadedModel:
    """A run dir, its ``adapter/`` dir, or a plain HF model dir → model (eval mode) + tokenizer.

    ``quantize`` None keeps the run's 4-bit setting; False loads the base unquantized in
    ``dtype`` (the run's model dtype when None). ``trust_remote_code`` comes from the user
    running the app; a run's saved settings never turn it on.
    """
    source = Path(path).expanduser()
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such run, adapter or model directory")
    adapter_dir = find_adapter_dir(source)
    if adapter_dir is None:
        if not (source / "config.json").is_file():
            raise ConfigError(
                f"{source} holds neither a peft adapter (adapter_config.json, also looked in "
                f"{ADAPTER_DIR}/) nor a Hugging Face model (config.json)"
            )
        tokenizer = AutoTokenizer.from_pretrained(str(source), trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(
            str(source),
            dtype=torch_dtype(dtype) if dtype else "auto",
            trust_remote_code=trust_remote_code,
        )
        template = "tokenizer" if getattr(tokenizer, "chat_template", None) else "llama2"
        return LoadedModel(_ready(model, tokenizer), tokenizer, template, source, False)
    tokenizer = AutoTokenizer.from_pretrained(str(adapter_dir), trust_remote_code=trust_remote_code)
    base = load_base_for_run(
        adapter_dir,
        len(tokenizer),
        quantize=quantize,
        dtype=dtype,
        cache_dir=cache_dir,
        trust_remote_code=trust_remote_code,
    )
    adapted = PeftModel.from_pretrained(base, str(adapter_dir), is_trainable=False)
    record = RunRecord.read(adapter_dir)
    return LoadedModel(
        _ready(adapted, tokenizer), tokenizer, record.chat_template, adapter_dir, True
    )


def _ready(model: Any, tokenizer: PreTrainedTokenizerBase) -> Any:
    """Eval mode, KV cache on (training turned it off), and a pad token for batching."""
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    model.config.use_cache = True
    return model
