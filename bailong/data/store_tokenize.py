"""Tokenize a source's cleaned documents in worker processes, in order, with bounded memory.

Why not ``Dataset.map(num_proc=...)``: map runs after a text table exists, so the source
would be read and cleaned (one Python process) into a second on-disk copy of its text first,
and only then tokenized. Here the main process reads and cleans while the workers encode the
previous batches with the fast tokenizer's Rust ``encode_batch_fast`` (one thread each), so
the two overlap and no text is written. At most ``2 × workers`` batches are in flight
(``Pool.imap`` would read the whole source ahead into its queue).

A slow (Python) tokenizer has no serializable backend: it encodes in this process.
"""

from __future__ import annotations

import itertools
import multiprocessing
import sys
from collections import deque
from collections.abc import Generator, Iterable, Iterator

import numpy as np
from transformers import PreTrainedTokenizerBase

BATCH_CHARS = 1 << 16  # characters per batch sent to a worker: many batches keep all busy
BATCH_DOCS = 1024

Encoded = tuple[np.ndarray, np.ndarray]  # flat ids of the wrapped documents, their lengths
_worker_backend = None  # the worker process's tokenizers.Tokenizer


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 while every id fits (Llama 2's 32,000 and the extended 59,241 do), else uint32."""
    return np.dtype(np.uint16 if vocab_size <= 1 << 16 else np.uint32)


def wrap_ids(docs: list[list[int]], bos: int | None, eos: int, dtype: np.dtype) -> Encoded:
    """``<s> ids </s>`` of every document as one flat array, and each one's length."""
    head = () if bos is None else (bos,)
    lengths = np.fromiter((len(d) + len(head) + 1 for d in docs), np.int64, len(docs))
    flat = itertools.chain.from_iterable(itertools.chain(head, d, (eos,)) for d in docs)
    return np.fromiter(flat, dtype, int(lengths.sum())), lengths


def _init_worker(tokenizer_json: str) -> None:
    from tokenizers import Tokenizer

    global _worker_backend
    _worker_backend = Tokenizer.from_str(tokenizer_json)


def _encode_in_worker(texts: list[str], bos: int | None, eos: int, dtype: str) -> Encoded:
    assert _worker_backend is not None
    encodings = _worker_backend.encode_batch_fast(texts, add_special_tokens=False)
    return wrap_ids([e.ids for e in encodings], bos, eos, np.dtype(dtype))


Batch = tuple[list[bool], int, list[str]]  # is_val per document, UTF-8 bytes, texts


def batches(docs: Iterable[tuple[bool, str]]) -> Iterator[Batch]:
    """Groups of about ``BATCH_CHARS`` characters (bytes counted for the progress line)."""
    flags: list[bool] = []
    texts: list[str] = []
    size = 0
    for is_val, text in docs:
        flags.append(is_val)
        texts.append(text)
        size += len(text)
        if size >= BATCH_CHARS or len(texts) >= BATCH_DOCS:
            yield flags, len("".join(texts).encode("utf-8")), texts
            flags, texts, size = [], [], 0
    if texts:
        yield flags, len("".join(texts).encode("utf-8")), texts


def encoded_batches(
    docs: Iterable[tuple[bool, str]], tokenizer: PreTrainedTokenizerBase, workers: int
) -> Generator[tuple[list[bool], int, Encoded], None, None]:
    """``(is_val flags, UTF-8 bytes, encoding)`` per batch, in order; close it to stop early."""
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    dtype = token_dtype(len(tokenizer))
    if workers <= 1 or not tokenizer.is_fast:
        for flags, size, texts in batches(docs):
            ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
            yield flags, size, wrap_ids(ids, bos, eos, dtype)
        return
    # fork on Linux (as datasets' map does); spawn elsewhere, where fork is unsafe or absent
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    json_str = tokenizer.backend_tokenizer.to_str()
    with context.Pool(workers, initializer=_init_worker, initargs=(json_str,)) as pool:
        pending: deque = deque()
        for flags, size, texts in batches(docs):
            job = pool.apply_async(_encode_in_worker, (texts, bos, eos, dtype.str))
            pending.append((flags, size, job))
            if len(pending) >= 2 * workers:
                flags, size, job = pending.popleft()
                yield flags, size, job.get()
        while pending:
            flags, size, job = pending.popleft()
            yield flags, size, job.get()
