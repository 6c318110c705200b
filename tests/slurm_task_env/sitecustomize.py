"""Test shim: each task of a submitit *local* job gets the variables srun gives a Slurm task.

tests/cli/test_submitit_launcher.py puts this folder on PYTHONPATH, so Python runs it at start-up
in every process of the test's sweep. submitit's local executor starts ``tasks_per_node``
processes and tells each its rank through SUBMITIT_LOCAL_* variables; under Slurm, srun sets
SLURM_* ones instead. With those copied, Lightning picks its SLURMEnvironment (the one it uses
on a cluster) and joins the tasks into one DDP process group: the ``hydra/launcher=slurm_ddp``
path on one machine, without Slurm. Processes that are not such tasks are left alone.
"""

import os

if "SUBMITIT_LOCAL_GLOBALID" in os.environ:
    os.environ.update(
        SLURM_JOB_ID=os.environ["SUBMITIT_LOCAL_JOB_ID"],
        SLURM_JOB_NAME="train",
        SLURM_NTASKS=os.environ["SUBMITIT_LOCAL_NTASKS"],
        SLURM_NTASKS_PER_NODE=os.environ["SUBMITIT_LOCAL_NTASKS"],
        SLURM_NNODES="1",
        SLURM_NODEID="0",
        SLURM_NODELIST="127.0.0.1",
        SLURM_PROCID=os.environ["SUBMITIT_LOCAL_GLOBALID"],
        SLURM_LOCALID=os.environ["SUBMITIT_LOCAL_LOCALID"],
    )
