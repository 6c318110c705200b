"""``bailong-extend-tokenizer``: train a Traditional Chinese BPE model and append it to Llama 2's.

bailong-extend-tokenizer            # shared zh_tw corpora → 59,241 pieces
bailong-extend-tokenizer merge.max_added=null spm.vocab_size=8000
bailong-extend-tokenizer corpus.files=[my_zh.txt] corpus.opencc=s2twp output_dir=out/tok
bailong-extend-tokenizer addition_model=chinese_sp.model merge.mode=append_all \
    merge.score_policy=zero merge.cjk_only=false merge.max_added=null   # Chinese-LLaMA's merge
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from bailong.cli.early_checks import check_command_line
from bailong.conf_dir import conf_dir
from bailong.config import validate_extend_tokenizer_config
from bailong.tokenizer.extend import extend_tokenizer
from bailong.tokenizer.report import print_report


@check_command_line
@hydra.main(version_base="1.3", config_path=conf_dir(), config_name="extend_tokenizer")
def main(cfg: DictConfig) -> None:
    settings = validate_extend_tokenizer_config(cfg)
    report = extend_tokenizer(settings)
    print_report(report)
    print(f"extended tokenizer written to {settings.output_dir}")


if __name__ == "__main__":
    main()
