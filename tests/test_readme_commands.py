"""Every README command marked runnable on CPU runs as written, and says what the README says.

The convention: an HTML comment on the line before a fenced block (invisible on GitHub),
``<!-- runnable-cpu -->`` for the whole block, or ``<!-- runnable-cpu: <command> -->`` for the
one command of the block that is (the first block also installs and runs the tests). Blocks
run in order, in one scratch directory (so a later block finds what an earlier one wrote, as
a reader's checkout would), with a scratch cache, the shared data where it is present, and the
repo on PYTHONPATH for ``python -m experiments...``. A block whose commands read the shared
data is skipped with the reason when it is absent.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bailong.core.shared_data import shared_data_dir

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = re.compile(r"^<!-- runnable-cpu(?::\s*(?P<command>.+?))?\s*-->\s*$")
NEEDS_SHARED = ("eval=perplexity", "BAILONG_SHARED_DATA", "shared_", "refbase")
# What the README promises a command's output or files hold (regexes on stdout + stderr).
PROMISES = {
    "bailong-train": [
        r"tokenizer=sample_extended: original tokenizer the stand-in for Llama 2's tokenizer",
        r"embedding_init=zip_tie: 1000 rows kept, 512 new token rows \+ 0 padding rows "
        r"initialized \(1512 in all\) in [0-9.]+ s, [0-9.]+ original pieces per new token",
        r"validation at step 0: val/loss=[0-9.]+",  # the step-0 loss
        r"training steps: 60/60 \(100%\)",  # progress lines, not a carriage-return bar
    ],
    "bailong-eval model_path=logs/dry_run/sft eval=perplexity hydra.run.dir=logs/dry_run/eval": [
        r"zh/bits_per_char",
        r"perplexity windows: \d+/\d+ \(100%\)",
    ],
}


@dataclass
class Block:
    line: int  # of the marker in README.md
    script: str


def runnable_blocks(text: str) -> list[Block]:
    """The marked blocks of ``text``, as the bash each one runs."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if not (m := MARKER.match(line)):
            continue
        assert lines[i + 1].startswith("```bash"), f"README.md:{i + 1}: marker not before a block"
        end = lines.index("```", i + 2)
        body = "\n".join(lines[i + 2 : end]).replace("\\\n", " ")  # continued lines
        command = m.group("command")
        if command is not None:
            assert command in body, f"README.md:{i + 1}: {command!r} is not in the block"
            body = command
        blocks.append(Block(i + 1, body))
    return blocks


def test_the_marker_convention() -> None:
    text = (
        "<!-- runnable-cpu: b -->\n```bash\na && b\n```\n<!-- runnable-cpu -->\n```bash\nc\n```\n"
    )
    assert [b.script for b in runnable_blocks(text)] == ["b", "c"]
    blocks = runnable_blocks(README.read_text(encoding="utf-8"))
    assert blocks[0].script == "bailong-train"  # the main job of the README's first command
    assert any("bailong_instruct_7b_tiny" in b.script for b in blocks)  # the paper's dry run


@pytest.mark.slow
def test_every_runnable_readme_command_runs(tmp_path: Path) -> None:
    shared = shared_data_dir()
    env = {
        **os.environ,
        **({"BAILONG_SHARED_DATA": str(shared)} if shared is not None else {}),
        "BAILONG_CACHE": str(tmp_path / "cache"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    work = tmp_path / "checkout"
    work.mkdir()
    skipped = []
    for block in runnable_blocks(README.read_text(encoding="utf-8")):
        for command in block.script.splitlines():
            if not command.strip() or command.lstrip().startswith("#"):
                continue
            if shared is None and any(s in command for s in NEEDS_SHARED):
                skipped.append(command)
                continue
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", command],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            output = done.stdout + done.stderr
            assert done.returncode == 0, f"README.md:{block.line}: {command}\n{output[-4000:]}"
            assert "\r" not in output, f"README.md:{block.line}: {command} drew a live bar"
            for promise in PROMISES.get(command.split("#")[0].strip(), []):
                assert re.search(promise, output), f"{command}: no {promise!r} in\n{output[-4000:]}"
    if skipped:
        pytest.skip(f"ran the rest; the shared data is absent for: {skipped}")
