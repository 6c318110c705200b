"""Reload a trained run (base + extended tokenizer + adapter) for evaluation, chat and export.

A run's ``adapter/`` directory holds the peft adapter (LoRA weights plus the trainable
``embed_tokens``/``lm_head`` copies), the tokenizer, and ``bailong_run.json``: the model and
quantization settings of the base it was trained on. Reloading rebuilds that exact base,
grows its embedding to the tokenizer's size when the vocabulary was extended (the new rows
are then overwritten by the saved embedding copies, so their initial values do not matter),
and attaches the adapter (peft #1300/#1457: resize first, then ``from_pretrained``).

A plain Hugging Face model directory (an exported model, or a base model to compare with)
loads as it is, so every app compares trained and untrained models through one function.

A run directory may come from someone else, so nothing in it may decide to run code:
``trust_remote_code`` from the run record is ignored (only the caller's own flag, e.g.
``bailong-chat --trust-remote-code``, turns it on) and an ``attn_implementation`` other than
the built-in ones (a hub kernel repository would be downloaded and run) is refused.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from peft import PeftModel
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from bailong.config_checks import ConfigError
from bailong.embeddings.resize import resize_to
from bailong.model.config import ModelConfig, QuantizationConfig
from bailong.model.load import load_base_model, torch_dtype
from bailong.training.config import TrainConfig
from bailong.training.redact import redact

RUN_RECORD = "bailong_run.json"
ADAPTER_DIR = "adapter"
# transformers' own attention code; any other value names a kernel repository to download
BUILTIN_ATTENTION = ("eager", "sdpa", "flash_attention_2", "flash_attention_3", "flex_attention")


def write_run_record(adapter_dir: Path, cfg: TrainConfig, base_vocab_size: int) -> Path:
    """Save the training settings beside the adapter; ``base_vocab_size`` is what
    ``load_base_model`` was given (it sizes a random base built from a LlamaConfig)."""
    settings = redact(dataclasses.asdict(cfg))
    record = {"base_vocab_size": base_vocab_size, "train_config": settings}
    path = adapter_dir / RUN_RECORD
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False, default=str), "utf-8")
    return path


@dataclass
class RunRecord:
    """What reloading needs from ``bailong_run.json``."""

    model: ModelConfig
    quantization: QuantizationConfig
    base_vocab_size: int
    cache_dir: Path
    chat_template: str  # how the run rendered conversations: llama2 | tokenizer
    # how the run grew the vocabulary: extended at all, and rounded up to a multiple of what
    extended: bool = False
    pad_to_multiple_of: int | None = None

    @classmethod
    def read(cls, adapter_dir: Path) -> RunRecord:
        path = adapter_dir / RUN_RECORD
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: this adapter was not saved by bailong-train, so its base "
                "model is unknown"
            )
        raw = json.loads(path.read_text("utf-8"))
        train_cfg = raw["train_config"]
        model = OmegaConf.to_object(
            OmegaConf.merge(OmegaConf.structured(ModelConfig), train_cfg["model"])
        )
        quant = OmegaConf.to_object(
            OmegaConf.merge(OmegaConf.structured(QuantizationConfig), train_cfg["quantization"])
        )
        assert isinstance(model, ModelConfig)
        if model.attn_implementation not in BUILTIN_ATTENTION:
            raise ConfigError(
                f"{path}: model.attn_implementation={model.attn_implementation!r} is refused: "
                f"a run record may only name built-in attention {list(BUILTIN_ATTENTION)}"
            )
        model.trust_remote_code = False  # never granted by a file; see load_base_for_run
        default_cache = Path.home() / ".cache" / "bailong"
        chat = train_cfg.get("data", {}).get("chat", {})
        init = train_cfg.get("embedding_init", {})
        return cls(
            model=model,  # type: ignore[arg-type]
            quantization=quant,  # type: ignore[arg-type]
            base_vocab_size=int(raw["base_vocab_size"]),
            cache_dir=Path(train_cfg.get("paths", {}).get("cache_dir") or default_cache),
            chat_template=str(chat.get("template", "llama2")),
            extended=init.get("method", "none") != "none",
            pad_to_multiple_of=init.get("pad_to_multiple_of"),
        )


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

    ``trust_remote_code`` is the caller's own choice (a command-line flag), never the record's.
    """
    record = RunRecord.read(adapter_dir)
    # training kernels stay off: eval, chat and export run anywhere, CPUs included
    model_cfg = dataclasses.replace(
        record.model, trust_remote_code=trust_remote_code, liger_kernel=False
    )
    if dtype is not None:
        model_cfg.dtype = dtype
    quant = _quantization(record, quantize, dtype)
    base = load_base_model(model_cfg, quant, record.base_vocab_size, cache_dir or record.cache_dir)
    rows = base.get_input_embeddings().num_embeddings
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
    model = PeftModel.from_pretrained(base, str(adapter_dir), is_trainable=False)
    record = RunRecord.read(adapter_dir)
    return LoadedModel(_ready(model, tokenizer), tokenizer, record.chat_template, adapter_dir, True)


def _ready(model: Any, tokenizer: PreTrainedTokenizerBase) -> Any:
    """Eval mode, KV cache on (training turned it off), and a pad token for batching."""
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    model.config.use_cache = True
    return model
