"""``bailong-train`` with every rank recording what it trains on and what it saves.

tests/training/test_ddp.py runs ``python -m tests.support.ddp_recorder <overrides>``; Lightning's
``ddp``
launcher starts the other ranks by re-running this same module, so each rank records: the
input ids and token counts of its training batches, and its calls that write the adapter or
the run record, as JSON lines in ``$BAILONG_TEST_RECORD/rank<N>.jsonl``; and on request one
rank's loss turns NaN once. The training path itself is the real one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lightning.pytorch.utilities import rank_zero_only
from peft import PeftModel

import bailong.training.run as run_module
from bailong.cli.train import main
from bailong.training.module import CausalLMModule


def record(event: dict[str, Any]) -> None:
    folder = Path(os.environ["BAILONG_TEST_RECORD"])
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"rank{rank_zero_only.rank}.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(event) + "\n")


def wrap(owner: Any, name: str, describe: Any) -> None:
    original = getattr(owner, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        record(describe(*args, **kwargs))
        return original(*args, **kwargs)

    setattr(owner, name, recording)


wrap(
    CausalLMModule,
    "training_step",
    lambda module, batch, batch_idx: {
        "event": "batch",
        "step": module.global_step,
        "input_ids": batch["input_ids"].tolist(),
        "tokens": int(batch["attention_mask"].sum()),  # packed SFT rows are not recorded
    },
)


def poisoned_forward(original: Any) -> Any:
    """With $BAILONG_TEST_NAN_RANK=<rank>, that rank's 4th training forward returns a NaN loss."""

    def forward(module: CausalLMModule, **batch: Any) -> Any:
        out = original(module, **batch)
        if module.training and os.environ.get("BAILONG_TEST_NAN_RANK") == str(module.global_rank):
            module.test_calls = getattr(module, "test_calls", 0) + 1
            if module.test_calls == 4:
                out.loss = out.loss * float("nan")
        return out

    return forward


CausalLMModule.forward = poisoned_forward(CausalLMModule.forward)
wrap(PeftModel, "save_pretrained", lambda model, path, **_: {"event": "save", "path": str(path)})
wrap(run_module, "write_run_record", lambda path, *_, **__: {"event": "record", "path": str(path)})

if __name__ == "__main__":
    main()
