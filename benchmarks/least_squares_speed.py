"""Per-call time of our `least_squares` against scipy's on curve-fitting problems, one run.

Run from the repository root:  python -m benchmarks.least_squares_speed [--repeat 5]

Each case (problem x method x Jacobian, linear loss, plus robust losses with trf) calls both
solvers alternately; the per-call time is the best of ``--repeat`` rounds (each round ~50 ms
long).  The ratio is ours / scipy (below 1: we are faster); the target (issue 12) is <= 1.5.
The machine load (1-minute average) is printed before and after, since other work on a
shared machine shifts both columns.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize

import solvers
from tests.solvers.least_squares.problems import PROBLEMS, LsqProblem

TARGET = 1.5


@dataclass(frozen=True)
class SpeedCase:
    """One timed call: a problem, a method, a loss and whether the Jacobian is analytic."""

    problem: LsqProblem
    method: str
    loss: str
    analytic: bool

    @property
    def label(self) -> str:
        jac = "jac" if self.analytic else "2-point"
        return f"{self.problem.name:15s} {self.method:6s} {self.loss:8s} {jac:7s}"


def speed_cases() -> list[SpeedCase]:
    """Every problem with each applicable method (both Jacobians), and trf's robust losses."""
    out = []
    for problem in PROBLEMS:
        for method in ("trf", "dogbox", "lm"):
            if method == "lm" and problem.bounded:
                continue
            out += [SpeedCase(problem, method, "linear", analytic) for analytic in (True, False)]
        out += [SpeedCase(problem, "trf", loss, True) for loss in ("soft_l1", "cauchy")]
    return out


def _call(solver: Callable[..., Any], case: SpeedCase) -> Callable[[], Any]:
    p = case.problem
    kwargs = dict(method=case.method, loss=case.loss, bounds=p.bounds,
                  jac=p.jac if case.analytic else "2-point", **p.options)
    return lambda: solver(p.fun, p.x0, **kwargs)


def _per_call(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    loops = max(1, int(0.05 / max(time.perf_counter() - start, 1e-6)))
    start = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - start) / loops


def time_case(case: SpeedCase, repeat: int) -> tuple[float, float, int, int]:
    """Best per-call seconds (ours, scipy) and the nfev of each."""
    ours, ref = _call(solvers.least_squares, case), _call(scipy.optimize.least_squares, case)
    best_ours = best_ref = math.inf
    for _ in range(repeat):
        best_ours = min(best_ours, _per_call(ours))
        best_ref = min(best_ref, _per_call(ref))
    return best_ours, best_ref, ours().nfev, ref().nfev


COUNTS_HEADER = """
## least_squares

Generated with the tables above (`python -m benchmarks.solver_counts`; the cases are
`benchmarks/least_squares_speed.py`'s, the problems `tests/solvers/least_squares/problems.py`).
Each row runs `solvers.least_squares` and `scipy.optimize.least_squares` with the same method,
loss, Jacobian (`jac`: analytic, `2-point`: finite differences), bounds and options (default
tolerances). Counts are ours/scipy's; `rel dcost` and `max rel dx` compare the two solutions.

| method | problem | loss | jacobian | nfev | njev | status | rel dcost | max rel dx |
|---|---|---|---|---:|---:|---:|---:|---:|
"""


def counts_section() -> str:
    """The least-squares section of docs/solver-comparison.md (one row per speed case)."""
    rows = []
    for case in speed_cases():
        ours, ref = _call(solvers.least_squares, case)(), _call(scipy.optimize.least_squares,
                                                                 case)()
        dcost = abs(ours.cost - ref.cost) / max(abs(ref.cost), 1e-300)
        dx = float(np.max(np.abs(ours.x - ref.x) / np.maximum(np.abs(ref.x), 1e-300)))
        rows.append(f"| {case.method} | {case.problem.name} | {case.loss} | "
                    f"{'jac' if case.analytic else '2-point'} | {ours.nfev}/{ref.nfev} | "
                    f"{ours.njev if ours.njev is not None else '-'}/"
                    f"{ref.njev if ref.njev is not None else '-'} | "
                    f"{ours.status}/{ref.status} | {dcost:.1e} | {dx:.1e} |")
    return COUNTS_HEADER + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    ns = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'case':48s} {'ours ms':>9s} {'scipy ms':>9s} {'ratio':>6s} {'nfev':>9s}")
    ratios = []
    for case in speed_cases():
        t_ours, t_ref, n_ours, n_ref = time_case(case, ns.repeat)
        ratios.append(t_ours / t_ref)
        flag = "" if ratios[-1] <= TARGET else "  > target"
        print(f"{case.label:48s} {1e3 * t_ours:9.3f} {1e3 * t_ref:9.3f} {ratios[-1]:6.2f} "
              f"{n_ours:4d}/{n_ref:<4d}{flag}")
    geo = float(np.exp(np.mean(np.log(ratios))))
    print(f"geometric mean ratio ours/scipy: {geo:.2f} (worst {max(ratios):.2f}, "
          f"target <= {TARGET})")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
