"""Batched multi-start against a scipy loop and our per-start loop, side by side in one run.

Run from the repository root:  python -m benchmarks.batch_speed [--starts 200] [--repeat 1]

For each problem the same ``--starts`` start points are solved three ways with L-BFGS-B (finite-
difference gradients everywhere, as a user without a gradient would run it): a plain loop of
``scipy.optimize.minimize``, a loop of our per-start ``solvers.minimize``, and one
``solvers.minimize_batch`` call on the model's vectorised objective. Printed: seconds for each
(best of ``--repeat``), starts/s, the ratios scipy/batched and ours/batched, how many batched
starts reach the scipy loop's minimum (f within 1e-6 relative, or lower), the share of the
batched time spent inside the vectorised objective, the ceiling that share implies (scipy loop
time / time in the batched objective: the ratio with zero solver overhead at the same number of
evaluated rows), the lockstep rounds (the most trial points any start needed: each round
evaluates every unfinished start once), the solver's own time per round (batched time outside
the objective / rounds), and the machine load.
Targets (issue 9): >= 30x on cheap fits, >= 100x on 10-d FD problems, >= 3x on GARCH and OU.
"""

from __future__ import annotations

import os

# One BLAS thread: the comparison is single-process, and on this 2-core machine OpenBLAS's
# threads make scipy's compiled L-BFGS-B ~10x slower per call (measured: 24.6 vs 2.4 ms per
# normal-MLE start). Must be set before numpy is imported; an explicit setting is kept.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import scipy.optimize  # type: ignore[import-untyped]  # noqa: E402

import solvers  # noqa: E402
from calib.datasets import simulate_datasets  # noqa: E402
from calib.models import get_model  # noqa: E402

FloatArray = np.ndarray


@dataclass(frozen=True)
class Case:
    """One benchmark problem: scalar and batched objectives, bounds, starts, target ratio."""

    name: str
    scalar: Callable[[FloatArray], float]
    batch: Callable[[FloatArray], FloatArray]
    bounds: Sequence[tuple[float | None, float | None]] | None
    x0: FloatArray
    target: float


#: model -> (truth, points per dataset, box the starts are drawn in, target ratio)
MODELS: dict[str, tuple[dict[str, float], int, list[tuple[float, float]], float]] = {
    "normal": ({"mu": 3.0, "sigma": 1.7}, 300, [(-10.0, 10.0), (0.1, 10.0)], 30.0),
    "sinusoid": ({"a": 1.8, "b": 0.3, "c": -0.7}, 200, [(-5.0, 5.0), (-2.0, 2.0), (-5.0, 5.0)],
                 30.0),
    "linear": ({"a": 2.5, "b": -1.0}, 200, [(-10.0, 10.0), (-10.0, 10.0)], 30.0),
    "garch11": ({"omega": 0.05, "alpha": 0.08, "beta": 0.9}, 1000,
                [(0.01, 0.2), (0.02, 0.2), (0.6, 0.95)], 3.0),
    "ou": ({"theta": 1.5, "mu": 0.3, "sigma": 0.4}, 1000, [(0.3, 5.0), (-1.0, 1.0), (0.1, 1.0)],
           3.0),
}


def rosen(x: FloatArray) -> float:
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


def rosen_batch(X: FloatArray) -> FloatArray:
    return np.sum(100.0 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1.0 - X[:, :-1]) ** 2, axis=1)


def model_case(name: str, n_starts: int, seed: int) -> Case:
    """Built-in model ``name`` on one simulated dataset, starts uniform in its box."""
    model = get_model(name)
    truth, n_points, box, target = MODELS[name]
    data = simulate_datasets(model, truth, 1, n_points, seed=seed)[0].values
    lo, hi = np.array(box).T
    x0 = np.random.default_rng(seed).uniform(lo, hi, (n_starts, lo.size))

    def scalar(x: FloatArray) -> float:
        return float(model.objective(x, data))

    def batch(X: FloatArray) -> FloatArray:
        return model.objective_batch(X, data)

    bounds = [(p.lower, p.upper) for p in model.parameters]
    return Case(name, scalar, batch, bounds, x0, target)


def cases(n_starts: int, seed: int = 1) -> list[Case]:
    out = [model_case(name, n_starts, seed) for name in ("normal", "sinusoid", "linear")]
    x0 = np.random.default_rng(seed).uniform(-0.5, 1.5, (n_starts, 10))
    out.append(Case("rosen10-fd", rosen, rosen_batch, None, x0, 100.0))
    out.extend(model_case(name, n_starts, seed) for name in ("garch11", "ou"))
    return out


def _loop(minimize: Callable[..., Any], case: Case) -> FloatArray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.array([minimize(case.scalar, x, method="L-BFGS-B", bounds=case.bounds).fun
                         for x in case.x0])


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _timed_batch(case: Case, repeat: int) -> tuple[float, float, Any]:
    """Best of ``repeat`` batched runs: (seconds, seconds inside the objective in that run,
    result)."""
    best: tuple[float, float, Any] = (np.inf, np.nan, None)
    for _ in range(repeat):
        spent = [0.0]

        def timed_batch(X: FloatArray) -> FloatArray:
            start = time.perf_counter()
            out = case.batch(X)
            spent[0] += time.perf_counter() - start
            return out

        start = time.perf_counter()
        res = solvers.minimize_batch(timed_batch, case.x0, bounds=case.bounds)
        elapsed = time.perf_counter() - start
        if elapsed < best[0]:
            best = (elapsed, spent[0], res)
    return best


def run(n_starts: int, repeat: int, skip_ours: bool) -> list[dict[str, Any]]:
    rows = []
    for case in cases(n_starts):
        t_scipy, f_scipy = _timed(lambda: _loop(scipy.optimize.minimize, case), repeat)
        t_ours = np.nan if skip_ours else _timed(lambda: _loop(solvers.minimize, case), repeat)[0]
        t_batch, t_objective, res = _timed_batch(case, repeat)
        same = res.fun <= f_scipy + 1e-6 * np.maximum(np.abs(f_scipy), 1.0)
        # every round evaluates value and FD gradient (d + 1 rows) of each unfinished start once
        rounds = int(res.nfev.max()) // (case.x0.shape[1] + 1)
        rows.append({"problem": case.name, "starts": n_starts, "scipy_s": t_scipy,
                     "ours_s": t_ours, "batch_s": t_batch, "scipy_ratio": t_scipy / t_batch,
                     "ours_ratio": t_ours / t_batch, "target": case.target,
                     "same_min": float(same.mean()), "batch_starts_per_s": n_starts / t_batch,
                     "objective_share": t_objective / t_batch,
                     "ceiling": t_scipy / t_objective, "rounds": rounds,
                     "solver_ms_per_round": 1e3 * (t_batch - t_objective) / rounds})
        print(_format(rows[-1]), flush=True)
    return rows


HEADER = ("| problem | starts | scipy loop s | per-start loop s | batched s | batched starts/s "
          "| scipy / batched | per-start / batched | target | same minimum | objective share "
          "| ceiling | rounds | solver ms / round |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def _format(row: dict[str, Any]) -> str:
    met = "met" if row["scipy_ratio"] >= row["target"] else "missed"
    return (f"| {row['problem']} | {row['starts']} | {row['scipy_s']:.3f} | {row['ours_s']:.3f} "
            f"| {row['batch_s']:.3f} | {row['batch_starts_per_s']:.0f} "
            f"| {row['scipy_ratio']:.1f}x | {row['ours_ratio']:.1f}x "
            f"| >= {row['target']:.0f}x ({met}) | {100 * row['same_min']:.1f} % "
            f"| {100 * row['objective_share']:.0f} % | {row['ceiling']:.0f}x | {row['rounds']} "
            f"| {row['solver_ms_per_round']:.2f} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-ours", action="store_true",
                        help="skip the (slow) loop of our per-start solvers.minimize")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(f"machine load (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"{os.cpu_count()} cores; single process, L-BFGS-B with FD gradients, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    print(HEADER)
    run(args.starts, args.repeat, args.skip_ours)
    load = os.getloadavg()
    print(f"machine load after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
