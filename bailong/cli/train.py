"""``bailong-train``: continued pretraining (QLoRA: a 4-bit NF4 base + LoRA adapters and
trainable embeddings) or multi-turn SFT of a Llama, configured with Hydra, trained with Lightning.

    bailong-train                                   # tiny 4-bit Llama on the bundled corpus, CPU
    bailong-train experiment=tiny_smoke lora=r16    # swap config groups
    bailong-train vocab=extended embedding_init=zip_tie   # extended tokenizer, zip-tie rows
    bailong-train -m lora=r8,r16 seed=1,2           # a multirun sweep, one job per combination
    bailong-train hydra.run.dir=<run> ckpt_path=last      # resume a killed run
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from bailong.cli.hydra_app import hydra_app
from bailong.cli.outputs import report_outputs
from bailong.core.known_noise import route_lightning_logs_through_root, silence_known_noise
from bailong.training.task import hydra_context, optimized_metric
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


def train_job(cfg: DictConfig, output_dir: Path) -> float | None:
    """One training job; returns the metric a sweeper optimizes (``optimized_metric``)."""
    settings = validate_train_config(cfg)  # before anything loads
    from bailong.training.sweep_launch import check_sweep_launch  # imports lightning

    check_sweep_launch(settings.trainer)
    silence_known_noise()
    from bailong.training.run import train  # lightning, transformers, peft: seconds

    route_lightning_logs_through_root()
    ctx = hydra_context(settings.task_name)
    metrics = train(settings, ctx)
    report_outputs(PROG, ctx.output_dir, TRAIN_OUTPUTS)
    return optimized_metric(metrics, cfg.get("optimized_metric"))


main = hydra_app(PROG, __doc__, "train", train_job, check_arms=True)

if __name__ == "__main__":
    main()
