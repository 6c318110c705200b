"""``bailong_run.json``: what a trained run says about the base it was trained on, written by
the training job beside the adapter and read, checked field by field, when the run reloads.

A run directory may come from someone else, so the record is untrusted input: nothing in it
may decide to run code (``trust_remote_code`` is dropped; an ``attn_implementation`` other than
the built-in ones, a hub kernel that would be downloaded and run, is refused), nor where we
write or what we build (a base built from its ``model.config`` goes to the user's own cache,
``bailong.core.paths.user_cache_dir``, never the record's ``paths.cache_dir``). Every field
read is checked before anything is built: types and choices, the model settings the train
door checks, and the sizes against the files they describe (``base_vocab_size`` and
``pad_to_multiple_of`` no larger than the tokenizer, the width and depth of ``model.config``
those of the adapter's saved tensors), so a copied record cannot make us allocate a model far
larger than the run it came with.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from bailong.core.checks import ConfigError, check_choice, fail
from bailong.core.redact import redact
from bailong.data.config import CHAT_TEMPLATES
from bailong.model.config import (
    BUILTIN_ATTENTION,
    LoraConfig,
    ModelConfig,
    QuantizationConfig,
    check_model_settings,
)
from bailong.training.config import TrainConfig
from bailong.training.range_checks import MAX_SEED, check_model_config

RUN_RECORD = "bailong_run.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
# saved tensors whose input width is the model's hidden size
HIDDEN_WIDTH_TENSORS = ("embed_tokens.", "lm_head.", "q_proj.lora_A")
OTHER_WIDTH_TENSORS = ("lora_B", "lora_embedding")  # [out, r] and LoRA-on-embedding factors
LAYER_INDEX = re.compile(r"\.layers\.(\d+)\.")


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
    chat_template: str  # how the run rendered conversations: llama2 | tokenizer
    # how the run grew the vocabulary: extended at all, and rounded up to a multiple of what
    extended: bool = False
    pad_to_multiple_of: int | None = None

    @classmethod
    def read(cls, adapter_dir: Path) -> RunRecord:
        """The record, each field checked; a ConfigError names the file, key and value."""
        path = adapter_dir / RUN_RECORD
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: this adapter was not saved by bailong-train, so its base "
                "model is unknown"
            )
        try:
            return cls._checked(json.loads(path.read_text("utf-8")))
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from None
        except (ValueError, TypeError, KeyError, AttributeError, OmegaConfBaseException) as err:
            raise ConfigError(
                f"{path}: not a run record bailong-train wrote ({type(err).__name__}: {err})"
            ) from None

    @classmethod
    def _checked(cls, raw: dict[str, Any]) -> RunRecord:
        train_cfg = raw["train_config"]
        model = OmegaConf.to_object(
            OmegaConf.merge(OmegaConf.structured(ModelConfig), train_cfg["model"])
        )
        quant = OmegaConf.to_object(
            OmegaConf.merge(OmegaConf.structured(QuantizationConfig), train_cfg["quantization"])
        )
        assert isinstance(model, ModelConfig) and isinstance(quant, QuantizationConfig)
        if model.attn_implementation not in BUILTIN_ATTENTION:
            fail(
                "model.attn_implementation",
                model.attn_implementation,
                f"a run record may only name built-in attention {list(BUILTIN_ATTENTION)}",
            )
        model.trust_remote_code = False  # never granted by a file; see load_base_for_run
        check_model_settings(model, quant, LoraConfig())
        if model.name_or_path is None:
            check_model_config(model.config)
        if not 0 <= model.seed <= MAX_SEED:
            fail("model.seed", model.seed, f"must lie in [0, {MAX_SEED}]")
        base_vocab_size = raw["base_vocab_size"]
        if not (type(base_vocab_size) is int and base_vocab_size > 0):
            fail("base_vocab_size", base_vocab_size, "must be a positive integer")
        chat = train_cfg.get("data", {}).get("chat", {})
        template = chat.get("template", "llama2")
        check_choice("data.chat.template", template, CHAT_TEMPLATES)
        init = train_cfg.get("embedding_init", {})
        pad = init.get("pad_to_multiple_of")
        if pad is not None and not (type(pad) is int and pad > 0):
            fail("embedding_init.pad_to_multiple_of", pad, "must be a positive integer or null")
        return cls(
            model=model,
            quantization=quant,
            base_vocab_size=base_vocab_size,
            chat_template=template,
            extended=init.get("method", "none") != "none",
            pad_to_multiple_of=pad,
        )

    def check_sizes(self, adapter_dir: Path, tokenizer_size: int) -> None:
        """The record's sizes against the files beside it: what we build may be no larger
        than the run the record came with (the tokenizer, the adapter's saved tensors)."""
        path = adapter_dir / RUN_RECORD
        too_big = [
            ("base_vocab_size", self.base_vocab_size),
            ("embedding_init.pad_to_multiple_of", self.pad_to_multiple_of or 1),
        ]
        for key, value in too_big:
            if value > tokenizer_size:
                fail(
                    f"{path}: {key}",
                    value,
                    f"larger than the run's tokenizer ({tokenizer_size} tokens in {adapter_dir})",
                )
        weights = adapter_dir / ADAPTER_WEIGHTS
        if self.model.name_or_path is not None or not weights.is_file():
            return  # a named base brings its own config; peft names a missing adapter file
        from safetensors import safe_open

        with safe_open(str(weights), "pt") as saved:  # reads the header, not the tensors
            names = saved.keys()
            shapes = {name: saved.get_slice(name).get_shape() for name in names}

        def input_widths(*parts: str) -> set[int]:  # weights are [out_features, in_features]
            return {
                shape[-1]
                for name, shape in shapes.items()
                if len(shape) == 2
                and not any(other in name for other in OTHER_WIDTH_TENSORS)
                and any(p in name for p in parts)
            }

        layers = {int(m.group(1)) for name in shapes if (m := LAYER_INDEX.search(name))}
        expected = {
            "hidden_size": input_widths(*HIDDEN_WIDTH_TENSORS) or input_widths("lora_A"),
            "intermediate_size": input_widths("down_proj.lora_A"),
            "num_hidden_layers": {len(layers)} if layers else set(),
        }
        config = self.model.config
        for key, allowed in expected.items():
            if allowed and config.get(key) not in allowed:
                fail(
                    f"{path}: model.config.{key}",
                    config.get(key),
                    f"the adapter's tensors ({weights.name}) were trained on "
                    f"{sorted(allowed)}; this record does not describe the run it came with",
                )
