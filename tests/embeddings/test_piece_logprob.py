"""piece_logprob: its logit is the first piece's logit plus the base's log-probability of the
remaining pieces (checked against the model scoring the character's pieces itself)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from sentencepiece import SentencePieceProcessor

from bailong.embeddings.config import EmbeddingInitConfig
from bailong.embeddings.extend import extend_embeddings
from bailong.embeddings.piece_logprob import rest_logprobs, unit_starts
from bailong.embeddings.pieces import load_model_proto
from bailong.tokenizer.load import load_tokenizer
from tests.support.embedding_fixtures import english_sentencepiece, extended, tiny_llama


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("sp")
    original = english_sentencepiece(folder)
    return original, extended(original, folder)


def test_continuation_bytes_continue_a_character() -> None:
    assert unit_starts(["<s>", "<0xE8>", "<0x87>", "<0xBA>", "▁the", "<0x41>", "<0xBF>"]) == [
        True,
        True,
        False,
        False,
        True,
        True,
        False,
    ]


def test_rest_is_the_base_scoring_each_character_after_bos(files) -> None:
    original, _ = files
    sp = SentencePieceProcessor(model_file=str(original))
    model = tiny_llama(len(sp))
    proto = load_model_proto(original)
    starts = unit_starts([p.piece for p in proto.pieces])
    byte = {b: sp.piece_to_id(f"<0x{b:02X}>") for b in range(256)}
    tai, wan = ([byte[b] for b in c.encode()] for c in "臺灣")
    rest = rest_logprobs(model, [tai + wan, tai[:1], []], starts, sp.bos_id())

    def chain(ids: list[int]) -> float:  # log p(ids[1:] | <s>, ids[0]) by the model itself
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([[sp.bos_id(), *ids]])).logits[0], -1)
        return sum(float(logp[k, ids[k]]) for k in range(1, len(ids)))

    with torch.no_grad():
        first = torch.log_softmax(model(torch.tensor([[sp.bos_id()]])).logits[0, 0], -1)
    # 臺灣: 臺's two continuation bytes, then 灣 scored on its own after <s> (lead byte too)
    expected = chain(tai) + float(first[wan[0]]) + chain(wan)
    assert rest[0].item() == pytest.approx(expected, rel=1e-5)
    assert rest[1].item() == 0.0 and rest[2].item() == 0.0


def test_new_logit_is_first_piece_logit_plus_scaled_rest(files) -> None:
    original, ext = files
    tokenizer = load_tokenizer(str(ext))
    base = tiny_llama(len(SentencePieceProcessor(model_file=str(original))))
    model = copy.deepcopy(base)
    cfg = EmbeddingInitConfig(method="piece_logprob", original_tokenizer=str(original))
    extend_embeddings(model, tokenizer, cfg)
    ids = tokenizer("the model reads", return_tensors="pt").input_ids
    with torch.no_grad():
        logits = model(ids).logits
        torch.testing.assert_close(logits[..., : base.config.vocab_size], base(ids).logits)
    # 臺 = three bytes <0xE8> <0x87> <0xBA>: its logit is <0xE8>'s plus a negative r·(h·w)
    tai = tokenizer.convert_tokens_to_ids("臺")
    lead = tokenizer.convert_tokens_to_ids("<0xE8>")
    gap = logits[0, :, tai] - logits[0, :, lead]
    assert (gap < 0).all(), "the remaining pieces' log-probability lowers the logit"
