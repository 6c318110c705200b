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

import hydra
from omegaconf import DictConfig

from bailong.cli.conf_dir import conf_dir
from bailong.cli.early_checks import check_command_line
from bailong.cli.hydra_app import answer_help, one_line_config_errors
from bailong.cli.outputs import report_outputs
from bailong.tokenizer.extend_config import validate_extend_tokenizer_config

PROG = "bailong-extend-tokenizer"


@check_command_line
@hydra.main(version_base="1.3", config_path=conf_dir(), config_name="extend_tokenizer")
def hydra_main(cfg: DictConfig) -> None:
    with one_line_config_errors(PROG):
        settings = validate_extend_tokenizer_config(cfg)
    from bailong.tokenizer.extend import extend_tokenizer  # sentencepiece, transformers
    from bailong.tokenizer.report import print_report

    report = extend_tokenizer(settings)
    print_report(report)
    out = Path(settings.output_dir)
    report_outputs(PROG, out, ["tokenizer.model", "tokenizer.json", "report.json"])


def main() -> None:
    answer_help(PROG, __doc__, "extend_tokenizer")
    hydra_main()


if __name__ == "__main__":
    main()
