"""The linear-algebra kernels behind the methods, against numpy's dense answers."""

from __future__ import annotations

import numpy as np
import pytest

from solvers.least_squares.common import solve_lsq_trust_region, solve_trust_region_2d
from solvers.least_squares.lm_kernels import lm_parameter, qr_pivoted, solve_damped
from solvers.least_squares.lsmr import lsmr

RNG = np.random.default_rng(20261206)
A = RNG.standard_normal((12, 4)) * np.array([1.0, 10.0, 0.1, 3.0])
B = RNG.standard_normal(12)


def _q_from(qr: np.ndarray) -> np.ndarray:
    """Q (m, n) from the Householder vectors below R (MINPACK's storage)."""
    m, n = qr.shape
    q = np.eye(m)[:, :n]
    for j in reversed(range(n)):
        v = qr[j:, j]
        if v[0] != 0:
            q[j:] -= np.outer(v, v.dot(q[j:]) / v[0])
    return q


def test_qr_pivoted_factors_the_permuted_matrix() -> None:
    qr, ipvt, rdiag, acnorm = qr_pivoted(A)
    r = np.triu(qr[:4, :4], 1) + np.diag(rdiag)
    np.testing.assert_allclose(_q_from(qr) @ r, A[:, ipvt], atol=1e-12)
    np.testing.assert_allclose(acnorm, np.linalg.norm(A, axis=0), rtol=1e-14)
    assert np.all(np.diff(np.abs(rdiag)) <= 1e-12)  # pivoting: |R_jj| non-increasing
    assert ipvt[0] == 1  # the largest column comes first


@pytest.mark.parametrize("damping", [0.0, 0.3, 5.0])
def test_solve_damped_is_the_stacked_least_squares_solution(damping: float) -> None:
    qr, ipvt, rdiag, _ = qr_pivoted(A)
    q = _q_from(qr)
    r = np.triu(qr[:4, :4], 1) + np.diag(rdiag)
    diag = damping * np.array([1.0, 2.0, 0.5, 1.5])
    x, _ = solve_damped(r.copy(), ipvt, diag, q.T @ B)
    stacked = np.vstack((A, np.diag(diag)))
    expected = np.linalg.lstsq(stacked, np.concatenate((B, np.zeros(4))), rcond=None)[0]
    np.testing.assert_allclose(x, expected, rtol=1e-10, atol=1e-12)


def test_lm_parameter_meets_the_radius() -> None:
    qr, ipvt, rdiag, _ = qr_pivoted(A)
    q = _q_from(qr)
    r = np.triu(qr[:4, :4], 1) + np.diag(rdiag)
    diag = np.ones(4)
    gauss_newton = np.linalg.lstsq(A, B, rcond=None)[0]
    delta = 0.2 * np.linalg.norm(gauss_newton)
    par, x_list = lm_parameter(r.tolist(), ipvt.tolist(), diag.tolist(), (q.T @ B).tolist(),
                                delta, 0.0)
    x = np.array(x_list)
    assert par > 0
    assert abs(np.linalg.norm(diag * x) - delta) <= 0.1 * delta
    np.testing.assert_allclose((A.T @ A + par * np.eye(4)) @ x, A.T @ B, rtol=1e-8)


@pytest.mark.parametrize("damp", [0.0, 0.7])
def test_lsmr_solves_the_damped_problem(damp: float) -> None:
    x = lsmr(A, B, damp=damp, atol=1e-12, btol=1e-12, maxiter=100)
    expected = np.linalg.solve(A.T @ A + damp**2 * np.eye(4), A.T @ B)
    np.testing.assert_allclose(x, expected, rtol=1e-8)


def test_exact_trust_region_step_on_the_boundary() -> None:
    U, s, VT = np.linalg.svd(A, full_matrices=False)
    delta = 0.1
    p, alpha, n_iter = solve_lsq_trust_region(4, 12, U.T @ B, s, VT.T, delta)
    assert n_iter > 0 and alpha > 0
    assert abs(np.linalg.norm(p) - delta) < 1e-12  # rescaled onto the boundary
    unconstrained, alpha0, it0 = solve_lsq_trust_region(4, 12, U.T @ B, s, VT.T, 1e6)
    assert (alpha0, it0) == (0.0, 0)
    np.testing.assert_allclose(unconstrained, -np.linalg.lstsq(A, B, rcond=None)[0],
                               rtol=1e-10)


def test_two_dimensional_trust_region() -> None:
    B2 = np.array([[2.0, 0.5], [0.5, 1.0]])
    g = np.array([1.0, -2.0])
    newton, inside = solve_trust_region_2d(B2, g, 10.0)
    assert inside
    np.testing.assert_allclose(newton, -np.linalg.solve(B2, g))
    p, inside = solve_trust_region_2d(B2, g, 0.5)
    assert not inside and abs(np.linalg.norm(p) - 0.5) < 1e-12
    angles = np.linspace(0, 2 * np.pi, 2001)
    ring = 0.5 * np.vstack((np.cos(angles), np.sin(angles)))
    best = np.min(0.5 * np.sum(ring * (B2 @ ring), axis=0) + g @ ring)
    assert 0.5 * p @ B2 @ p + g @ p <= best + 1e-9
