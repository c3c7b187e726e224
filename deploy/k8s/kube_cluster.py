"""Run a calib sweep on a Dask cluster created by the Dask Kubernetes operator from Python.

    pip install dask-kubernetes          # the operator itself: see deploy/README.md
    python deploy/k8s/kube_cluster.py sweep.toml /stores/sweep.zarr

Run it from a pod that mounts the same ``/stores`` volume as the workers (the store path is
written by the workers).  ``make_cluster`` builds the same cluster as ``daskcluster.yaml``.
"""

from __future__ import annotations

import sys
from typing import Any

IMAGE = "calib:0.1.0"


def make_cluster(n_workers: int = 4) -> Any:
    """A `dask_kubernetes.operator.KubeCluster` of ``n_workers`` one-thread calib workers."""
    from dask_kubernetes.operator import KubeCluster, make_cluster_spec

    spec = make_cluster_spec(name="calib", image=IMAGE, n_workers=n_workers,
                             resources={"requests": {"cpu": "1", "memory": "2Gi"},
                                        "limits": {"cpu": "1", "memory": "2Gi"}},
                             worker_command="dask worker --nthreads 1")
    return KubeCluster(custom_cluster_spec=spec)


def main(spec_path: str, store: str) -> None:
    from distributed import Client

    from jobs.runner import run_sweep
    from jobs.spec import load_spec

    with make_cluster() as cluster, Client(cluster) as client:
        report = run_sweep(load_spec(spec_path), store, client)
    print(f"store: {report.store} ({report.tasks_run} tasks run, {report.starts_failed} "
          "starts failed)")


if __name__ == "__main__":
    main(*sys.argv[1:3])
