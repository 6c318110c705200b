"""Time vocabulary extension at Bailong's scale: 27,241 new tokens on a 32,000 x 4,096 model.

Builds an append-only extension of the real Llama 2 tokenizer with the most frequent
Traditional Chinese characters and character bigrams of the shared cc0 sentences (27,241
pieces, as many as Bailong adds), a 1-layer Llama with Llama 2 7B's embedding and head shapes,
and times ``extend_embeddings`` (resize + piece mapping + sparse product) per method.

    python experiments/benchmarks/embedding_init_speed.py [--dtype bfloat16] [--methods zip_tie mean]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch
from sentencepiece import sentencepiece_model_pb2 as sp_pb2
from transformers import LlamaConfig, LlamaForCausalLM

from bailong.config import EmbeddingInitConfig
from bailong.embeddings import INIT_METHODS, extend_embeddings
from bailong.shared_data import shared_path
from bailong.tokenizer.load import load_tokenizer

NEW_TOKENS = 27_241


def chinese_pieces(corpus: Path, count: int) -> list[str]:
    """The ``count`` most frequent CJK characters and bigrams of the corpus."""
    counts: Counter[str] = Counter()
    for path in sorted(corpus.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            chars = [c for c in line if "\u4e00" <= c <= "\u9fff"]
            counts.update(chars)
            counts.update(a + b for a, b in zip(chars, chars[1:], strict=False))
    return [p for p, _ in counts.most_common(count)]


def extended_tokenizer_file(original: Path, pieces: list[str], out: Path) -> Path:
    proto = sp_pb2.ModelProto()
    proto.ParseFromString(original.read_bytes())
    known = {p.piece for p in proto.pieces}
    low = min(p.score for p in proto.pieces)
    for i, piece in enumerate(p for p in pieces if p not in known):
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, low - 1 - i
        entry.type = sp_pb2.ModelProto.SentencePiece.NORMAL
    out.write_bytes(proto.SerializeToString())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="bfloat16", choices=["float32", "bfloat16"])
    parser.add_argument("--methods", nargs="+", default=list(INIT_METHODS))
    args = parser.parse_args()
    original = shared_path("tokenizers/llama2/tokenizer.model")
    corpus = shared_path("corpora/zh_tw/cc0_sentences")
    if original is None or corpus is None:
        raise SystemExit("needs shared/data (tokenizers/llama2, corpora/zh_tw/cc0_sentences)")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        ext = extended_tokenizer_file(
            original, chinese_pieces(corpus, NEW_TOKENS + 2000), Path(tmp) / "ext.model"
        )
        proto = sp_pb2.ModelProto()
        proto.ParseFromString(ext.read_bytes())
        del proto.pieces[32_000 + NEW_TOKENS :]
        ext.write_bytes(proto.SerializeToString())
        tokenizer = load_tokenizer(str(ext))
        print(f"tokenizer: {len(tokenizer)} tokens, built in {time.perf_counter() - start:.1f}s")
        config = LlamaConfig(
            vocab_size=32_000,
            hidden_size=4096,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=32,
            num_key_value_heads=32,
        )
        torch.manual_seed(0)
        base = LlamaForCausalLM(config).to(getattr(torch, args.dtype))
        state = {k: v.clone() for k, v in base.state_dict().items()}
        print(f"torch threads: {torch.get_num_threads()}  dtype: {args.dtype}")
        print("| method | new tokens | rows after | seconds |")
        print("|---|---|---|---|")
        for method in args.methods:
            model = LlamaForCausalLM(LlamaConfig(**{**config.to_dict(), "vocab_size": 32_000}))
            model = model.to(getattr(torch, args.dtype))
            model.load_state_dict(state)
            cfg = EmbeddingInitConfig(method=method, original_tokenizer=str(original))
            report = extend_embeddings(model, tokenizer, cfg)
            print(
                f"| {method} | {report.num_new_tokens} | {report.num_rows} | {report.seconds:.2f} |"
            )


if __name__ == "__main__":
    main()
