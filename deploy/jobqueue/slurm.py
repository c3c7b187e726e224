"""Run a calib sweep on SLURM (or PBS) workers started by dask-jobqueue.

    pip install 'calib[jobqueue]'
    python deploy/jobqueue/slurm.py sweep.toml /shared/runs/sweep.zarr [N_JOBS]

The scheduler runs in this process (on the login node); each SLURM job runs one worker
process with one thread (the solver is single-threaded).  Every worker must see the store path
(a shared filesystem).  For PBS use `dask_jobqueue.PBSCluster` with the same arguments.
"""

from __future__ import annotations

import sys
from typing import Any


def make_cluster(*, queue: str | None = None, account: str | None = None,
                 walltime: str = "02:00:00", memory: str = "2GB") -> Any:
    """A `dask_jobqueue.SLURMCluster` whose jobs each run one one-thread calib worker."""
    from dask_jobqueue import SLURMCluster

    return SLURMCluster(cores=1, processes=1, memory=memory, walltime=walltime, queue=queue,
                        account=account, job_name="calib-worker",
                        job_script_prologue=["export OPENBLAS_NUM_THREADS=1"],
                        scheduler_options={"dashboard_address": "127.0.0.1:0"})


def main(spec_path: str, store: str, n_jobs: int = 4) -> None:
    from distributed import Client

    from jobs.runner import run_sweep
    from jobs.spec import load_spec

    with make_cluster() as cluster, Client(cluster) as client:
        cluster.scale(jobs=n_jobs)
        report = run_sweep(load_spec(spec_path), store, client)
    print(f"store: {report.store} ({report.tasks_run} tasks run, {report.starts_failed} "
          "starts failed)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:4]))
