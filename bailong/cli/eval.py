"""``bailong-eval``: score a trained run (or a Hugging Face model dir) on one benchmark:
bits per character and perplexity per language, multiple choice (TMMLU), or MT-Bench-TW.

bailong-eval model_path=logs/train/runs/<run>                      # bits per char, ppl
bailong-eval model_path=<run> eval=tmmlu eval.multiple_choice.k_shot=5
bailong-eval model_path=<run> eval=mc_file eval.multiple_choice.path=TCIC.json
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

from bailong.cli.conf_dir import conf_dir
from bailong.cli.early_checks import check_command_line
from bailong.cli.hydra_app import answer_help, one_line_config_errors
from bailong.cli.outputs import report_outputs, to_job_log
from bailong.core.known_noise import silence_known_noise
from bailong.eval.config import validate_eval_config
from bailong.training.task import run_task

PROG = "bailong-eval"


def print_results(metrics: dict[str, float], title: str) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.4f}" if value != int(value) else f"{int(value)}")
    Console().print(table)


@check_command_line
@hydra.main(version_base="1.3", config_path=conf_dir(), config_name="eval")
def hydra_main(cfg: DictConfig) -> None:
    output_dir = Path(HydraConfig.get().runtime.output_dir)

    def job() -> dict[str, float]:
        # inside run_task, which first scrubs secrets from the configs Hydra saved
        settings = validate_eval_config(cfg)
        silence_known_noise()  # before the imports: some libraries warn at import
        from bailong.apps.eval_run import evaluate  # torch, transformers, peft: seconds

        return evaluate(settings, output_dir)

    with one_line_config_errors(PROG):
        metrics = run_task(job, output_dir)
    title = f"{cfg.eval.kind}: {cfg.model_path}"
    print_results(metrics, title)
    to_job_log(f"{title}: " + ", ".join(f"{k}={v:.6g}" for k, v in metrics.items()))
    report_outputs(PROG, output_dir, ["results.json", "mc_progress.jsonl", "answers", "judgments"])


def main() -> None:
    answer_help(PROG, __doc__, "eval")
    hydra_main()


if __name__ == "__main__":
    main()
