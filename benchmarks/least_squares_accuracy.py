"""Accuracy on curve fits with known answers: `least_squares` (trf, lm) vs `minimize` (BFGS,
L-BFGS-B, Nelder-Mead) on the sum of squares, from single starts and from multi-start sweeps.

Six classic nonlinear-regression models in the style of the NIST StRD problems (Misra1a,
Chwirut, BoxBOD, Eckerle4, Thurber, a Gauss-type peak pair); the data cannot be downloaded
here, so each is generated from known parameters with seeded Gaussian noise, and the reference
answer is a high-precision fit (scipy's ``lm`` from the true parameters, tolerances 1e-15, then
refined until it no longer moves).  "Correct digits" is ``-log10(max_i |x_i - x*_i| / |x*_i|)``
capped at 10 (0 for a failed run).  Single starts: two per problem, "far" and "near" (as the
NIST suite gives two).  Multi-start: 16 seeded uniform starts in ``[x*/4, 4 x*]`` per problem,
the lowest sum of squares kept, as a sweep's best start.

Run: ``.venv/bin/python -m benchmarks.least_squares_accuracy`` (about a minute on one core).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares as scipy_least_squares

from solvers import least_squares, minimize

FloatArray = npt.NDArray[np.float64]
Curve = Callable[[FloatArray, FloatArray], FloatArray]

METHODS = ("trf", "lm", "BFGS", "L-BFGS-B", "Nelder-Mead")
N_MULTI = 16
GOOD_DIGITS = 4


@dataclass(frozen=True)
class CurveProblem:
    """One curve fit: model ``curve(params, x)``, its data, the true parameters, two starts."""

    name: str
    curve: Curve
    x: FloatArray
    truth: FloatArray
    noise: float
    far: FloatArray
    near: FloatArray

    def data(self) -> FloatArray:
        rng = np.random.default_rng(sum(map(ord, self.name)))  # seeded per problem
        clean = self.curve(self.truth, self.x)
        return clean + self.noise * np.abs(clean).mean() * rng.standard_normal(self.x.size)


def _problems() -> list[CurveProblem]:
    x_misra = np.linspace(77.6, 790.0, 14)
    x_chwirut = np.linspace(0.5, 6.0, 54)
    x_boxbod = np.array([1.0, 2.0, 3.0, 5.0, 7.0, 10.0])
    x_eckerle = np.linspace(400.0, 500.0, 35)
    x_thurber = np.linspace(-3.07, 2.2, 37)
    x_gauss = np.linspace(1.0, 250.0, 125)
    a = np.array
    return [
        CurveProblem("misra1a", lambda b, x: b[0] * (1 - np.exp(-b[1] * x)), x_misra,
                     a([238.94, 5.5016e-4]), 0.002, a([500.0, 1e-4]), a([250.0, 5e-4])),
        CurveProblem("chwirut", lambda b, x: np.exp(-b[0] * x) / (b[1] + b[2] * x), x_chwirut,
                     a([0.19028, 6.1314e-3, 1.0531e-2]), 0.03, a([0.1, 0.01, 0.02]),
                     a([0.15, 0.008, 0.01])),
        CurveProblem("boxbod", lambda b, x: b[0] * (1 - np.exp(-b[1] * x)), x_boxbod,
                     a([213.81, 0.54724]), 0.05, a([1.0, 1.0]), a([100.0, 0.75])),
        CurveProblem("eckerle4",
                     lambda b, x: b[0] / b[1] * np.exp(-0.5 * ((x - b[2]) / b[1]) ** 2),
                     x_eckerle, a([1.5544, 4.0888, 451.54]), 0.005, a([1.0, 10.0, 500.0]),
                     a([1.5, 5.0, 450.0])),
        CurveProblem("thurber",
                     lambda b, x: (b[0] + b[1] * x + b[2] * x**2 + b[3] * x**3)
                     / (1 + b[4] * x + b[5] * x**2 + b[6] * x**3), x_thurber,
                     a([1288.1, 1491.1, 583.24, 75.417, 0.96630, 0.39799, 0.049727]), 0.005,
                     a([1000.0, 1000.0, 400.0, 40.0, 0.7, 0.3, 0.03]),
                     a([1300.0, 1500.0, 500.0, 75.0, 1.0, 0.4, 0.05])),
        CurveProblem("gauss2",
                     lambda b, x: b[0] * np.exp(-b[1] * x)
                     + b[2] * np.exp(-((x - b[3]) / b[4]) ** 2)
                     + b[5] * np.exp(-((x - b[6]) / b[7]) ** 2), x_gauss,
                     a([99.018, 0.010994, 101.88, 107.03, 23.579, 72.046, 153.27, 19.526]), 0.02,
                     a([96.0, 0.009, 103.0, 106.0, 18.0, 72.0, 151.0, 18.0]),
                     a([98.0, 0.0105, 103.0, 105.0, 20.0, 73.0, 150.0, 20.0])),
    ]


def reference_fit(problem: CurveProblem, y: FloatArray) -> FloatArray:
    """The certified-style answer: scipy's lm from the truth at tolerances 1e-15, refined."""
    x = problem.truth.copy()
    for _ in range(5):
        fit = scipy_least_squares(lambda b: problem.curve(b, problem.x) - y, x, method="lm",
                                  xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=100000)
        if np.allclose(fit.x, x, rtol=1e-15, atol=0):
            break
        x = fit.x
    return np.asarray(x, dtype=np.float64)


def digits(x: FloatArray, reference: FloatArray) -> float:
    """Correct significant digits of ``x`` against ``reference`` (0 to 10)."""
    if not np.all(np.isfinite(x)):
        return 0.0
    error = float(np.max(np.abs(x - reference) / np.abs(reference)))
    return 10.0 if error == 0 else float(np.clip(-math.log10(error), 0.0, 10.0))


def solve(problem: CurveProblem, y: FloatArray, x0: FloatArray,
          method: str) -> tuple[FloatArray, float]:
    """(x, sum of squares) of one run of ``method`` from ``x0``; NaN when it raises."""
    def residuals(b: FloatArray) -> FloatArray:
        return np.asarray(problem.curve(b, problem.x) - y, dtype=np.float64)

    def sse(b: FloatArray) -> float:
        r = residuals(b)
        return float(r @ r)

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            if method in ("trf", "lm"):
                result = least_squares(residuals, x0, method=method)
            else:
                options = {"maxiter": 20000, "maxfev": 20000} if method == "Nelder-Mead" else {}
                result = minimize(sse, x0, method=method, options=options)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            return np.full(x0.size, np.nan), math.nan
    x = np.asarray(result.x, dtype=np.float64)
    value = sse(x)
    return x, value if math.isfinite(value) else math.nan


def multi_start(problem: CurveProblem, y: FloatArray, reference: FloatArray,
                method: str) -> float:
    """Digits of the best of `N_MULTI` seeded starts in ``[x*/4, 4 x*]`` (log-uniform)."""
    rng = np.random.default_rng(2024)
    starts = reference * np.exp(rng.uniform(-math.log(4.0), math.log(4.0),
                                            (N_MULTI, reference.size)))
    runs = [solve(problem, y, x0, method) for x0 in starts]
    finite = [(f, x) for x, f in runs if math.isfinite(f)]
    if not finite:
        return 0.0
    return digits(min(finite, key=lambda item: item[0])[1], reference)


def main() -> None:
    header = f"| problem | start | {' | '.join(METHODS)} |"
    print(header)
    print("|" + "---|" * (len(METHODS) + 2))
    good = {(kind, m): 0 for kind in ("single", "multi") for m in METHODS}
    count = 0
    for problem in _problems():
        y = problem.data()
        reference = reference_fit(problem, y)
        for label, x0 in (("far", problem.far), ("near", problem.near)):
            cells = [digits(solve(problem, y, x0, m)[0], reference) for m in METHODS]
            count += 1
            for m, d in zip(METHODS, cells):
                good["single", m] += d >= GOOD_DIGITS
            print(f"| {problem.name} | {label} | " + " | ".join(f"{d:.1f}" for d in cells) + " |")
        cells = [multi_start(problem, y, reference, m) for m in METHODS]
        for m, d in zip(METHODS, cells):
            good["multi", m] += d >= GOOD_DIGITS
        print(f"| {problem.name} | best of {N_MULTI} | "
              + " | ".join(f"{d:.1f}" for d in cells) + " |")
    n_problems = len(_problems())
    print(f"| **single starts with >= {GOOD_DIGITS} digits** (of {count}) | | "
          + " | ".join(str(good["single", m]) for m in METHODS) + " |")
    print(f"| **multi-start sweeps with >= {GOOD_DIGITS} digits** (of {n_problems}) | | "
          + " | ".join(str(good["multi", m]) for m in METHODS) + " |")


if __name__ == "__main__":
    main()
