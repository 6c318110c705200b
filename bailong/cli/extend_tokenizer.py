"""``bailong-extend-tokenizer``: train a Traditional Chinese BPE model and append its new
pieces to Llama 2's SentencePiece tokenizer (append-only: every original id is unchanged).

    bailong-extend-tokenizer            # shared zh_tw corpora → 59,241 pieces
    bailong-extend-tokenizer merge.max_added=null spm.vocab_size=8000
    bailong-extend-tokenizer corpus.files=[my_zh.txt] corpus.opencc=s2twp output_dir=out/tok
    bailong-extend-tokenizer addition_model=chinese_sp.model merge.mode=append_all \
        merge.score_policy=zero merge.cjk_only=false merge.max_added=null   # Chinese-LLaMA's merge
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from bailong.cli.hydra_app import hydra_app
from bailong.cli.outputs import report_outputs
from bailong.tokenizer.extend_config import validate_extend_tokenizer_config

PROG = "bailong-extend-tokenizer"


def extend_job(cfg: DictConfig, run_dir: Path) -> None:
    """Build the extended tokenizer in ``output_dir`` (not the run dir: the train app's
    ``tokenizer=extended`` reads it there) and print its report."""
    settings = validate_extend_tokenizer_config(cfg)
    from bailong.tokenizer.extend import extend_tokenizer  # sentencepiece, transformers
    from bailong.tokenizer.report import print_report

    report = extend_tokenizer(settings)
    print_report(report)
    out = Path(settings.output_dir)
    report_outputs(PROG, out, ["tokenizer.model", "tokenizer.json", "report.json"])


main = hydra_app(PROG, __doc__, "extend_tokenizer", extend_job)

if __name__ == "__main__":
    main()
