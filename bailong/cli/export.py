"""``bailong-export``: merge a trained run's LoRA into a full-precision base and save a plain
Hugging Face model directory (weights + extended tokenizer) that loads without peft/bailong.


    bailong-export logs/train/runs/<run> exported/bailong-7b --dtype bfloat16
    bailong-export <run> out --base original     # merge into the original (unquantized) weights
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from bailong.cli.outputs import report_outputs
from bailong.core.known_noise import silence_known_noise
from bailong.model.config import DTYPES, EXPORT_BASES


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bailong-export",
        description=__doc__.split("\n\n")[0].replace("``", ""),
        epilog=__doc__.split("\n\n")[1].rstrip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run", help="a train run dir or its adapter/ dir")
    parser.add_argument("out_dir", help="where to write the merged model (new or empty)")
    parser.add_argument("--dtype", choices=DTYPES, default="bfloat16")
    parser.add_argument(
        "--base",
        choices=EXPORT_BASES,
        default="dequantized",
        help="dequantized: the 4-bit weights training saw (default); original: unquantized",
    )
    parser.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="run Python code shipped with the model/tokenizer (never taken from the run dir)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    silence_known_noise()  # before the imports: some libraries warn at import
    from bailong.apps.export import export_run  # torch, transformers, peft: seconds

    out = Path(
        export_run(
            args.run,
            args.out_dir,
            base=args.base,
            dtype=args.dtype,
            trust_remote_code=args.trust_remote_code,
        )
    )
    print(f"exported {args.run} ({args.dtype}, LoRA merged into the {args.base} base)")
    report_outputs("bailong-export", out, sorted(p.name for p in out.iterdir()))


if __name__ == "__main__":
    main()
