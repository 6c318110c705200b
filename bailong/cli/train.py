"""``bailong-train``: QLoRA continued pretraining (or SFT) from a Hydra config.

bailong-train                                   # tiny 4-bit Llama on the bundled corpus
bailong-train experiment=tiny_smoke lora=r16    # swap config groups
bailong-train -m lora=r8,r16 seed=1,2           # a multirun sweep, one job per combination
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from bailong.cli.early_checks import check_command_line
from bailong.conf_dir import conf_dir
from bailong.config import validate_train_config
from bailong.training.run import train
from bailong.training.sweep_launch import check_sweep_launch
from bailong.training.task import hydra_context, optimized_metric, run_task


@check_command_line
@hydra.main(version_base="1.3", config_path=conf_dir(), config_name="train")
def main(cfg: DictConfig) -> float | None:
    def job() -> dict[str, float]:
        settings = validate_train_config(cfg)  # before anything loads
        check_sweep_launch(settings.trainer)
        return train(settings, hydra_context(settings.task_name))

    return optimized_metric(run_task(job), cfg.get("optimized_metric"))


if __name__ == "__main__":
    main()
