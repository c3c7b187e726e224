"""Sweep throughput (starts per second): calib per-start and batched on 1 and 2 Dask workers
vs a plain scipy loop and a ``multiprocessing.Pool(2)`` of scipy.

Run from the repository root:
``python -m benchmarks.sweep_throughput [--starts 64] [--models ou garch11] [--modes per-start]``

For each demo model the same simulated datasets and the same start points (calib's sampler) are
solved, in one run, by:

* ``loop``: ``scipy.optimize.minimize`` in a plain Python loop in this process, on the same
  objective in the same internal (log) coordinates with the same bounds and method;
* ``pool2``: the same calls in a ``multiprocessing.Pool(2)``, split into as many pieces as
  calib has tasks (pool start-up excluded);
* ``calib per-start`` (``[run] batch = false``) and ``calib batched`` (the default for a
  vectorised objective), each on 1 and 2 workers: the whole ``calib run`` path (planner with its
  probe, tasks, zarr store writes, selection) on calib's embedded LocalCluster
  (`jobs.cluster.connect`) started beforehand,
  timed from submission to the finished store, with ``[run].starts_per_task`` left to the
  planner unless ``--starts-per-task`` is given.

Each measurement runs ``--repeat`` times (default 2) and the fastest counts. It prints
starts/s and the ratios to the loop and to the pool (above 1: calib is faster), and
the machine load before and after.  Cluster start-up and the workers' first imports are
excluded from the calib timings (a long sweep amortises them) and reported separately.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402

from calib.problem import Problem  # noqa: E402
from jobs.cluster import connect  # noqa: E402
from jobs.plan import plan_sweep  # noqa: E402
from jobs.runner import run_sweep  # noqa: E402
from jobs.spec import SweepSpec, parse_spec  # noqa: E402
from jobs.task import build_problem, chunk_starts  # noqa: E402

TRUTH = {
    "ou": {"theta": 1.0, "mu": 0.5, "sigma": 0.3},
    "garch11": {"omega": 0.05, "alpha": 0.1, "beta": 0.85},
    "linear": {"a": 2.0, "b": 1.0},
}


def make_spec(model: str, starts: int, datasets: int, points: int, method: str,
              starts_per_task: int | None = None, batch: bool = True) -> SweepSpec:
    tables = {
        "sweep": {"name": f"bench-{model}", "seed": 11},
        "model": {"builtin": model},
        "data": {"simulate": {"datasets": datasets, "points": points, "truth": TRUTH[model]}},
        "starts": {"n": starts, "sampler": "sobol"},
        "solver": {"method": method},
        "run": {"batch": batch},
    }
    if starts_per_task is not None:
        tables["run"]["starts_per_task"] = starts_per_task
    return parse_spec(tables, Path.cwd())


def _scipy_jobs(spec: SweepSpec) -> list[tuple[Problem, np.ndarray]]:
    """(problem, start points (n, p)) per dataset: the same work calib does."""
    plan = plan_sweep(spec)
    problems: list[Problem] = [build_problem(spec, ds) for ds in plan.datasets]
    return [(problem, chunk_starts(spec, d, 0, spec.starts.n))
            for d, problem in enumerate(problems)]


def _scipy_solve(problem: Problem, points: np.ndarray, method: str) -> int:
    """Solve every start of one dataset with scipy; returns how many starts ran."""
    bounds = list(zip(problem.internal_lower, problem.internal_upper))
    for x0 in points:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scipy.optimize.minimize(problem.internal_objective, problem.to_internal(x0),
                                    method=method, bounds=bounds)
    return len(points)


def scipy_loop(spec: SweepSpec) -> float:
    """Seconds for scipy to solve every start of every dataset in a plain loop."""
    jobs = _scipy_jobs(spec)
    began = time.perf_counter()
    for problem, points in jobs:
        _scipy_solve(problem, points, spec.solver.method)
    return time.perf_counter() - began


def scipy_pool(spec: SweepSpec, processes: int = 2) -> float:
    """Seconds for a ``multiprocessing.Pool(processes)`` of scipy (pool start excluded).

    The work is split into as many pieces as calib has tasks (dataset x chunk), so both get
    the same granularity.
    """
    per_task = plan_sweep(spec).layout.starts_per_task
    pieces = [(problem, points[i:i + per_task], spec.solver.method)
              for problem, points in _scipy_jobs(spec)
              for i in range(0, len(points), per_task)]
    with multiprocessing.get_context("spawn").Pool(processes, initializer=_pool_init) as pool:
        pool.starmap(_scipy_solve, pieces[:processes])  # warm: imports in every process
        began = time.perf_counter()
        pool.starmap(_scipy_solve, pieces, chunksize=1)
        return time.perf_counter() - began


def _pool_init() -> None:
    np.seterr(all="ignore")


def _warm_up() -> None:
    import jobs.task  # noqa: F401
    import solvers.methods.lbfgsb  # noqa: F401


def calib_run(spec: SweepSpec, workers: int) -> tuple[float, float]:
    """(start-up seconds, sweep seconds) for calib on an embedded cluster of ``workers``."""
    began = time.perf_counter()
    with connect(scheduler=None, scheduler_file=None, workers=workers) as client:  # calib run's
        client.wait_for_workers(workers)
        client.run(_warm_up)  # imports on every worker, as a long sweep amortises them
        ready = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            run_sweep(spec, str(Path(tmp) / "bench.zarr"), client)
            done = time.perf_counter()
    return ready - began, done - ready


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min) {five:.2f} (5 min)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="*", default=["ou", "garch11", "linear"])
    parser.add_argument("--starts", type=int, default=64)
    parser.add_argument("--datasets", type=int, default=4)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--method", default="L-BFGS-B")
    parser.add_argument("--starts-per-task", type=int, default=None,
                        help="[run].starts_per_task (default: the planner's rule)")
    parser.add_argument("--modes", nargs="*", default=["per-start", "batched"],
                        choices=["per-start", "batched"])
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs of each measurement; the fastest counts (the machine is "
                             "shared: the fastest run is the least disturbed one)")
    args = parser.parse_args()
    print(f"{args.datasets} datasets x {args.starts} starts, {args.points} points, "
          f"{args.method}, {os.cpu_count()} cores, {_load()}")
    print(f"{'model':<9} {'mode':<10} {'B':>4} {'loop/s':>8} {'pool2/s':>8} {'calib1/s':>9} "
          f"{'calib2/s':>9} {'1w/loop':>8} {'2w/loop':>8} {'2w/pool':>8} {'startup s':>9}")
    for model in args.models:
        base = make_spec(model, args.starts, args.datasets, args.points, args.method,
                         args.starts_per_task)
        total = args.starts * args.datasets
        loop = total / min(scipy_loop(base) for _ in range(args.repeat))
        pool = total / min(scipy_pool(base) for _ in range(args.repeat))
        for mode in args.modes:
            spec = make_spec(model, args.starts, args.datasets, args.points, args.method,
                             args.starts_per_task, batch=mode == "batched")
            per_task = plan_sweep(spec).layout.starts_per_task
            up1, t1 = min((calib_run(spec, 1) for _ in range(args.repeat)), key=lambda r: r[1])
            up2, t2 = min((calib_run(spec, 2) for _ in range(args.repeat)), key=lambda r: r[1])
            one, two = total / t1, total / t2
            print(f"{model:<9} {mode:<10} {per_task:>4} {loop:8.1f} {pool:8.1f} {one:9.1f} "
                  f"{two:9.1f} {one / loop:8.2f} {two / loop:8.2f} {two / pool:8.2f} "
                  f"{max(up1, up2):9.2f}", flush=True)
    print(_load())


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
