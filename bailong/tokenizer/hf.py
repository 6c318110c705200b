"""A Hugging Face tokenizer that gives exactly the ids of a SentencePiece BPE model.

transformers 5 converts a Llama ``tokenizer.model`` with merges ranked by piece id and a
Metaspace pre-tokenizer that skips the dummy prefix before a leading space; both disagree
with SentencePiece on runs of spaces (Llama 2's whitespace pieces have id 259.. but score
-1e9) and on text starting with a space. Here merges are ranked by SentencePiece score and
the dummy prefix is a normalizer (always prepended, spaces become ▁), as SentencePiece does,
so the saved directory loads offline with ``AutoTokenizer`` and encodes like the ``.model``.
The one remaining difference is HF's own: a literal "<s>" in text becomes the BOS token.

Models no Hugging Face BPE tokenizer can reproduce -- tied scores that compete
(``bailong.tokenizer.exactness``), user-defined pieces (SentencePiece matches them after the
dummy prefix, so "[MASK]x" is ▁ [MASK] x; HF's added tokens split the raw text and each part
gets its own prefix), pieces holding a character that is not a piece (SentencePiece builds
℃。 from a bare ℃, HF byte-falls-back ℃ first), Unigram, non-identity normalizers -- raise
``InexactConversionError`` instead of converting approximately.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as sp_pb2
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, processors
from transformers import PreTrainedTokenizerFast
from transformers.tokenization_utils_base import generate_merges

from bailong.tokenizer.exactness import competing_ties
from bailong.tokenizer.merge import load_model_proto

_Piece = sp_pb2.ModelProto.SentencePiece
HF_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
_ADVICE = (
    "load it with bailong.tokenizer.load_tokenizer (it falls back to SentencePiece itself), "
    "or re-merge with score_policy=below_base or addition"
)


class InexactConversionError(ValueError):
    """No Hugging Face fast tokenizer gives exactly this SentencePiece model's ids."""


def conversion_problem(proto: sp_pb2.ModelProto) -> str | None:
    """Why this model cannot be converted exactly, or None when it can."""
    norm = proto.normalizer_spec
    if proto.trainer_spec.model_type != sp_pb2.TrainerSpec.BPE:
        model_type = sp_pb2.TrainerSpec.ModelType.Name(proto.trainer_spec.model_type)
        return f"model_type={model_type}: only SentencePiece BPE models convert exactly"
    if norm.precompiled_charsmap or norm.remove_extra_whitespaces:
        return (
            f"normalizer {norm.name!r} (remove_extra_whitespaces="
            f"{norm.remove_extra_whitespaces}) is not identity; only identity converts exactly"
        )
    if any(p.type == _Piece.UNUSED for p in proto.pieces):
        return "UNUSED pieces (SentencePiece merges through them, then re-splits) do not convert"
    if user := [p.piece for p in proto.pieces if p.type == _Piece.USER_DEFINED]:
        return (
            f"user-defined pieces {user[:5]} are matched after the dummy prefix by SentencePiece "
            "but split the raw text in Hugging Face tokenizers"
        )
    pieces = {p.piece for p in proto.pieces}
    normal = [p.piece for p in proto.pieces if p.type == _Piece.NORMAL and len(p.piece) > 1]
    if bare := [p for p in normal if any(ch not in pieces for ch in p)]:
        return (
            f"{len(bare)} pieces contain a character that is not a piece itself (e.g. "
            f"{bare[:5]}): SentencePiece builds them from the bare character, Hugging Face BPE "
            "turns that character into bytes first"
        )
    ties = competing_ties(proto)
    return None if ties is None else ties.describe()


def _check_supported(proto: sp_pb2.ModelProto, path: Path) -> None:
    problem = conversion_problem(proto)
    if problem is not None:
        raise InexactConversionError(
            f"{path}: no exact Hugging Face conversion: {problem}; {_ADVICE}"
        )


def _backend(proto: sp_pb2.ModelProto) -> Tokenizer:
    vocab = {p.piece: i for i, p in enumerate(proto.pieces)}
    scores = {p.piece: p.score for p in proto.pieces if p.type == _Piece.NORMAL}
    not_mergeable = [p.piece for p in proto.pieces if p.type != _Piece.NORMAL]
    merges = generate_merges(vocab, scores, skip_tokens=not_mergeable)
    unk = proto.pieces[proto.trainer_spec.unk_id].piece
    tok = Tokenizer(
        models.BPE(vocab=vocab, merges=merges, unk_token=unk, fuse_unk=True, byte_fallback=True)
    )
    steps: list[normalizers.Normalizer] = [normalizers.Replace(" ", "▁")]
    if proto.normalizer_spec.add_dummy_prefix:
        steps.insert(0, normalizers.Prepend("▁"))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = None
    strip = [decoders.Strip(" ", 1, 0)] if proto.normalizer_spec.add_dummy_prefix else []
    tok.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), *strip]
    )
    special = [p.piece for p in proto.pieces if p.type in (_Piece.CONTROL, _Piece.UNKNOWN)]
    tok.add_special_tokens([AddedToken(s, normalized=False, special=True) for s in special])
    user = [p.piece for p in proto.pieces if p.type == _Piece.USER_DEFINED]
    tok.add_tokens([AddedToken(s, normalized=False) for s in user])
    return tok


def hf_tokenizer_from_sentencepiece(
    model_path: str | Path, *, allow_inexact: bool = False
) -> PreTrainedTokenizerFast:
    """A fast tokenizer with SentencePiece's ids; adds BOS like Llama's tokenizer does.

    Raises ``InexactConversionError`` when no fast tokenizer can match the model;
    ``allow_inexact`` converts anyway (BPE only), for measuring how far off it would be.
    """
    path = Path(model_path)
    proto = load_model_proto(path)
    if not allow_inexact:
        _check_supported(proto, path)
    tok = _backend(proto)
    spec = proto.trainer_spec
    bos = proto.pieces[spec.bos_id].piece if spec.bos_id >= 0 else None
    eos = proto.pieces[spec.eos_id].piece if spec.eos_id >= 0 else None
    if bos is not None:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, spec.bos_id)]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        unk_token=proto.pieces[spec.unk_id].piece,
        clean_up_tokenization_spaces=False,
    )


def save_tokenizer_dir(
    model_path: str | Path, out_dir: str | Path, check_lines: Sequence[str] = ()
) -> Path:
    """Write ``tokenizer.model`` and the HF files (tokenizer.json, config) into ``out_dir``.

    The HF files are written only if the conversion is exact and gives SentencePiece's ids on
    every line of ``check_lines``; otherwise ``InexactConversionError`` is raised (with the
    count of lines that agree) after removing stale HF files, so the directory never holds a
    tokenizer.json that disagrees with its tokenizer.model.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "tokenizer.model"
    if Path(model_path).resolve() != target.resolve():
        shutil.copyfile(model_path, target)
    try:
        tok = hf_tokenizer_from_sentencepiece(target)
        sp = spm.SentencePieceProcessor(model_file=str(target))
        lines = list(check_lines)
        agree = sum(
            tok(x, add_special_tokens=False)["input_ids"] == ids
            for x, ids in zip(lines, sp.encode(lines), strict=True)
        )
        if agree < len(lines):
            raise InexactConversionError(
                f"{target}: the Hugging Face conversion gives SentencePiece's ids on only "
                f"{agree} of {len(lines)} lines; {_ADVICE}"
            )
    except InexactConversionError:
        for name in HF_FILES:
            (out / name).unlink(missing_ok=True)
        raise
    tok.save_pretrained(str(out))
    return out
