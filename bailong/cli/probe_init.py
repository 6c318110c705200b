"""``bailong-probe-init``: initial loss and bits per character of each embedding
initialization on held-out zh_tw and English text, before any training.

    bailong-probe-init                                  # tiny model, bundled corpus, seconds
    bailong-probe-init methods=[zip_tie,random] embedding_init.output_weights=first
    bailong-probe-init model=llama2_7b quantization=nf4 \\
        original_tokenizer=/data/llama2/tokenizer.model extended_tokenizer=out/ext.model
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from bailong.apps.probe_config import validate_probe_config
from bailong.cli.hydra_app import hydra_app
from bailong.cli.outputs import report_outputs
from bailong.core.known_noise import silence_known_noise

PROG = "bailong-probe-init"


def probe_job(cfg: DictConfig, output_dir: Path) -> None:
    """Score every initialization method; print the table and save it as JSON."""
    settings = validate_probe_config(cfg)
    silence_known_noise()  # before the imports: some libraries warn at import
    from bailong.apps.probe_run import print_table, run_probe, write_json  # torch: seconds

    rows = run_probe(settings)
    print_table(rows)
    out = write_json(rows, output_dir / "probe_init.json")
    report_outputs(PROG, out.parent, [out.name])


main = hydra_app(PROG, __doc__, "probe_init", probe_job)

if __name__ == "__main__":
    main()
