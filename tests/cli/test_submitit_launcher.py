"""A sweep config launched through Hydra's submitit launcher with its local executor.

``hydra/launcher=local_parallel`` is the submitit plugin's launcher (the class that also
drives Slurm through ``hydra/launcher=slurm``), with jobs as local processes instead of
``sbatch`` array tasks: pickled job, one process per job, results collected from the
``.submitit`` folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bailong.analysis.runs import find_jobs
from bailong.cli.compare import main as compare_main
from tests.cli.test_sweep import TINY, run_train


@pytest.mark.slow
def test_sweep_runs_one_process_per_job_and_reports_the_failing_one(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    # ablate_lora_rank_tiny's grid plus lora=none, which a 4-bit base rejects at validation;
    # with an extra --config-dir the sweep's up-front check of every arm is left to each job,
    # so that job starts, fails in its own process and is reported
    extra = tmp_path / "extra_conf"
    extra.mkdir()
    grid = "hydra.sweeper.params.lora='r8,r16,r64,none'"
    args = ["-m", "--config-dir", str(extra), "hydra/launcher=local_parallel"]
    args += ["experiment=ablate_lora_rank_tiny", grid]
    proc = run_train([*args, f"hydra.sweep.dir={sweep}", *TINY], tmp_path)
    assert proc.returncode != 0, "the sweep reports its failed job"
    assert "use quantization=none with lora=none" in proc.stderr

    jobs = find_jobs(sweep)
    assert [j.label for j in jobs] == ["lora=r8", "lora=r16", "lora=r64", "lora=none"]
    assert [j.path for j in jobs] == [sweep / str(n) for n in range(4)], "one dir per job"
    submitit_ids = sorted(p.name for p in (sweep / ".submitit").iterdir() if p.name.isdigit())
    job_ids = sorted(
        str(yaml.safe_load((j.path / ".hydra" / "hydra.yaml").read_text())["hydra"]["job"]["id"])
        for j in jobs
    )
    assert len(set(job_ids)) == 4 and job_ids == submitit_ids, "each job was a submitit process"

    *ok, bad = jobs
    for job, rank in zip(ok, (8, 16, 64), strict=True):
        assert not job.failed and "train/loss" in job.metrics()
        adapter = json.loads((job.path / "adapter" / "adapter_config.json").read_text())
        assert adapter["r"] == rank
        assert len(list((job.path / "wandb").glob("offline-run-*"))) == 1
    assert bad.failed and "lora=none" in bad.failure
    assert not (bad.path / "adapter").exists()

    compare_main([str(sweep)])
    table = pd.read_csv(sweep / "compare" / "summary.csv")
    assert list(table["status"]) == ["ok", "ok", "ok", "failed"]


FAKE_SBATCH = """#!/bin/sh
# Stands in for Slurm's sbatch: keeps the script it was given, then refuses like a login node
# without a cluster would.
cp "$1" "$SBATCH_CAPTURE"
echo "sbatch: error: no cluster here (test)" >&2
exit 1
"""


def test_a_sweep_of_n_jobs_is_one_slurm_array_of_n_tasks_with_the_configured_knobs(
    tmp_path: Path,
) -> None:
    """``hydra/launcher=slurm`` writes the sbatch script submitit would submit; its directives
    carry the config's knobs and one ``--array`` entry per sweep job."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # submitit looks for srun before it submits; sbatch is the only command it runs here
    for name, script in (("sbatch", FAKE_SBATCH), ("srun", "#!/bin/sh\nexit 1\n")):
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    capture = tmp_path / "submitted.sh"
    sweep = tmp_path / "sweep"
    proc = run_train(
        [
            "-m",
            "hydra/launcher=slurm",
            "hydra.launcher.partition=gpu-a100",
            "hydra.launcher.timeout_min=600",
            "hydra.launcher.mem_gb=48",
            "hydra.launcher.array_parallelism=2",
            "experiment=ablate_lora_rank",
            f"hydra.sweep.dir={sweep}",
        ],
        tmp_path,
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "SBATCH_CAPTURE": str(capture)},
    )
    assert proc.returncode != 0 and "no cluster here" in proc.stderr
    script = capture.read_text()
    directives = {line for line in script.splitlines() if line.startswith("#SBATCH")}
    assert {
        "#SBATCH --partition=gpu-a100",
        "#SBATCH --gpus-per-node=1",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --mem=48GB",
        "#SBATCH --time=600",
        "#SBATCH --nodes=1",
        "#SBATCH --ntasks-per-node=1",
        "#SBATCH --array=0-2%2",  # lora.r=16,64,128: three jobs, at most two at once
    } <= directives, script
    assert "srun" in script and "submitit.core._submit" in script
    pickled = list((sweep / ".submitit").rglob("*.pkl"))
    assert len(pickled) == 3, f"one pickled job per sweep job: {pickled}"


@pytest.mark.slow
def test_a_sweep_job_with_one_task_per_device_trains_as_one_ddp_group(tmp_path: Path) -> None:
    """``hydra/launcher=slurm_ddp``'s path: submitit starts two tasks for one sweep job, and
    Lightning's SLURMEnvironment joins them. Slurm itself is emulated (tests/slurm_task_env)."""
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        "hydra/launcher=local_parallel",
        "hydra.launcher.tasks_per_node=2",
        "experiment=tiny_cpu",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.precision=32-true",
        f"hydra.sweep.dir={sweep}",
        *TINY,
    ]
    shim = Path(__file__).parents[1] / "slurm_task_env"
    proc = run_train(args, tmp_path, env={"PYTHONPATH": str(shim)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    [job] = find_jobs(sweep)
    [submitted] = [p for p in (sweep / ".submitit").iterdir() if p.name.isdigit()]
    task_logs = sorted(p.name for p in submitted.glob("*_log.err"))
    assert task_logs == [f"{submitted.name}_{k}_log.err" for k in (0, 1)], "two tasks ran"
    task1 = "".join(p.read_text() for p in submitted.glob(f"{submitted.name}_1_log.*"))
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in task1, task1[-2000:]
    hparams = yaml.safe_load((job.path / "csv" / "hparams.yaml").read_text())
    assert hparams["world_size"] == 2
    tokens = job.metrics()["train/tokens_seen"].dropna().tolist()
    assert tokens == [hparams["global_batch_tokens"] * (s + 1) for s in range(4)]
    assert (job.path / "adapter" / "adapter_model.safetensors").is_file()
