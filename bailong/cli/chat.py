"""``bailong-chat``: talk to a trained run (or a Hugging Face model dir), streamed.

    bailong-chat logs/train/runs/<run>
    bailong-chat <run> --max-new-tokens 256 --temperature 0.7 --system "你是一個樂於助人的助理。"
    echo "臺灣最高的山是哪一座？" | bailong-chat <run>

Type /reset to start a new conversation, /exit (or Ctrl-D) to quit.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bailong.core.known_noise import silence_known_noise
from bailong.data.config import CHAT_TEMPLATES
from bailong.model.config import DTYPES


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bailong-chat",
        description=__doc__.split("\n\n")[0].replace("``", ""),
        epilog=__doc__.split("\n\n", 1)[1].rstrip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model_path", help="a train run dir, its adapter/ dir, or an HF model dir")
    parser.add_argument("--max-new-tokens", type=int, default=512)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--top-p", type=float, default=0.9)
    parser.add_argument("--repetition-penalty", type=float, default=1.1)
    parser.add_argument("--system", default=None, help="a system prompt")
    parser.add_argument("--template", choices=CHAT_TEMPLATES, default=None)
    parser.add_argument("--no-quantize", action="store_true", help="full-precision base")
    parser.add_argument("--dtype", choices=DTYPES, default=None)
    parser.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="run Python code shipped with the model/tokenizer (never taken from the run dir)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    silence_known_noise()  # before the imports: some libraries warn at import
    from bailong.apps.reload import load_trained
    from bailong.eval.chat import chat_loop  # torch, transformers, peft: seconds
    from bailong.eval.generate import GenerationSettings

    quantize = False if args.no_quantize else None
    lm = load_trained(
        args.model_path,
        quantize=quantize,
        dtype=args.dtype,
        trust_remote_code=args.trust_remote_code,
    )
    settings = GenerationSettings(
        args.max_new_tokens, args.temperature, args.top_p, args.repetition_penalty
    )
    template = args.template or lm.chat_template
    print(
        f"bailong-chat: {args.model_path} ({template} chat format). Type a message and press "
        "Enter; /reset starts a new conversation, /exit or Ctrl-D quits.",
        flush=True,
    )
    chat_loop(lm.model, lm.tokenizer, template, settings, sys.stdin, sys.stdout, args.system)


if __name__ == "__main__":
    main()
