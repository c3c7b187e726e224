"""Sweep throughput (starts per second), side by side in one run: a plain scipy loop, a
``multiprocessing.Pool(2)`` of scipy, and ``calib run`` per-start and batched on 1 and 2 Dask
workers, on normal MLE, sinusoid, linear regression, Rosenbrock-10 (a user objective, finite-
difference gradients), GARCH(1,1) and OU; then how the cost grows from 1x to 16x the work.

Run from the repository root (the full run takes about 10 minutes on 2 cores)::

    python -m benchmarks.sweep_throughput            # 4 datasets x 64 starts per model
    python -m benchmarks.sweep_throughput --quick    # smoke run, well under a minute
    python -m benchmarks.sweep_throughput --models ou garch11 --repeat 3 --no-growth

For each model the same datasets and start points (calib's Sobol sampler) are solved with
L-BFGS-B and finite-difference gradients by:

* ``loop``: ``scipy.optimize.minimize`` in a plain loop in this process, on the same objective
  in the same internal (log) coordinates with the same bounds;
* ``pool2``: the same calls in a ``multiprocessing.Pool(2)`` (started beforehand), split into as
  many pieces as the per-start calib run has tasks;
* ``calib per-start`` (``[run] batch = false``) and ``calib batched`` (the default for a
  vectorised objective) on an embedded LocalCluster of 1 and of 2 workers (`jobs.cluster.connect`,
  started once for the whole run; cluster start-up is reported, not counted): the whole
  ``calib run`` path — planning with its probe, store creation, tasks, store writes, selection
  — with ``[run].starts_per_task`` left to the planner. Rosenbrock-10 runs as a user's objective
  would (`benchmarks.objectives`, CSV datasets, ``[model].vectorized``).

A calib run is timed in phases: ``plan`` (`jobs.plan.plan_sweep`: data, probe, layout),
``store`` (`jobs.runner.prepare_store`: the empty zarr store), ``work`` (from the call of
`jobs.runner.run_sweep`, which resumes that empty store, to the last task's report: submission,
every task with its store writes), ``select`` (after the last task: the selection the client
computes and writes). ``wall`` is their sum; the *marginal* throughput is starts / ``work``,
i.e. with the fixed start-up cost (plan, store, selection; issue 9 counts cluster start,
planning and selection as fixed) subtracted. ``in tasks`` is the sum of the tasks'
own wall times as the workers report them, ``in starts`` the sum of the stored per-start times.

Every measurement runs ``--repeat`` times (default 2) and the fastest counts (the machine is
shared: the fastest run is the least disturbed one); the machine load is printed before and
after. Tables are printed as Markdown (docs/performance.md holds one run).
"""

from __future__ import annotations

import os

# One BLAS thread, as calib's workers have (with OpenBLAS's threads on 2 cores scipy's L-BFGS-B
# is ~10x slower per call). Must be set before numpy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import multiprocessing  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import scipy.optimize  # type: ignore[import-untyped]  # noqa: E402

from benchmarks.objectives import ROSEN_DIMENSION  # noqa: E402
import solvers  # noqa: E402
from calib.problem import Problem  # noqa: E402
from calib.run import run_start  # noqa: E402
from jobs.cluster import connect  # noqa: E402
from jobs.plan import plan_sweep  # noqa: E402
from jobs.runner import prepare_store, run_sweep  # noqa: E402
from jobs.spec import SweepSpec, parse_spec  # noqa: E402
from jobs.store import Store  # noqa: E402
from jobs.task import build_problem, chunk_starts  # noqa: E402


@dataclass(frozen=True)
class BenchModel:
    """One benchmark model: rows per dataset, simulation truth (None: a user objective on CSV
    files) and the issue-9 target for batched on 1 worker over the loop (marginal)."""

    name: str
    points: int
    truth: dict[str, float] | None
    target: float


MODELS = {m.name: m for m in (
    BenchModel("normal", 300, {"mu": 3.0, "sigma": 1.7}, 30.0),
    BenchModel("sinusoid", 200, {"a": 1.8, "b": 0.3, "c": -0.7}, 30.0),
    BenchModel("linear", 200, {"a": 2.0, "b": 1.0}, 30.0),
    BenchModel("rosen10", ROSEN_DIMENSION, None, 100.0),
    BenchModel("garch11", 1000, {"omega": 0.05, "alpha": 0.1, "beta": 0.85}, 3.0),
    BenchModel("ou", 1000, {"theta": 1.0, "mu": 0.5, "sigma": 0.3}, 3.0),
)}

METHOD = "L-BFGS-B"
#: ``[run].isolate`` of every calib run (``--no-isolate`` turns it off)
ISOLATE = True
#: growth steps: (work multiple, datasets, starts per dataset) for the default base 4 x 64
GROWTH = ((1, 1, 1), (4, 2, 2), (16, 4, 4))


# -- specs ---------------------------------------------------------------------------------------
def make_spec(model: BenchModel, datasets: int, starts: int, *, batch: bool,
              data_dir: Path) -> SweepSpec:
    """The sweep spec a user would write for ``model`` (rosen10: CSV files under data_dir);
    ``[run].isolate`` is `ISOLATE` (calib's default, True, unless ``--no-isolate``)."""
    tables: dict[str, Any] = {
        "sweep": {"name": f"bench-{model.name}", "seed": 11},
        "starts": {"n": starts, "sampler": "sobol"},
        "solver": {"method": METHOD},
        "run": {"batch": batch, "isolate": ISOLATE},
    }
    if model.truth is not None:
        tables["model"] = {"builtin": model.name}
        tables["data"] = {"simulate": {"datasets": datasets, "points": model.points,
                                       "truth": model.truth}}
        return parse_spec(tables, Path.cwd())
    tables["model"] = {"objective": "benchmarks.objectives:rosen10",
                       "vectorized": "benchmarks.objectives:rosen10_batch", "kind": "sse"}
    tables["parameters"] = {f"x{i}": {"lower": -2.0, "upper": 2.0}
                            for i in range(ROSEN_DIMENSION)}
    folder = _rosen_files(data_dir, datasets)
    tables["data"] = {"files": f"{folder.name}/*.csv", "columns": ["offset"]}
    return parse_spec(tables, data_dir)


def _rosen_files(data_dir: Path, datasets: int) -> Path:
    """``datasets`` CSV files of 10 offsets each in [-0.2, 0.2] (dataset i seeded by i)."""
    folder = data_dir / f"rosen-{datasets}"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(datasets):
        offsets = np.random.default_rng(i).uniform(-0.2, 0.2, ROSEN_DIMENSION)
        lines = ["offset", *(repr(float(v)) for v in offsets)]
        (folder / f"r{i:03d}.csv").write_text("\n".join(lines) + "\n")
    return folder


# -- scipy ---------------------------------------------------------------------------------------
def scipy_jobs(spec: SweepSpec) -> list[tuple[Problem, np.ndarray]]:
    """(problem, start points (n, p)) per dataset: the same work calib does."""
    plan = plan_sweep(spec)
    return [(build_problem(spec, ds), chunk_starts(spec, d, 0, spec.starts.n))
            for d, ds in enumerate(plan.datasets)]


def scipy_solve(problem: Problem, points: np.ndarray) -> int:
    """Solve every start of one dataset with scipy; returns how many starts ran."""
    bounds = list(zip(problem.internal_lower, problem.internal_upper))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for x0 in points:
            scipy.optimize.minimize(problem.internal_objective, problem.to_internal(x0),
                                    method=METHOD, bounds=bounds)
    return len(points)


def scipy_loop(jobs: list[tuple[Problem, np.ndarray]]) -> float:
    """Seconds for scipy to solve every start of every dataset in a plain loop."""
    began = time.perf_counter()
    for problem, points in jobs:
        scipy_solve(problem, points)
    return time.perf_counter() - began


def scipy_pool(pool: Any, jobs: list[tuple[Problem, np.ndarray]], per_task: int) -> float:
    """Seconds for ``pool`` (already started and warm) to solve ``jobs`` in pieces of
    ``per_task`` starts."""
    pieces = [(problem, points[i:i + per_task]) for problem, points in jobs
              for i in range(0, len(points), per_task)]
    began = time.perf_counter()
    pool.starmap(scipy_solve, pieces, chunksize=1)
    return time.perf_counter() - began


def _pool_init() -> None:
    np.seterr(all="ignore")


# -- calib ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CalibTiming:
    """The phases of one ``calib run`` (seconds) and its chunking."""

    plan: float
    store: float
    work: float
    select: float
    in_tasks: float
    in_starts: float
    starts_per_task: int
    tasks: int

    @property
    def wall(self) -> float:
        """Seconds from planning to the selection written (cluster start-up excluded)."""
        return self.plan + self.store + self.work + self.select

    @property
    def fixed(self) -> float:
        """The start-up cost that does not grow with the starts: plan, store, selection."""
        return self.plan + self.store + self.select


def calib_sweep(spec: SweepSpec, client: Any, workdir: Path) -> CalibTiming:
    """Run ``spec`` into a fresh store on ``client``'s cluster, timed in phases."""
    reports: list[Any] = []
    last = [0.0]

    def on_task(report: Any, done: int, total: int) -> None:
        reports.append(report)
        last[0] = time.perf_counter()

    store_path = tempfile.mkdtemp(dir=workdir, suffix=".zarr")
    began = time.perf_counter()
    plan = plan_sweep(spec)
    planned = time.perf_counter()
    prepare_store(plan, store_path, overwrite=False)  # run_sweep then resumes the empty store
    created = time.perf_counter()
    run_sweep(spec, store_path, client, plan=plan, on_task=on_task)
    ended = time.perf_counter()
    store = Store.open(store_path)
    in_starts = sum(float(np.nansum(store.read_dataset(d).seconds))
                    for d in range(len(plan.datasets)))
    return CalibTiming(plan=planned - began, store=created - planned, work=last[0] - created,
                       select=ended - last[0],
                       in_tasks=sum(r.seconds for r in reports), in_starts=in_starts,
                       starts_per_task=plan.layout.starts_per_task, tasks=len(reports))


def _warm_up() -> None:
    import jobs.task  # noqa: F401
    import solvers.batch  # noqa: F401
    import solvers.methods.lbfgsb  # noqa: F401


@contextlib.contextmanager
def clusters() -> Iterator[tuple[dict[int, Any], dict[int, float]]]:
    """Clients of an embedded cluster of 1 and of 2 workers, and their start-up seconds."""
    with contextlib.ExitStack() as stack:
        clients, startup = {}, {}
        for workers in (1, 2):
            began = time.perf_counter()
            client = stack.enter_context(connect(scheduler=None, scheduler_file=None,
                                                 workers=workers))
            client.wait_for_workers(workers)
            client.run(_warm_up)  # workers' first imports, as a long sweep amortises them
            clients[workers], startup[workers] = client, time.perf_counter() - began
        yield clients, startup


def fastest(measure: Callable[[], CalibTiming], repeat: int) -> CalibTiming:
    """The run with the shortest wall time of ``repeat``."""
    return min((measure() for _ in range(repeat)), key=lambda t: t.wall)


# -- the runs ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelRow:
    """All measurements of one model: scipy seconds and the calib timings by (mode, workers)."""

    model: BenchModel
    starts: int
    loop: float
    pool: float
    calib: dict[tuple[str, int], CalibTiming]


def measure_model(model: BenchModel, datasets: int, starts: int, *, repeat: int,
                  clients: dict[int, Any], pool: Any, workdir: Path) -> ModelRow:
    """The loop, the pool and the four calib runs of one model, each the fastest of repeat."""
    specs = {mode: make_spec(model, datasets, starts, batch=mode == "batched",
                             data_dir=workdir) for mode in ("per-start", "batched")}
    jobs = scipy_jobs(specs["per-start"])
    per_task = plan_sweep(specs["per-start"]).layout.starts_per_task
    loop = min(scipy_loop(jobs) for _ in range(repeat))
    pooled = min(scipy_pool(pool, jobs, per_task) for _ in range(repeat))
    calib = {(mode, w): fastest(lambda: calib_sweep(specs[mode], clients[w], workdir), repeat)
             for mode in specs for w in (1, 2)}
    return ModelRow(model=model, starts=datasets * starts, loop=loop, pool=pooled, calib=calib)


def _met(value: float, target: float) -> str:
    return f"{value:.2f}x ({'met' if value >= target else 'missed'})"


def rate_table(rows: list[ModelRow]) -> str:
    """Starts/s of every column (calib: wall, fixed cost included)."""
    out = ["| model | starts | loop /s | pool2 /s | per-start 1w /s | per-start 2w /s "
           "| batched 1w /s | batched 2w /s |", "|---" * 8 + "|"]
    for r in rows:
        c = [r.starts / r.calib[k].wall for k in (("per-start", 1), ("per-start", 2),
                                                  ("batched", 1), ("batched", 2))]
        out.append(f"| {r.model.name} | {r.starts} | {r.starts / r.loop:.0f} "
                   f"| {r.starts / r.pool:.0f} | " + " | ".join(f"{v:.0f}" for v in c) + " |")
    return "\n".join(out)


def ratio_table(rows: list[ModelRow]) -> str:
    """Ratios to the loop (above 1: faster), wall and marginal, with the issue-9 targets."""
    out = ["| model | pool2 / loop | per-start 1w / loop (>= 0.9) | per-start 2w / loop (>= 1.7) "
           "| per-start 2w / 1w | batched 1w / loop, wall | batched 1w / loop, marginal "
           "(target) | batched 2w / loop, marginal | batched 2w / 1w, marginal (>= 1.7) |",
           "|---" * 9 + "|"]
    for r in rows:
        ps1, ps2 = r.calib["per-start", 1], r.calib["per-start", 2]
        b1, b2 = r.calib["batched", 1], r.calib["batched", 2]
        out.append(
            f"| {r.model.name} | {r.loop / r.pool:.2f}x | {_met(r.loop / ps1.wall, 0.9)} "
            f"| {_met(r.loop / ps2.wall, 1.7)} | {ps1.wall / ps2.wall:.2f}x "
            f"| {r.loop / b1.wall:.1f}x | {r.loop / b1.work:.1f}x (>= {r.model.target:.0f}x: "
            f"{'met' if r.loop / b1.work >= r.model.target else 'missed'}) "
            f"| {r.loop / b2.work:.1f}x | {_met(b1.work / b2.work, 1.7)} |")
    return "\n".join(out)


def phase_table(rows: list[ModelRow]) -> str:
    """Where each calib run's time goes (seconds), against the loop."""
    out = ["| model | mode | workers | B | tasks | wall | plan | store | work | select "
           "| in tasks | in starts | loop |", "|---" * 13 + "|"]
    for r in rows:
        for (mode, w), t in r.calib.items():
            out.append(f"| {r.model.name} | {mode} | {w} | {t.starts_per_task} | {t.tasks} "
                       f"| {t.wall:.3f} | {t.plan:.3f} | {t.store:.3f} | {t.work:.3f} "
                       f"| {t.select:.3f} "
                       f"| {t.in_tasks:.3f} | {t.in_starts:.3f} | {r.loop:.3f} |")
    return "\n".join(out)


def growth_table(model: BenchModel, datasets: int, starts: int, *, repeat: int,
                 clients: dict[int, Any], workdir: Path,
                 steps: tuple[tuple[int, int, int], ...] = GROWTH) -> str:
    """Seconds and starts/s at 1x, 4x and 16x the work (datasets x starts): the loop, calib
    per-start and batched on 2 workers (wall) and batched on 1 and 2 workers (marginal), each
    row printed as soon as it is measured."""
    out = [f"| work | {model.name}: datasets x starts | loop s | loop /s | per-start 2w s "
           "| per-start 2w /s | per-start 2w / loop | batched 2w s | batched 2w /s "
           "| batched 2w / loop | batched 1w / loop, marginal "
           "| batched 2w / loop, marginal |", "|---" * 12 + "|"]
    print("\n".join(out), flush=True)
    for scale, ds_mult, st_mult in steps:
        n_ds, n_st = datasets * ds_mult, starts * st_mult
        total = n_ds * n_st
        specs = {mode: make_spec(model, n_ds, n_st, batch=mode == "batched", data_dir=workdir)
                 for mode in ("per-start", "batched")}
        loop = min(scipy_loop(scipy_jobs(specs["per-start"])) for _ in range(repeat))
        ps = fastest(lambda: calib_sweep(specs["per-start"], clients[2], workdir), repeat)
        b = fastest(lambda: calib_sweep(specs["batched"], clients[2], workdir), repeat)
        b1 = fastest(lambda: calib_sweep(specs["batched"], clients[1], workdir), repeat)
        out.append(f"| {scale}x | {n_ds} x {n_st} | {loop:.2f} | {total / loop:.0f} "
                   f"| {ps.wall:.2f} | {total / ps.wall:.0f} | {loop / ps.wall:.2f}x "
                   f"| {b.wall:.2f} | {total / b.wall:.0f} | {loop / b.wall:.1f}x "
                   f"| {loop / b1.work:.1f}x | {loop / b.work:.1f}x |")
        print(out[-1], flush=True)
    return "\n".join(out)


# -- the per-start gap: where one task's time goes (in this process, CPU time) -----------------
def profile_table(names: list[str], starts: int, *, repeat: int, workdir: Path) -> str:
    """Per start (CPU ms, fastest of ``repeat``): the scipy loop, our ``solvers.minimize`` on
    the same objective, `calib.run_start` (guard, callback, warnings, outcome), each split into
    objective and the rest; and a task's own bookkeeping (draw its starts, write its chunk)."""
    out = ["| model | path | ms / start | objective calls / start | in objective ms "
           "| outside objective ms | vs scipy |", "|---" * 7 + "|"]
    for name in names:
        spec = make_spec(MODELS[name], 1, starts, batch=False, data_dir=workdir)
        (problem, points), = scipy_jobs(spec)
        spent = [0.0, 0]
        inner = problem.objective

        def timed(params: np.ndarray, data: np.ndarray) -> float:
            began = time.process_time()
            value = inner(params, data)
            spent[0] += time.process_time() - began
            spent[1] += 1
            return float(value)

        timed_problem = replace(problem, objective=timed)
        paths: dict[str, Callable[[], object]] = {
            "scipy loop": lambda: scipy_solve(timed_problem, points),
            "solvers.minimize": lambda: _ours_solve(timed_problem, points),
            "calib.run_start": lambda: [run_start(timed_problem, x, i)
                                        for i, x in enumerate(points)]}
        scipy_ms = 0.0
        for path, solve in paths.items():
            best: tuple[float, float, float] = (np.inf, 0.0, 0.0)
            for _ in range(repeat):
                spent[:] = [0.0, 0]
                began = time.process_time()
                solve()
                best = min(best, (time.process_time() - began, spent[0], float(spent[1])))
            total_ms, obj_ms = 1e3 * best[0] / starts, 1e3 * best[1] / starts
            scipy_ms = scipy_ms or total_ms
            out.append(f"| {name} | {path} | {total_ms:.2f} | {best[2] / starts:.0f} "
                       f"| {obj_ms:.2f} | {total_ms - obj_ms:.2f} | {total_ms / scipy_ms:.2f}x |")
        draw, write = _task_bookkeeping(spec, repeat, workdir)
        out.append(f"| {name} | task: draw starts + write chunk, per start | "
                   f"{1e3 * (draw + write) / starts:.2f} | | | (draw {1e3 * draw:.1f} ms, write "
                   f"{1e3 * write:.1f} ms per task of {starts}) | |")
    return "\n".join(out)


def _ours_solve(problem: Problem, points: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for x0 in points:
            solvers.minimize(problem.internal_objective, problem.to_internal(x0), method=METHOD,
                             bounds=problem.internal_bounds)


def _task_bookkeeping(spec: SweepSpec, repeat: int, workdir: Path) -> tuple[float, float]:
    """CPU seconds of one task's start draw and of its chunk write (all starts in one task)."""
    plan = plan_sweep(spec).with_starts_per_task(spec.starts.n)
    best = (np.inf, np.inf)
    for _ in range(repeat):
        store = prepare_store(plan, tempfile.mkdtemp(dir=workdir, suffix=".zarr"),
                              overwrite=False)
        began = time.process_time()
        points = chunk_starts(spec, 0, 0, spec.starts.n)
        drawn = time.process_time()
        problem = build_problem(spec, plan.datasets[0])
        outcomes = [run_start(problem, x, i) for i, x in enumerate(points)]
        written = time.process_time()
        store.write_chunk(0, 0, outcomes)
        best = min(best, (drawn - began, time.process_time() - written))
    return best


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None, choices=list(MODELS),
                        help="default: all (with --profile: ou garch11)")
    parser.add_argument("--datasets", type=int, default=4)
    parser.add_argument("--starts", type=int, default=64, help="starts per dataset")
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs of each measurement; the fastest counts")
    parser.add_argument("--growth-model", default="normal", choices=list(MODELS))
    parser.add_argument("--no-growth", action="store_true", help="skip the 1x-16x table")
    parser.add_argument("--no-isolate", action="store_true",
                        help="[run] isolate = false (default: calib's, starts in a child process)")
    parser.add_argument("--profile", action="store_true",
                        help="only the per-start profile (in this process, CPU time) of "
                             "--models (default here: ou garch11), --starts starts each")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 datasets x 16 starts, one repeat, growth 1x-4x")
    args = parser.parse_args(argv)
    if args.models is None:
        args.models = ["ou", "garch11"] if args.profile else list(MODELS)
    if args.quick:
        args.datasets, args.starts, args.repeat = 2, 16, 1
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    global ISOLATE
    ISOLATE = not args.no_isolate
    if args.profile:
        print(f"per-start profile, {args.starts} starts, process CPU time, best of "
              f"{args.repeat}; machine load before: {_load()}")
        with tempfile.TemporaryDirectory() as tmp:
            print(profile_table(args.models, args.starts, repeat=args.repeat,
                                workdir=Path(tmp)))
        print(f"machine load after: {_load()}")
        return
    print(f"{args.datasets} datasets x {args.starts} starts per model, {METHOD} with FD "
          f"gradients, {os.cpu_count()} cores, best of {args.repeat}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}; pyPESTO: "
          f"{'installed (not run)' if _installed('pypesto') else 'not installed'}; "
          f"[run] isolate = {str(ISOLATE).lower()}")
    print(f"machine load (1, 5, 15 min) before: {_load()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp, \
            multiprocessing.get_context("spawn").Pool(2, initializer=_pool_init) as pool, \
            clusters() as (clients, startup):
        workdir = Path(tmp)
        pool.starmap(_pool_init_imports, [()] * 2)
        print(f"cluster start-up (not counted): 1 worker {startup[1]:.2f} s, "
              f"2 workers {startup[2]:.2f} s", flush=True)
        rows = []
        for name in args.models:
            rows.append(measure_model(MODELS[name], args.datasets, args.starts,
                                      repeat=args.repeat, clients=clients, pool=pool,
                                      workdir=workdir))
            print(f"  {name} done, load {_load()}", flush=True)
        print("\n" + rate_table(rows) + "\n\n" + ratio_table(rows) + "\n\n"
              + phase_table(rows) + "\n", flush=True)
        if not args.no_growth:
            growth_table(MODELS[args.growth_model], args.datasets, args.starts,
                         repeat=args.repeat, clients=clients, workdir=workdir,
                         steps=GROWTH[:2] if args.quick else GROWTH)
    print(f"machine load (1, 5, 15 min) after: {_load()}")


def _pool_init_imports() -> None:
    import scipy.optimize  # noqa: F401

    import calib.models  # noqa: F401


def _installed(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is not None


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
