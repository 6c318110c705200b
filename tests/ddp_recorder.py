"""``bailong-train`` with every rank recording what it trains on and what it saves.

tests/test_ddp.py runs ``python -m tests.ddp_recorder <overrides>``; Lightning's ``ddp``
launcher starts the other ranks by re-running this same module, so each rank records: the
input ids and token counts of its training batches, and its calls that write the adapter or
the run record, as JSON lines in ``$BAILONG_TEST_RECORD/rank<N>.jsonl``. The training path
itself is the real one.
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
from bailong.model.module import CausalLMModule


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
wrap(PeftModel, "save_pretrained", lambda model, path, **_: {"event": "save", "path": str(path)})
wrap(run_module, "write_run_record", lambda path, *_, **__: {"event": "record", "path": str(path)})

if __name__ == "__main__":
    main()
