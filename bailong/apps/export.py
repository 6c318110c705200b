"""Export a trained run as a plain Hugging Face model: LoRA merged, no peft, no bailong.

The merge happens in full precision, never into 4-bit weights (rounding the merged sum back to
NF4 loses most of the update, peft #2321). Two choices of the base the LoRA is added to:

* ``dequantized`` (default for runs trained in 4-bit): load the base exactly as training saw
  it (NF4), dequantize those weights to ``dtype`` and add the LoRA update there, so the
  exported model computes what the trained adapter model computed (QLoRA learned its update
  against the quantized weights, not the original ones).
* ``original``: load the base unquantized (its original weights) and merge there.

The trained ``embed_tokens``/``lm_head`` copies replace the base's (resized) embeddings, and
the extended tokenizer is saved beside the weights, carrying the run's chat template (so
``AutoTokenizer.from_pretrained(out).apply_chat_template`` renders the format it was tuned
on). Like every app that reloads a run, export runs no code from the run directory unless
its user passes ``trust_remote_code``.
"""

from __future__ import annotations

from pathlib import Path

from peft import PeftModel
from transformers import AutoTokenizer, PreTrainedModel

from bailong.apps.reload import RunRecord, find_adapter_dir, load_base_for_run
from bailong.core.checks import ConfigError
from bailong.data.chat_template import carry_chat_format
from bailong.model.config import EXPORT_BASES
from bailong.model.load import torch_dtype


def merged_model(
    run_or_adapter: str | Path,
    base: str = "dequantized",
    dtype: str = "float32",
    trust_remote_code: bool = False,
) -> PreTrainedModel:
    """The run's model with the adapter merged into a full-precision base (not yet saved)."""
    if base not in EXPORT_BASES:
        raise ConfigError(f"base={base!r} is invalid: allowed values are {list(EXPORT_BASES)}")
    adapter_dir = _adapter_dir(run_or_adapter)
    tokenizer = AutoTokenizer.from_pretrained(str(adapter_dir), trust_remote_code=trust_remote_code)
    tokenizer_size = len(tokenizer)
    record = RunRecord.read(adapter_dir)
    quantized = base == "dequantized" and record.quantization.enabled
    model = load_base_for_run(
        adapter_dir,
        tokenizer_size,
        quantize=quantized,
        dtype=None if quantized else dtype,
        trust_remote_code=trust_remote_code,
    )
    if quantized:
        model = model.dequantize(dtype=torch_dtype(dtype))
    peft_model = PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=False)
    merged = peft_model.merge_and_unload()
    merged = merged.to(torch_dtype(dtype))
    _clear_quantization_state(merged)
    merged.config.use_cache = True
    return merged


def _adapter_dir(run_or_adapter: str | Path) -> Path:
    adapter_dir = find_adapter_dir(Path(run_or_adapter).expanduser())
    if adapter_dir is None:
        raise FileNotFoundError(f"{run_or_adapter}: no adapter_config.json there or in adapter/")
    return adapter_dir


def _clear_quantization_state(model: PreTrainedModel) -> None:
    """A dequantized model still carries 4-bit flags; a plain checkpoint must not."""
    for attr in ("is_loaded_in_4bit", "is_loaded_in_8bit", "is_quantized"):
        if getattr(model, attr, False):
            setattr(model, attr, False)
    # from_pretrained sets hf_quantizer on the model; PreTrainedModel does not declare it
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def export_run(
    run_or_adapter: str | Path,
    out_dir: str | Path,
    base: str = "dequantized",
    dtype: str = "float32",
    trust_remote_code: bool = False,
) -> Path:
    """Merge and save model + tokenizer to ``out_dir``; returns it."""
    adapter_dir = _adapter_dir(run_or_adapter)
    out = Path(out_dir).expanduser()
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; choose a new directory for the export")
    model = merged_model(adapter_dir, base=base, dtype=dtype, trust_remote_code=trust_remote_code)
    model.save_pretrained(str(out))
    tokenizer = AutoTokenizer.from_pretrained(str(adapter_dir), trust_remote_code=trust_remote_code)
    # runs saved before their tokenizers carried the chat template get it from their record
    carry_chat_format(tokenizer, RunRecord.read(adapter_dir).chat_template)
    tokenizer.save_pretrained(str(out))
    return out
