"""``bailong-probe-init``: initial loss and bits per character of each embedding
initialization on held-out zh_tw and English text, before any training.

    bailong-probe-init                                  # tiny model, bundled corpus, seconds
    bailong-probe-init methods=[zip_tie,random] embedding_init.output_weights=first
    bailong-probe-init model=llama2_7b quantization=nf4 \\
        original_tokenizer=/data/llama2/tokenizer.model extended_tokenizer=out/ext.model
"""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from bailong.apps.probe_config import validate_probe_config
from bailong.cli.conf_dir import conf_dir
from bailong.cli.early_checks import check_command_line
from bailong.cli.hydra_app import answer_help, one_line_config_errors
from bailong.cli.outputs import report_outputs
from bailong.core.known_noise import silence_known_noise

PROG = "bailong-probe-init"


@check_command_line
@hydra.main(version_base="1.3", config_path=conf_dir(), config_name="probe_init")
def hydra_main(cfg: DictConfig) -> None:
    with one_line_config_errors(PROG):
        settings = validate_probe_config(cfg)
    silence_known_noise()  # before the imports: some libraries warn at import
    from bailong.apps.probe_run import print_table, run_probe, write_json  # torch: seconds

    rows = run_probe(settings)
    print_table(rows)
    out = write_json(rows, Path(HydraConfig.get().runtime.output_dir) / "probe_init.json")
    report_outputs(PROG, out.parent, [out.name])


def main() -> None:
    answer_help(PROG, __doc__, "probe_init")
    hydra_main()


if __name__ == "__main__":
    main()
