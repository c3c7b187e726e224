"""Time each method against scipy on the same problems in one run and print the ratios.

Run from the repository root:  python -m benchmarks.solver_speed [--repeat 7] [--methods BFGS ...]

For every case both solvers are called alternately; the per-call time is the best of
``--repeat`` rounds (each round long enough to take ~50 ms).  The ratio is ours / scipy per
call (below 1 means we are faster).  Targets (issue 2): <= 1.5 for Nelder-Mead, Powell, CG and
BFGS (scipy writes these in Python), <= 3 for L-BFGS-B (compiled in scipy).
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.optimize

import solvers
from solvers._registry import METHODS
from tests.problems import PROBLEMS

from .cases import Case, cases, second_order_cases

#: targets (issue 2): 1.5x for the methods scipy writes in Python, 3x for its compiled ones
TARGET = {"L-BFGS-B": 3.0, "TNC": 3.0, "SLSQP": 3.0, "trust-krylov": 3.0, "COBYLA": 3.0}


def _call(minimize: Callable[..., Any], case: Case) -> Callable[[], Any]:
    prob = PROBLEMS[case.problem]
    spec = METHODS[case.method.lower()]
    kwargs: dict[str, Any] = {"args": prob.args, "method": case.method}
    if case.analytic_jac:
        kwargs["jac"] = prob.jac
    if spec.supports_bounds and prob.bounds is not None:
        kwargs["bounds"] = prob.bounds
    x0 = np.array(prob.x0)
    return lambda: minimize(prob.fun, x0, **kwargs)


def _per_call(fn: Callable[[], Any]) -> tuple[float, int]:
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    loops = max(1, int(0.05 / max(once, 1e-6)))
    start = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - start) / loops, loops


def time_case(case: Case, repeat: int) -> tuple[float, float]:
    ours, ref = _call(solvers.minimize, case), _call(scipy.optimize.minimize, case)
    best_ours = best_ref = math.inf
    for _ in range(repeat):
        best_ours = min(best_ours, _per_call(ours)[0])
        best_ref = min(best_ref, _per_call(ref)[0])
    return best_ours, best_ref


SCALAR_CASES = {
    "quartic": (lambda x: (x - 1.3) ** 4 + 0.5 * (x - 1.3) ** 2, (-2.0, 4.0)),
    "x_exp": (lambda x: -x * math.exp(-x), (0.0, 5.0)),
    "cos": (lambda x: math.cos(x), (2.0, 5.0)),
}


def time_scalar(repeat: int) -> list[float]:
    """Time minimize_scalar's methods against scipy's; print and return the ratios."""
    ratios = []
    for name, (fun, bounds) in SCALAR_CASES.items():
        for method in ("brent", "golden", "bounded"):
            kwargs = {"bounds": bounds} if method == "bounded" else {}
            ours = lambda: solvers.minimize_scalar(fun, method=method, **kwargs)  # noqa: E731
            ref = lambda: scipy.optimize.minimize_scalar(fun, method=method, **kwargs)  # noqa: E731
            best_ours = min(_per_call(ours)[0] for _ in range(repeat))
            best_ref = min(_per_call(ref)[0] for _ in range(repeat))
            ratios.append(best_ours / best_ref)
            print(f"{method:<12} {name:<13} {'-':<9} {best_ours * 1e3:9.3f} "
                  f"{best_ref * 1e3:9.3f} {best_ours / best_ref:6.2f}")
    return ratios


def time_second_order(repeat: int, methods: list[str] | None) -> dict[str, list[float]]:
    """Time the second-order methods on the second-order catalogue (Hessian source per case)."""
    from tests.solvers.problems2 import PROBLEMS2, _second_order_kwargs

    ratios: dict[str, list[float]] = defaultdict(list)
    for case in second_order_cases(methods):
        prob = PROBLEMS2[case.problem]
        calls = []
        for lib in (solvers, scipy.optimize):
            kwargs = dict(args=prob.args, method=case.method, jac=prob.jac,
                          **_second_order_kwargs(lib, prob, case.mode))
            calls.append(lambda lib=lib, kwargs=kwargs: lib.minimize(
                prob.fun, np.array(prob.x0), **kwargs))
        best_ours = min(_per_call(calls[0])[0] for _ in range(repeat))
        best_ref = min(_per_call(calls[1])[0] for _ in range(repeat))
        ratios[case.method].append(best_ours / best_ref)
        print(f"{case.method:<12} {case.problem:<13} {case.mode:<9} {best_ours * 1e3:9.3f} "
              f"{best_ref * 1e3:9.3f} {best_ours / best_ref:6.2f}")
    return ratios


def time_constrained(repeat: int, methods: list[str] | None) -> dict[str, list[float]]:
    """Time the constrained methods on the constrained catalogue (dict constraints with jac)."""
    from tests.solvers.constrained_problems import CONSTRAINED_PROBLEMS

    ratios: dict[str, list[float]] = defaultdict(list)
    for method in ("SLSQP", "COBYLA", "COBYQA", "trust-constr"):
        spec = METHODS[method.lower()]
        if methods and method not in methods:
            continue
        for prob in CONSTRAINED_PROBLEMS.values():
            kwargs: dict[str, Any] = {"method": method, "constraints": list(prob.constraints),
                                      "bounds": prob.bounds}
            if spec.uses_jac:
                kwargs["jac"] = prob.jac
            x0 = np.array(prob.x0)
            ours = lambda: solvers.minimize(prob.fun, x0, **kwargs)  # noqa: E731
            ref = lambda: scipy.optimize.minimize(prob.fun, x0, **kwargs)  # noqa: E731
            best_ours = min(_per_call(ours)[0] for _ in range(repeat))
            best_ref = min(_per_call(ref)[0] for _ in range(repeat))
            ratios[method].append(best_ours / best_ref)
            print(f"{method:<12} {prob.name:<13} {'-':<9} {best_ours * 1e3:9.3f} "
                  f"{best_ref * 1e3:9.3f} {best_ours / best_ref:6.2f}")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--methods", nargs="*", default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '-')}")
    print(f"{'method':<12} {'problem':<13} {'grad':<9} {'ours ms':>9} {'scipy ms':>9} {'ratio':>6}")
    ratios: dict[str, list[float]] = defaultdict(list)
    for case in cases(args.methods):
        ours, ref = time_case(case, args.repeat)
        ratios[case.method].append(ours / ref)
        print(f"{case.method:<12} {case.problem:<13} {case.gradient:<9} {ours * 1e3:9.3f} "
              f"{ref * 1e3:9.3f} {ours / ref:6.2f}")
    ratios.update(time_second_order(args.repeat, args.methods))
    ratios.update(time_constrained(args.repeat, args.methods))
    if args.methods is None:
        ratios["minimize_scalar"] = time_scalar(args.repeat)
    print("\nGeometric-mean ratio ours/scipy per method (target):")
    for method, values in ratios.items():
        gmean = math.exp(sum(math.log(v) for v in values) / len(values))
        print(f"  {method:<12} {gmean:5.2f}  (max {max(values):.2f}; target <= "
              f"{TARGET.get(method, 1.5)})")


if __name__ == "__main__":
    main()
