"""Why an initialization wins or loses before training: where the new rows put probability.

    python -m experiments.zip_tie_refbase.why HELDOUT_DIR EXTENDED_TOKENIZER OUT_JSON \
        [--chars 800] [--variant NAME:key=value,key=value ...]

For each variant, the reference base is extended (as bailong-probe-init does) and scored on
the first ``--chars`` characters of ``zh_poems.txt`` and ``en.txt`` of HELDOUT_DIR (made by
``experiments.zip_tie_refbase.heldout``); per text it reports, averaged over predicted tokens:
``new_mass`` — the probability all new tokens together receive; and, at Chinese positions
whose target is a new token, ``nats_to_new`` — -log of that mass (the cost of reaching the new
rows at all) and ``nats_within_new`` — -log p(target | some new token) (the cost of picking the
right one among them). The two add up to the loss at those positions.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import torch
from transformers import LlamaForCausalLM

from bailong.core.shared_data import shared_path
from bailong.data.heldout import read_heldout
from bailong.embeddings.config import EmbeddingInitConfig
from bailong.embeddings.extend import extend_embeddings
from bailong.tokenizer.load import load_tokenizer

DEFAULT_VARIANTS = [
    "subword_mean:method=subword_mean",
    "zt_in_uniform_out_first:method=zip_tie,output_weights=first",
    "random:method=random",
    "zeros:method=zeros",
    "piece_logprob:method=piece_logprob",
]


def parse(spec: str, template: EmbeddingInitConfig) -> tuple[str, EmbeddingInitConfig]:
    name, _, fields = spec.partition(":")
    values = dict(item.split("=", 1) for item in fields.split(",") if item)
    return name, replace(template, **values)


@torch.no_grad()
def mass(model, tokenizer, text: str, num_old: int) -> dict[str, float]:
    ids = torch.tensor(
        [[tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False).input_ids]]
    )
    ids = ids[:, :512]
    logp = torch.log_softmax(model(ids).logits[0, :-1].double(), dim=-1)
    targets = ids[0, 1:]
    to_new = torch.logsumexp(logp[:, num_old:], dim=-1)
    is_new = targets >= num_old
    out = {
        "tokens": len(targets),
        "new_targets": int(is_new.sum()),
        "new_mass": float(to_new.exp().mean()),
    }
    if bool(is_new.any()):
        target_logp = logp[torch.arange(len(targets)), targets]
        out["nats_to_new"] = float(-to_new[is_new].mean())
        out["nats_within_new"] = float(-(target_logp - to_new)[is_new].mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("heldout", type=Path)
    parser.add_argument("extended", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--chars", type=int, default=800)
    parser.add_argument("--variant", action="append", default=None)
    args = parser.parse_args()
    base_dir, original = (
        shared_path("models/zh_byte_base_23m"),
        shared_path("tokenizers/llama2/tokenizer.model"),
    )
    if base_dir is None or original is None:
        parser.error("shared data not found: set BAILONG_SHARED_DATA")
    model = LlamaForCausalLM.from_pretrained(base_dir, dtype=torch.float32).eval()
    tokenizer = load_tokenizer(str(args.extended))
    texts = {
        g: "\n".join(read_heldout(args.heldout / f"{g}.txt", max_chars=args.chars))
        for g in ("zh_poems", "en")
    }
    template = EmbeddingInitConfig(original_tokenizer=str(original))
    results = {}
    for spec in args.variant or DEFAULT_VARIANTS:
        name, cfg = parse(spec, template)
        extend_embeddings(model, tokenizer, cfg)
        results[name] = {g: mass(model, tokenizer, t, 32_000) for g, t in texts.items()}
        model.resize_token_embeddings(32_000, mean_resizing=False)
        print(name, json.dumps(results[name]), flush=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
