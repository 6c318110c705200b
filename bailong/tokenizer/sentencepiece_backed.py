"""A transformers tokenizer that encodes with SentencePiece itself: exact for any model.

transformers 5 no longer ships a SentencePiece-backed Llama tokenizer, and a fast (Rust BPE)
tokenizer cannot reproduce every SentencePiece model (``bailong.tokenizer.exactness``). This
slow tokenizer is what ``load_tokenizer`` falls back to then: ids come from
``SentencePieceProcessor.encode`` (BOS prepended like Llama's tokenizer), text from
``decode``. ``save_pretrained`` writes ``tokenizer.model`` and a ``tokenizer_config.json``
naming transformers' own ``SentencePieceBackend`` (with the BOS rule), so ``AutoTokenizer``
also loads the directory with SentencePiece's ids instead of converting ``tokenizer.model``
to an inexact fast tokenizer; ``load_tokenizer`` loads it as this class.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from transformers.tokenization_utils_sentencepiece import SentencePieceBackend

from bailong.tokenizer.merge import load_model_proto


class SentencePieceTokenizer(SentencePieceBackend):
    """Exactly SentencePiece's ids; a literal "<s>" in text is read as BOS, as in HF."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.init_kwargs["special_tokens_pattern"] = self.special_tokens_pattern

    def save_pretrained(
        self, save_directory: str | os.PathLike[str], *args: Any, **kwargs: Any
    ) -> tuple[str, ...]:
        saved = super().save_pretrained(save_directory, *args, **kwargs)
        config_file = Path(save_directory) / "tokenizer_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8"))
        config["tokenizer_class"] = SentencePieceBackend.__name__
        config_file.write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
        return saved

    def _decode(
        self,
        token_ids: int | list[int],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        spaces_between_special_tokens: bool = False,
        **kwargs: Any,
    ) -> str:
        # the base class's spacing options do not apply: SentencePiece's decode gives the text
        ids = [token_ids] if isinstance(token_ids, int) else list(token_ids)
        special = set(self.all_special_ids)
        parts: list[str] = []
        run: list[int] = []
        for i in [*ids, None]:
            if i is None or i in special:
                parts.append(self.sp_model.decode(run))
                run = []
                if i is not None and not skip_special_tokens:
                    parts.append(self.convert_ids_to_tokens(i))
            else:
                run.append(i)
        return "".join(parts)


def sentencepiece_tokenizer(model_path: str | Path) -> SentencePieceTokenizer:
    """The SentencePiece-backed tokenizer of a ``.model`` file, BOS added per sequence."""
    proto = load_model_proto(model_path)
    spec = proto.trainer_spec
    bos = proto.pieces[spec.bos_id].piece if spec.bos_id >= 0 else None
    eos = proto.pieces[spec.eos_id].piece if spec.eos_id >= 0 else None
    return SentencePieceTokenizer(
        vocab_file=str(model_path),
        legacy=True,  # encode the text as given: SentencePiece adds its own dummy prefix
        special_tokens_pattern="bos" if bos is not None else None,
        clean_up_tokenization_spaces=False,
        unk_token=proto.pieces[spec.unk_id].piece,
        bos_token=bos,
        eos_token=eos,
    )
