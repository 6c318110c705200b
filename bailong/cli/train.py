"""``bailong-train``: continued pretraining (QLoRA: a 4-bit NF4 base + LoRA adapters and
trainable embeddings) or multi-turn SFT of a Llama, configured with Hydra, trained with Lightning.

    bailong-train                                   # tiny 4-bit Llama on the bundled corpus, CPU
    bailong-train experiment=tiny_smoke lora=r16    # swap config groups
    bailong-train vocab=extended embedding_init=zip_tie   # extended tokenizer, zip-tie rows
    bailong-train -m lora=r8,r16 seed=1,2           # a multirun sweep, one job per combination
    bailong-train hydra.run.dir=<run> ckpt_path=last      # resume a killed run
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from bailong.cli.conf_dir import conf_dir
from bailong.cli.early_checks import check_command_line
from bailong.cli.hydra_app import answer_help, one_line_config_errors
from bailong.cli.outputs import report_outputs
from bailong.cli.sweep_arms import check_sweep_arms
from bailong.core.known_noise import route_lightning_logs_through_root, silence_known_noise
from bailong.training.task import hydra_context, optimized_metric, run_task
from bailong.training.validate import validate_train_config

PROG = "bailong-train"
TRAIN_OUTPUTS = (
    "csv/metrics.csv",
    "checkpoints/last.ckpt",
    "checkpoints/best.ckpt",
    "adapter",
    "model",
    "wandb",
    "FAILED",
)


@check_command_line
@check_sweep_arms("train")
@hydra.main(version_base="1.3", config_path=conf_dir(), config_name="train")
def hydra_main(cfg: DictConfig) -> float | None:
    def job() -> dict[str, float]:
        settings = validate_train_config(cfg)  # before anything loads
        from bailong.training.sweep_launch import check_sweep_launch  # imports lightning

        check_sweep_launch(settings.trainer)
        silence_known_noise()
        from bailong.training.run import train  # lightning, transformers, peft: seconds

        route_lightning_logs_through_root()
        ctx = hydra_context(settings.task_name)
        metrics = train(settings, ctx)
        report_outputs(PROG, ctx.output_dir, TRAIN_OUTPUTS)
        return metrics

    with one_line_config_errors(PROG):
        return optimized_metric(run_task(job), cfg.get("optimized_metric"))


def main() -> float | None:
    answer_help(PROG, __doc__, "train")
    return hydra_main()


if __name__ == "__main__":
    main()
