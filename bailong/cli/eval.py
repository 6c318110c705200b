"""``bailong-eval``: score a trained run (or a Hugging Face model dir) on one benchmark.

bailong-eval model_path=logs/train/runs/<run>                      # bits per char, ppl
bailong-eval model_path=<run> eval=tmmlu eval.multiple_choice.k_shot=5
bailong-eval model_path=<run> eval=mt_bench_tw eval.generation.judge.enabled=true
bailong-eval -m model_path=<run>,/models/Llama-2-7b-hf eval=perplexity,tmmlu
"""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from bailong.cli.early_checks import check_command_line
from bailong.conf_dir import conf_dir
from bailong.config import validate_eval_config
from bailong.eval.run import evaluate
from bailong.training.task import run_task


def print_results(metrics: dict[str, float], title: str) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.4f}" if value != int(value) else f"{int(value)}")
    Console().print(table)


@check_command_line
@hydra.main(version_base="1.3", config_path=conf_dir(), config_name="eval")
def main(cfg: DictConfig) -> None:
    output_dir = Path(HydraConfig.get().runtime.output_dir)

    def job() -> dict[str, float]:
        # inside run_task, which first scrubs secrets from the configs Hydra saved
        settings = validate_eval_config(cfg)
        return evaluate(settings, output_dir)

    metrics = run_task(job, output_dir)
    print_results(metrics, f"{cfg.eval.kind}: {cfg.model_path}")


if __name__ == "__main__":
    main()
