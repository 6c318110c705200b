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

from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from bailong.cli.hydra_app import hydra_app
from bailong.cli.outputs import report_outputs, to_job_log
from bailong.core.known_noise import silence_known_noise
from bailong.eval.config import validate_eval_config

PROG = "bailong-eval"


def print_results(metrics: dict[str, float], title: str) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.4f}" if value != int(value) else f"{int(value)}")
    Console().print(table)


def eval_job(cfg: DictConfig, output_dir: Path) -> None:
    """Score one model on one benchmark; print, log and save the results."""
    settings = validate_eval_config(cfg)
    silence_known_noise()  # before the imports: some libraries warn at import
    from bailong.apps.eval_run import evaluate  # torch, transformers, peft: seconds

    metrics = evaluate(settings, output_dir)
    title = f"{cfg.eval.kind}: {cfg.model_path}"
    print_results(metrics, title)
    to_job_log(f"{title}: " + ", ".join(f"{k}={v:.6g}" for k, v in metrics.items()))
    report_outputs(PROG, output_dir, ["results.json", "mc_progress.jsonl", "answers", "judgments"])


main = hydra_app(PROG, __doc__, "eval", eval_job)

if __name__ == "__main__":
    main()
