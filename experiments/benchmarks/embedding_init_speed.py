"""Time vocabulary extension at Bailong's scale: 27,241 new tokens on a 32,000 x 4,096 model.

Extends the real Llama 2 tokenizer append-only with a Chinese BPE trained on the shared cc0
sentences (``extend_with_texts``: 27,241 pieces merged, as many as Bailong adds), builds a
1-layer Llama with Llama 2 7B's embedding and head shapes, and times, per method, the library's
``extend_embeddings`` (resize + piece mapping + one sparse product) against a per-token Python
loop computing the same rows. Prints medians of the repeats, their ratio, and the peak extra
resident memory during one vectorized call.

    PYTHONPATH=. python experiments/benchmarks/embedding_init_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import sentencepiece as spm
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from bailong.core.shared_data import shared_path
from bailong.embeddings.config import EmbeddingInitConfig
from bailong.embeddings.extend import extend_embeddings
from bailong.embeddings.pieces import SPACE
from bailong.embeddings.registry import INIT_METHODS
from bailong.embeddings.resize import resize_to
from bailong.tokenizer.load import load_tokenizer
from bailong.tokenizer.sample_extension import extend_with_texts

NEW_TOKENS = 27_241
PAGE = 4096


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def peak_extra_rss(fn: Callable[[], object]) -> int:
    """Peak resident memory above the level before ``fn`` (sampled every millisecond)."""
    base, peak, done = rss_bytes(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.001)

    thread = threading.Thread(target=sample)
    thread.start()
    try:
        fn()
    finally:
        done.set()
        thread.join()
    return max(peak[0], rss_bytes()) - base


def loop_rows(method: str, old: torch.Tensor, texts: list[str], sp, gen) -> torch.Tensor:
    """The same rows one token at a time (the obvious implementation the library replaces)."""
    new = torch.empty(len(texts), old.shape[1], dtype=old.dtype)
    if method in ("mean", "mean_cov"):
        mu = old.mean(dim=0, dtype=torch.float64)
    if method == "mean_cov":
        x = old.float() - mu.float()
        chol = torch.linalg.cholesky((1e-9 * (x.T @ x) / x.shape[0]).double())
    for i, text in enumerate(texts):
        if method in ("zip_tie", "subword_mean"):
            ids = sp.encode(text)
            row = old[ids].double().sum(0) / len(ids)
        elif method == "mean":
            row = mu
        elif method == "mean_cov":
            row = mu + chol @ torch.randn(old.shape[1], generator=gen, dtype=torch.float64)
        elif method == "random":
            row = torch.randn(old.shape[1], generator=gen) * 0.02
        else:
            row = torch.zeros(old.shape[1])
        new[i] = row.to(old.dtype)
    return new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="bfloat16", choices=["float32", "bfloat16"])
    parser.add_argument("--methods", nargs="+", default=list(INIT_METHODS))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    original = shared_path("tokenizers/llama2/tokenizer.model")
    corpus = shared_path("corpora/zh_tw/cc0_sentences")
    if original is None or corpus is None:
        raise SystemExit("needs shared/data (tokenizers/llama2, corpora/zh_tw/cc0_sentences)")
    dtype = getattr(torch, args.dtype)
    with tempfile.TemporaryDirectory() as tmp:
        texts = (p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.txt")))
        ext = extend_with_texts(original, texts, NEW_TOKENS, Path(tmp)).output_path
        tokenizer = load_tokenizer(ext)
    token_texts = [
        t.replace(SPACE, " ")
        for t in tokenizer.convert_ids_to_tokens(range(32_000, len(tokenizer)))
    ]
    proto_sp = spm.SentencePieceProcessor(model_file=str(original))
    config = LlamaConfig(
        vocab_size=32_000,
        hidden_size=4096,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=32,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(dtype)
    weights = (
        model.model.embed_tokens.weight.detach().clone(),
        model.lm_head.weight.detach().clone(),
    )

    def restore() -> None:
        model.resize_token_embeddings(32_000, mean_resizing=False)
        with torch.no_grad():
            model.model.embed_tokens.weight.copy_(weights[0])
            model.lm_head.weight.copy_(weights[1])

    print(
        f"{len(tokenizer) - 32_000} new tokens, 32,000 x 4,096 {args.dtype}, "
        f"{torch.get_num_threads()} threads, median of {args.repeats}"
    )
    print("| method | vectorized (s) | per-token loop (s) | speed-up | peak extra memory (MiB) |")
    print("|---|---|---|---|---|")
    for method in args.methods:
        cfg = EmbeddingInitConfig(method=method, original_tokenizer=str(original))
        fast, slow = [], []
        for _ in range(args.repeats):
            restore()
            fast.append(extend_embeddings(model, tokenizer, cfg).seconds)
            restore()
            gen = torch.Generator().manual_seed(0)
            start = time.perf_counter()
            resize_to(model, len(tokenizer), None)
            for module in (model.model.embed_tokens, model.lm_head):
                old = module.weight.detach()[:32_000]
                new = loop_rows(method, old, token_texts, proto_sp, gen)
                with torch.no_grad():
                    module.weight[32_000:] = new
            slow.append(time.perf_counter() - start)
        restore()
        extra = peak_extra_rss(lambda cfg=cfg: extend_embeddings(model, tokenizer, cfg))
        f, s = statistics.median(fast), statistics.median(slow)
        print(f"| {method} | {f:.2f} | {s:.2f} | {s / f:.1f}x | {extra / 2**20:.0f} |")


if __name__ == "__main__":
    main()
