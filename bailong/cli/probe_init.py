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

from bailong.cli.early_checks import check_command_line
from bailong.conf_dir import conf_dir
from bailong.config import validate_probe_config
from bailong.embeddings.probe_run import print_table, run_probe, write_json


@check_command_line
@hydra.main(version_base="1.3", config_path=conf_dir(), config_name="probe_init")
def main(cfg: DictConfig) -> None:
    settings = validate_probe_config(cfg)
    rows = run_probe(settings)
    print_table(rows)
    out = write_json(rows, Path(HydraConfig.get().runtime.output_dir) / "probe_init.json")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
