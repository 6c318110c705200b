"""Start-up time of the command-line apps: ``--help`` and a config error, ours vs a reference.

    git archive <old commit> | tar -x -C /tmp/bailong-ref
    PYTHONPATH=. python experiments/benchmarks/startup_time.py --reference /tmp/bailong-ref

Each command runs as a fresh ``python -c`` subprocess importing the app's module from this
checkout or from the reference checkout (``PYTHONPATH`` first), alternating the two; the table
gives the median wall time. Target (issue 17): ``--help`` and config errors under 2 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from experiments.benchmarks.bench_common import interleaved, markdown_table, median, report

HERE = Path(__file__).resolve().parents[2]
# name → (module, arguments, the exit status this checkout must give)
COMMANDS = {
    "bailong-train --help": ("bailong.cli.train", ["--help"], 0),
    "bailong-train lora.r=0 (config error)": ("bailong.cli.train", ["lora.r=0"], 2),
    "bailong-train trainer=gpu optim.name=paged_adamw (2 errors)": (
        "bailong.cli.train",
        ["trainer=gpu", "optim.name=paged_adamw"],
        2,
    ),
    "bailong-compare --help": ("bailong.cli.compare", ["--help"], 0),
    "bailong-eval --help": ("bailong.cli.eval", ["--help"], 0),
    "bailong-export --help": ("bailong.cli.export", ["--help"], 0),
}
TARGET_S = 2.0


def run(checkout: Path, module: str, args: list[str], cwd: Path, status: int | None) -> float:
    """Seconds for one run; fails unless it exits with ``status`` (None: not checked)."""
    code = f"import sys; sys.argv = ['app', *{args!r}]; from {module} import main; main()"
    env = {**os.environ, "PYTHONPATH": str(checkout), "HYDRA_FULL_ERROR": "0"}
    env["BAILONG_CACHE"] = str(cwd / "cache")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True)
    seconds = time.perf_counter() - start
    if status is not None and proc.returncode != status:
        raise RuntimeError(f"{module} {args}: exit {proc.returncode}: {proc.stderr[-500:]!r}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, required=True, help="an older checkout")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    work = Path(os.environ.get("TMPDIR", "/tmp")) / "bailong-startup-bench"
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, (module, argv, status) in COMMANDS.items():
        times = interleaved(
            {
                "ours": lambda m=module, a=argv, st=status: run(HERE, m, a, work, st),
                "reference": lambda m=module, a=argv: run(args.reference, m, a, work, None),
            },
            args.repeats,
        )
        ours, ref = median(times["ours"]), median(times["reference"])
        met = "yes" if ours < TARGET_S else "no"
        rows.append([name, f"{ours:.2f}", f"{ref:.2f}", f"{ref / ours:.1f}x", met])
    load = os.getloadavg()[0]
    table = markdown_table(
        ["command", "ours (s, median)", "reference (s, median)", "speed-up", f"< {TARGET_S:g} s"],
        rows,
    )
    notes = [
        f"reference: {args.reference}; {args.repeats} runs each, alternating; "
        f"load average {load:.1f} at the end (2 cores shared with other jobs)",
    ]
    report("startup_time", "Command start-up time (--help, config errors)", table, notes)


if __name__ == "__main__":
    main()
