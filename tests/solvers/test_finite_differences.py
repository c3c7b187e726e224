"""The one finite-difference routine (solvers/_core/finite_diff.py) against scipy and exact values.

First derivatives are compared with scipy's own ``approx_fprime`` / ``approx_derivative`` on the
same inputs (same steps, same bound handling, so the same numbers); the value-only Hessian is
checked on quadratics (exact for them up to rounding) and for staying inside the bounds.  The
last tests hold that calib's derivatives and standard errors run through this routine.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime as scipy_approx_fprime
from scipy.optimize._numdiff import approx_derivative

import calib.derivatives
import calib.uncertainty
import solvers
from solvers import approx_fprime, approx_gradient, approx_hessian, approx_jacobian, rosen


def _vector(x: np.ndarray) -> np.ndarray:
    return np.array([np.sin(x[0]) * x[1], np.exp(0.3 * x[1]) + x[0] ** 2, x @ x])


def _complex_safe(x: np.ndarray) -> np.ndarray:
    return np.array([np.sin(x[0]) * x[1] + x[1] ** 3, np.exp(x[0])])


@pytest.mark.parametrize("x", [[0.3, -1.2], [1e-9, 40.0], [-2.0, 0.0]])
def test_approx_fprime_is_scipys(x: list[float]) -> None:
    xk = np.array(x)
    assert np.array_equal(approx_fprime(xk, rosen), scipy_approx_fprime(xk, rosen))
    assert np.array_equal(approx_fprime(xk, _vector, 1e-6), scipy_approx_fprime(xk, _vector, 1e-6))
    shift = np.array([0.5, -0.5])
    assert np.array_equal(approx_fprime(xk, lambda u, s: rosen(u + s), 1e-7, shift),
                          scipy_approx_fprime(xk, lambda u, s: rosen(u + s), 1e-7, shift))


@pytest.mark.parametrize("method", ["2-point", "3-point"])
@pytest.mark.parametrize("bounds", [None, ([-1.0, 0.0], [0.3, 1.0]), ([0.3, -5.0], [0.3 + 1e-9, 5.0])])
def test_jacobian_matches_scipy_inside_bounds(method: str, bounds: tuple | None) -> None:
    x = np.array([0.3, 1.0]) if bounds is not None else np.array([0.3, -0.7])
    lb, ub = (np.full(2, -np.inf), np.full(2, np.inf)) if bounds is None else map(np.array, bounds)
    seen: list[np.ndarray] = []

    def recorded(u: np.ndarray) -> np.ndarray:
        seen.append(u.copy())
        return _vector(u)

    ours = approx_jacobian(recorded, x, _vector(x), method=method, lb=lb, ub=ub)
    theirs = approx_derivative(_vector, x, method=method, bounds=(lb, ub))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    assert all(np.all((lb <= u) & (u <= ub)) for u in seen)


def test_complex_step_matches_scipy() -> None:
    x = np.array([0.4, -1.3])
    np.testing.assert_allclose(approx_jacobian(_complex_safe, x, _complex_safe(x), method="cs"),
                               approx_derivative(_complex_safe, x, method="cs"), rtol=1e-15)


def test_central_gradient_without_f0_spends_no_evaluation_on_it() -> None:
    calls: list[np.ndarray] = []

    def counted(u: np.ndarray) -> float:
        calls.append(u.copy())
        return rosen(u)

    x = np.array([1.2, -0.4, 0.8])
    grad = approx_gradient(counted, x, method="3-point")
    assert len(calls) == 2 * x.size  # f(x) itself is never needed
    np.testing.assert_allclose(grad, approx_derivative(rosen, x, method="3-point"), rtol=1e-12)
    calls.clear()
    approx_gradient(counted, x)  # 2-point needs f(x): evaluated once when not given
    assert len(calls) == x.size + 1


def test_unknown_scheme_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown finite-difference method 'forward'"):
        approx_jacobian(rosen, np.zeros(2), method="forward")


def _quadratic(matrix: np.ndarray, centre: np.ndarray):  # type: ignore[no-untyped-def]
    def batch(points: np.ndarray) -> np.ndarray:
        d = points - centre
        return 0.5 * np.einsum("ki,ij,kj->k", d, matrix, d) + 3.0
    return batch


A = np.array([[4.0, 1.0, -0.5], [1.0, 3.0, 0.25], [-0.5, 0.25, 2.0]])


def test_hessian_of_a_quadratic_is_exact_with_central_stencils() -> None:
    x = np.array([0.7, -1.1, 2.0])
    est = approx_hessian(_quadratic(A, np.zeros(3)), x, 1e-3 * np.ones(3))
    np.testing.assert_allclose(est.matrix, A, rtol=1e-6)
    assert not est.one_sided.any()
    assert est.values[0] == _quadratic(A, np.zeros(3))(x[None])[0]
    assert est.values.size == 1 + 2 * 3 ** 2
    np.testing.assert_array_equal(est.matrix, est.matrix.T)


@pytest.mark.parametrize("where", ["lower", "upper", "narrow"])
def test_hessian_at_a_bound_is_one_sided_and_stays_inside(where: str) -> None:
    lb, ub = np.array([0.0, -5.0, -5.0]), np.array([1.0, 5.0, 5.0])
    x = np.array([0.0 if where == "lower" else 1.0, 0.3, -0.2])
    if where == "narrow":
        lb[0], ub[0], x[0] = 0.5, 0.5 + 1e-6, 0.5 + 4e-7
    seen: list[np.ndarray] = []
    quad = _quadratic(A, np.array([0.2, 0.1, 0.0]))

    def batch(points: np.ndarray) -> np.ndarray:
        seen.append(points.copy())
        return quad(points)

    est = approx_hessian(batch, x, np.array([1e-3, 1e-3, 1e-3]), lb=lb, ub=ub)
    assert len(seen) == 1  # one batched call for every stencil point
    assert np.all((seen[0] >= lb) & (seen[0] <= ub))
    assert est.one_sided.tolist() == [True, False, False]
    assert (est.steps[0] > 0) == (where != "upper")
    np.testing.assert_allclose(est.matrix, A, rtol=1e-4 if where != "narrow" else 1e-2)


def test_hessian_marks_non_finite_values() -> None:
    def half_defined(points: np.ndarray) -> np.ndarray:
        return np.where(points[:, 0] > 0, np.sum(points ** 2, axis=1), np.nan)

    est = approx_hessian(half_defined, np.array([0.0, 1.0]), np.array([1e-3, 1e-3]))
    assert np.isnan(est.matrix[0, 0]) and np.isnan(est.values).any()


def test_calib_uses_the_solvers_routine() -> None:
    assert calib.uncertainty.approx_hessian is solvers.approx_hessian
    assert calib.derivatives.approx_gradient is solvers.approx_gradient
    assert calib.derivatives.approx_jacobian is solvers.approx_jacobian
    x = np.array([0.9, 1.3])
    np.testing.assert_array_equal(
        calib.derivatives.central_gradient(rosen, x),
        approx_jacobian(rosen, x, method="3-point", abs_step=np.finfo(float).eps ** (1 / 3)
                        * np.maximum(1.0, np.abs(x)))[0])
    np.testing.assert_allclose(calib.derivatives.central_hessian(rosen, x),
                               solvers.rosen_hess(x), rtol=1e-6)
