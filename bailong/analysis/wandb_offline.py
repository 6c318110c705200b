"""Read the logged history of an offline W&B run (``<job>/wandb/offline-run-*/run-*.wandb``).

A job logged only to W&B (``logger=wandb``) has no CSV, and an offline run cannot be queried
through the W&B API until it is synced, so ``bailong-compare`` reads the run file itself. The
file is a ``:W&B`` header followed by a LevelDB-style record log (32 KiB blocks; each record
is a 7-byte header of checksum, little-endian length and type, where types 2/3/4 are the
first/middle/last fragments of a record split across blocks) of ``wandb_internal`` protobuf
``Record`` messages; the ``history`` records hold one logging call's metrics each, the
``run`` record the run's name and group, the ``summary`` records the run summary's updates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

MAGIC = b":W&B"
FILE_HEADER = 7
RECORD_HEADER = 7
BLOCK = 32 * 1024
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
STEP_KEY = "trainer/global_step"  # what Lightning's WandbLogger logs as the trainer step


def record_payloads(path: Path) -> Iterator[bytes]:
    """The raw protobuf payloads of the record log, fragments joined."""
    data = path.read_bytes()
    if data[: len(MAGIC)] != MAGIC:
        raise ValueError(f"{path}: not a W&B run file (no {MAGIC!r} header)")
    pos, pending = FILE_HEADER, b""
    while pos + RECORD_HEADER <= len(data):
        left_in_block = BLOCK - pos % BLOCK
        if left_in_block < RECORD_HEADER:  # block trailer padding
            pos += left_in_block
            continue
        length = int.from_bytes(data[pos + 4 : pos + 6], "little")
        kind = data[pos + 6]
        chunk = data[pos + RECORD_HEADER : pos + RECORD_HEADER + length]
        pos += RECORD_HEADER + length
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            yield pending + chunk
            pending = b""


def read_history(run_file: Path) -> pd.DataFrame:
    """One row per logging call, with ``step`` = the trainer's global step (as in the CSV)."""
    from wandb.proto import wandb_internal_pb2  # here: importing wandb costs seconds

    rows = []
    for payload in record_payloads(run_file):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        if record.WhichOneof("record_type") != "history":
            continue
        row = {
            (item.key or "/".join(item.nested_key)): json.loads(item.value_json)
            for item in record.history.item
        }
        if STEP_KEY in row:
            row["step"] = row.pop(STEP_KEY)
            rows.append({k: v for k, v in row.items() if not k.startswith("_")})
    return pd.DataFrame.from_records(rows)


def offline_run_file(job_dir: Path) -> Path | None:
    """The job's (latest) offline run file, if it logged to W&B offline."""
    files = sorted((job_dir / "wandb").glob("offline-run-*/run-*.wandb"))
    return files[-1] if files else None


@dataclass
class OfflineRun:
    """What an offline run file says about the run: how W&B will list it once synced."""

    group: str
    name: str
    job_type: str
    summary: dict[str, object]  # the run summary after every update, as W&B would show it


def read_run(run_file: Path) -> OfflineRun:
    """The run's group, name, job type and final summary, from its offline run file."""
    from wandb.proto import wandb_internal_pb2  # here: importing wandb costs seconds

    run, summary = None, {}
    for payload in record_payloads(run_file):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
        elif kind == "summary":
            for item in record.summary.update:
                summary[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    if run is None:
        raise ValueError(f"{run_file}: no run record (not a complete W&B run file)")
    return OfflineRun(run.run_group, run.display_name, run.job_type, summary)
