"""Which tokenizer each job used (from its saved config), so that per-token losses of
different tokenizers are never put side by side without a warning.

A loss per token depends on what a token is: an extended vocabulary spends fewer tokens on
the same Chinese text, so its per-token loss is higher for an equally good model (the tiny
vocabulary ablation: 11.01 vs 10.42 at step 0). Bits per character on the same held-out
characters (``callbacks.heldout_bpc``, logged as ``heldout/bpc``) compare them fairly.
The tokenizer is read from ``.hydra/config.yaml`` (not from files the run may not have
written yet): its ``tokenizer.name_or_path``, or for a sample tokenizer trained on the data
(``name_or_path: null``) its kind, size and ``data.files``, or the base's own tokenizer.
"""

from __future__ import annotations

from bailong.analysis.runs import Job

BITS_PER_CHAR = "heldout/bpc"
PER_CHAR_SUFFIX = "bpc"  # heldout/bpc and heldout/<source>/bpc
BPC_SWITCH = "callbacks.heldout_bpc.enabled=true"


def tokenizer_of(job: Job) -> str | None:
    """A short description that is equal for jobs using the same tokenizer; None when the job
    saved no config (then nothing is claimed about it)."""
    cfg = job.config()
    if cfg is None:
        return None
    tok = cfg.get("tokenizer") or {}
    if tok.get("name_or_path") is not None:
        return str(tok["name_or_path"])
    base = (cfg.get("model") or {}).get("name_or_path")
    if base:
        return f"the base's own ({base})"
    files = (cfg.get("data") or {}).get("files")
    kind = tok.get("sample_kind", "sentencepiece")
    return f"sample {kind} of {tok.get('sample_vocab_size')} pieces trained on {files}"


def is_per_token(metric: str) -> bool:
    """Losses and perplexities are per token; ``*bpc`` metrics are per character."""
    return not metric.endswith(PER_CHAR_SUFFIX)


def tokenizers_by_arm(jobs: list[Job], arms: list[str]) -> dict[str, str]:
    """Per arm, its tokenizer (arms whose jobs saved no config are left out)."""
    found: dict[str, str] = {}
    for job, arm in zip(jobs, arms, strict=True):
        if (tokenizer := tokenizer_of(job)) is not None:
            found.setdefault(arm, tokenizer)
    return found


def mixed_tokenizers(jobs: list[Job], arms: list[str]) -> dict[str, list[str]]:
    """Per tokenizer, the arms that use it, when the arms use more than one; else empty."""
    by_tokenizer: dict[str, list[str]] = {}
    for arm, tokenizer in tokenizers_by_arm(jobs, arms).items():
        by_tokenizer.setdefault(tokenizer, []).append(arm)
    return by_tokenizer if len(by_tokenizer) > 1 else {}


def tokenizer_groups(mixed: dict[str, list[str]], header: str) -> str:
    """``vocab=original: <tokenizer>; vocab=extended: <tokenizer>``."""
    return "; ".join(
        f"{', '.join(f'{header}={a}' for a in arms)}: {tok}" for tok, arms in mixed.items()
    )


def cross_tokenizer_warning(metric: str, mixed: dict[str, list[str]], header: str) -> str:
    """The warning for a per-token metric compared across tokenizers, naming the arms."""
    groups = tokenizer_groups(mixed, header)
    return (
        f"{metric} is a per-token loss and these arms use different tokenizers ({groups}), "
        f"so their {metric} values are not comparable; compare bits per character "
        f"(--metric {BITS_PER_CHAR}, logged when the sweep runs with {BPC_SWITCH})"
    )
