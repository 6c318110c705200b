"""Byte-level BPE extension measured on the bundled sample (the README's numbers).

An English-centric byte-level base (1,000 merges-trained tokens + <|endoftext|>, trained on
the English sample and three Chinese paragraphs, so it knows a few Chinese characters, as
Llama 3/Qwen know some) is extended with a 2,000-token BPE trained on the Chinese sample minus
its last five paragraphs, which are held out with every English paragraph for the report.

    PYTHONPATH=. python experiments/byte_level_extension/measure.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from transformers import PreTrainedTokenizerFast

from bailong.data.documents import bundled_file
from bailong.tokenizer.byte_level import END_OF_TEXT, train_byte_level_bpe
from bailong.tokenizer.byte_level_extend import extend_byte_level
from bailong.tokenizer.report import print_report

RESULTS = Path(__file__).parent / "results" / "sample_report.json"


def paragraphs(name: str) -> list[str]:
    return [d for d in bundled_file(name).read_text("utf-8").split("\n\n") if d.strip()]


def main() -> None:
    en, zh = paragraphs("en.txt"), paragraphs("zh_tw.txt")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        tok = train_byte_level_bpe(en + zh[:3], 1000)
        PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=END_OF_TEXT).save_pretrained(base)
        started = time.perf_counter()
        heldout = {"zh_tw": zh[-5:], "en": en}
        report = extend_byte_level(base, zh[:-5], heldout, Path(tmp) / "ext", vocab_size=2000)
        report["seconds"] = round(time.perf_counter() - started, 2)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print_report(report)
    print(json.dumps(report["appended"], ensure_ascii=False))


if __name__ == "__main__":
    main()
