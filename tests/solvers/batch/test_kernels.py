"""The building blocks of batched L-BFGS-B: compact memory, strong-Wolfe step, block sizing."""

from __future__ import annotations

import numpy as np
import pytest

from solvers import minimize_batch
from solvers.batch.blocks import SMALLEST, BlockSizer
from solvers.batch.lbfgs_memory import Memory, append, clear, inverse_hessian_product
from solvers.batch.wolfe import C2, Bracket, cubic_minimizer, wolfe_step


def two_loop(q: np.ndarray, s: list[np.ndarray], y: list[np.ndarray]) -> np.ndarray:
    """The textbook two-loop recursion for one start (pairs oldest first), H0 = gamma I."""
    if not s:
        return q.copy()
    q = q.copy()
    alphas = []
    for s_i, y_i in zip(reversed(s), reversed(y)):
        alpha = (s_i @ q) / (s_i @ y_i)
        q -= alpha * y_i
        alphas.append(alpha)
    r = (s[-1] @ y[-1]) / (y[-1] @ y[-1]) * q
    for (s_i, y_i), alpha in zip(zip(s, y), reversed(alphas)):
        r += (alpha - (y_i @ r) / (s_i @ y_i)) * s_i
    return r


def test_compact_memory_equals_the_two_loop_recursion() -> None:
    """Random curvature pairs, stored in some rows only, wrapping the ring and cleared."""
    rng = np.random.default_rng(0)
    m, n_slots, d = 5, 3, 4
    mem = Memory.empty(m, n_slots, d)
    pairs: list[tuple[list[np.ndarray], list[np.ndarray]]] = [([], []) for _ in range(m)]
    for step in range(11):
        a = rng.normal(size=(d, d))
        hessian = a @ a.T + d * np.eye(d)
        s = rng.normal(size=(m, d))
        y = s @ hessian
        store = rng.random(m) < 0.7
        sy = np.einsum("ij,ij->i", s, y)
        append(mem, store, np.where(store[:, None], s, 0.0), np.where(store[:, None], y, 0.0),
               np.where(store, sy, 0.0))
        for i in np.flatnonzero(store):
            pairs[i][0].append(s[i])
            pairs[i][1].append(y[i])
            del pairs[i][0][:-n_slots], pairs[i][1][:-n_slots]
        if step == 6:
            clear(mem, np.arange(m) == 2)
            pairs[2] = ([], [])
        q = rng.normal(size=(m, d))
        got = inverse_hessian_product(q, mem)
        for row in range(m):
            np.testing.assert_allclose(got[row], two_loop(q[row], *pairs[row]), rtol=1e-12,
                                       atol=1e-14)
        assert mem.n_pairs.tolist() == [len(p[0]) for p in pairs]


def test_memory_product_of_a_row_does_not_depend_on_the_batch() -> None:
    rng = np.random.default_rng(1)
    m, n_slots, d = 40, 10, 7
    mem = Memory.empty(m, n_slots, d)
    for _ in range(13):
        s = rng.normal(size=(m, d))
        y = s + 0.1 * rng.normal(size=(m, d))
        append(mem, np.ones(m, dtype=bool), s, y, np.einsum("ij,ij->i", s, y))
    q = rng.normal(size=(m, d))
    full = inverse_hessian_product(q, mem)
    for rows in (np.array([3]), np.array([0, 17, 39]), np.arange(1, 40, 2)):
        keep = np.zeros(m, dtype=bool)
        keep[rows] = True
        assert np.array_equal(inverse_hessian_product(q[keep], mem.take(keep)), full[keep])


def _bracket(m: int, f0: np.ndarray, dphi0: np.ndarray) -> Bracket:
    return Bracket(np.zeros(m), f0.copy(), dphi0.copy(), np.full(m, np.inf), np.zeros(m),
                   np.zeros(m), np.zeros(m, dtype=bool))


def test_cubic_minimizer_is_exact_on_quadratics_and_cubics() -> None:
    phi = lambda t: (t - 2.0) ** 2  # noqa: E731
    dphi = lambda t: 2.0 * (t - 2.0)  # noqa: E731
    a, b = np.array([0.0, 3.5]), np.array([0.5, 1.0])
    np.testing.assert_allclose(cubic_minimizer(a, phi(a), dphi(a), b, phi(b), dphi(b)), 2.0)
    cube = lambda t: t ** 3 - 3.0 * t  # noqa: E731  (local minimum at t = 1)
    a, b = np.array([0.0]), np.array([3.0])
    np.testing.assert_allclose(cubic_minimizer(a, cube(a), 3.0 * a ** 2 - 3.0, b, cube(b),
                                               3.0 * b ** 2 - 3.0), 1.0)


def test_wolfe_step_extrapolates_interpolates_and_accepts() -> None:
    """phi(t) = (t - 2)^2 from t = 0 (phi' = -4), three starts with different trials."""
    t = np.array([0.1, 6.0, 1.9])
    f0, dphi0 = np.full(3, 4.0), np.full(3, -4.0)
    ft, dphi_t = (t - 2.0) ** 2, 2.0 * (t - 2.0)
    step = wolfe_step(t, ft, dphi_t, dphi0 * t, f0, dphi0, _bracket(3, f0, dphi0))
    # t = 0.1: too short (slope -3.8, steeper than -0.9 * 4): becomes lo; the cubic points at
    # t = 2, but one extrapolation goes at most 4 advances further: to 0.5
    assert step.improved[0] and not step.accept[0] and not step.bracket.bracketed[0]
    assert step.bracket.t_lo[0] == 0.1 and step.t_next[0] == pytest.approx(0.5)
    # t = 6: no sufficient decrease: becomes hi, backtrack to at most half the step
    assert not step.improved[1] and step.bracket.bracketed[1] and step.bracket.t_hi[1] == 6.0
    assert 0.6 <= step.t_next[1] <= 3.0
    # t = 1.9: |phi'| = 0.2 <= 0.9 * 4: accepted
    assert step.accept[2] and abs(dphi_t[2]) <= C2 * 4.0


def test_wolfe_search_finds_the_line_minimum_of_a_quadratic_in_two_trials() -> None:
    """A rejected first trial is followed by the exact minimiser (the cubic is exact)."""
    t, f0, dphi0 = np.array([10.0]), np.array([4.0]), np.array([-4.0])
    br = _bracket(1, f0, dphi0)
    first = wolfe_step(t, (t - 2.0) ** 2, 2.0 * (t - 2.0), dphi0 * t, f0, dphi0, br)
    t2 = first.t_next
    assert not first.accept[0] and t2[0] == pytest.approx(2.0)
    second = wolfe_step(t2, (t2 - 2.0) ** 2, 2.0 * (t2 - 2.0), dphi0 * t2, f0, dphi0,
                        first.bracket)
    assert second.accept[0]


def test_block_sizer_settles_on_the_fastest_size() -> None:
    """Synthetic costs: 20 us per call plus 0.5 us per row, 2 us per row beyond 256 rows."""
    def cost(rows: int) -> float:
        return 20e-6 + rows * (0.5e-6 if rows <= 256 else 2e-6)

    sizer = BlockSizer(16384)
    for _ in range(60):
        sizes = sizer.plan(1500)
        assert sum(sizes) == 1500 and max(sizes) <= 16384
        for rows in sizes:
            sizer.record(rows, cost(rows))
    assert sizer.size == 256
    assert sizer.plan(40) == [40]  # a small request is one call
    cheap_rows = BlockSizer(16384)  # per-call overhead only: the biggest block wins
    for _ in range(60):
        for rows in cheap_rows.plan(5000):
            cheap_rows.record(rows, 1e-3 + rows * 1e-9)
    assert cheap_rows.size >= 4096
    assert min(cheap_rows.per_row) == SMALLEST


def test_explicit_block_rows_fix_every_call_and_leave_results_unchanged() -> None:
    sizes: list[int] = []

    def fun(X: np.ndarray) -> np.ndarray:
        sizes.append(X.shape[0])
        return np.sum((X - 1.0) ** 2 + np.sin(3.0 * X), axis=1)

    x0 = np.random.default_rng(4).uniform(-2.0, 2.0, (70, 3))
    auto = minimize_batch(fun, x0)
    sizes.clear()
    fixed = minimize_batch(fun, x0, options={"block_rows": 50})
    assert max(sizes) == 50 and sizes[0] == 50
    assert np.array_equal(auto.x, fixed.x) and auto.nfev.tolist() == fixed.nfev.tolist()
    with pytest.raises(ValueError, match="block_rows must be a positive integer"):
        minimize_batch(fun, x0, options={"block_rows": 0})
