"""SLSQP's numerical kernels: the fast paths must give the very bits of the plain numpy ones.

SLSQP's iterates are pinned (scipy's counts and messages are matched, and sweeps are
reproducible), so its speed-ups call the same LAPACK routines on the same data and do
element-wise arithmetic on Python floats only where it is the same IEEE operation.  These tests
compare each fast kernel with the straightforward numpy formulation, byte for byte.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize as so

from solvers._core import small_linalg as _small_linalg
from solvers._core.nnls import _columns, nnls
from solvers.methods.slsqp.ldl import LDLFactors


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _matrices(rng: np.random.Generator, count: int):
    """Random (m, n) matrices in C order, Fortran order and as transposed views."""
    for k in range(count):
        m, n = (int(v) for v in rng.integers(1, 11, size=2))
        a = rng.normal(size=(m, n))
        if k % 4 == 1:
            a = np.asfortranarray(a)
        elif k % 4 == 2:
            a = rng.normal(size=(n, m)).T
        elif k % 4 == 3:
            a[rng.random(size=a.shape) < 0.3] = 0.0   # exact zeros, as in bound rows
        yield a


@pytest.mark.parametrize("complete", [False, True])
def test_qr_is_numpys_bit_for_bit(complete: bool) -> None:
    rng = np.random.default_rng(0)
    for a in _matrices(rng, 400):
        before = a.copy()
        q, r = _small_linalg.qr(a, complete=complete)
        q_ref, r_ref = np.linalg.qr(a, mode="complete" if complete else "reduced")
        assert _same_bits(q, q_ref) and _same_bits(np.ascontiguousarray(r), r_ref)
        assert _same_bits(a, before)                  # the input is left alone


def test_qr_overwrite_gives_the_same_factors() -> None:
    rng = np.random.default_rng(1)
    for a in _matrices(rng, 200):
        q_ref, r_ref = np.linalg.qr(a)
        q, r = _small_linalg.qr(np.array(a, order="K"), overwrite=True)
        assert _same_bits(q, q_ref) and _same_bits(np.ascontiguousarray(r), r_ref)


def test_solves_are_numpys_bit_for_bit_and_raise_on_singular() -> None:
    rng = np.random.default_rng(2)
    for _ in range(300):
        k = int(rng.integers(1, 9))
        a = rng.normal(size=(k, k))
        b, bs = rng.normal(size=k), rng.normal(size=(k, 3))
        assert _same_bits(_small_linalg.solve(a, b), np.linalg.solve(a, b))
        assert _same_bits(_small_linalg.solve_many(a.T, bs), np.linalg.solve(a.T, bs))
    with pytest.raises(np.linalg.LinAlgError, match="Singular matrix"):
        _small_linalg.solve_many(np.zeros((2, 2)), np.ones((2, 1)))


def test_column_selection_keeps_values_and_memory_layout() -> None:
    rng = np.random.default_rng(3)
    for e in _matrices(rng, 200):
        index = [int(v) for v in rng.permutation(e.shape[1])[:int(rng.integers(1, 4))]]
        fast, ref = _columns(e, index), e[:, index]
        assert fast.strides == ref.strides and _same_bits(fast, ref)


def test_nnls_solves_nonnegative_least_squares_like_scipy() -> None:
    rng = np.random.default_rng(4)
    for _ in range(200):
        m, n = (int(v) for v in rng.integers(1, 9, size=2))
        e, f = rng.normal(size=(m, n)), rng.normal(size=m)
        u, rnorm, code = nnls(e, f, 3 * n + 10)
        ref, ref_norm = so.nnls(e, f)
        assert code == 1 and np.all(u >= 0.0)
        assert rnorm == pytest.approx(ref_norm, abs=1e-9)
        np.testing.assert_allclose(e @ u, e @ ref, atol=1e-8)


def _reference_update(hess: LDLFactors, step: np.ndarray, change: np.ndarray) -> bool:
    """`LDLFactors.damped_bfgs` with both rank-one modifications done on numpy arrays."""
    b_step = hess.times(step)
    curvature, s_b_s = float(step @ change), float(step @ b_step)
    floor = 0.2 * s_b_s
    if curvature < floor:
        theta = (s_b_s - floor) / (s_b_s - curvature)
        change = theta * change + (1.0 - theta) * b_step
        curvature = floor
    if curvature == 0.0 or s_b_s == 0.0:
        return False
    hess._rank_one(change, 1.0 / curvature)
    hess._rank_one(b_step, -1.0 / s_b_s)
    return True


@pytest.mark.parametrize("n", [1, 2, 4, 7, 10])
def test_list_bfgs_update_is_the_numpy_update_bit_for_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    fast, ref = LDLFactors(n), LDLFactors(n)
    for k in range(60):
        step = rng.normal(size=n) * 10.0 ** rng.integers(-3, 3)
        # positive, weak (damped) and negative curvature along the step
        change = step * rng.choice([3.0, 0.05, -1.0]) + 0.3 * rng.normal(size=n)
        assert fast.damped_bfgs(step, change) == _reference_update(ref, step, change)
        assert _same_bits(fast.unit_lower, ref.unit_lower) and _same_bits(fast.diag, ref.diag)
        assert fast.unit_lower.flags.c_contiguous
        if k % 20 == 19:
            fast.reset()
            ref.reset()
    assert np.all(fast.diag > 0.0)


def test_degenerate_factor_falls_back_to_numpy_semantics(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    fallbacks: list[float] = []
    numpy_rank_one = LDLFactors._rank_one

    def counted(self: LDLFactors, z: np.ndarray, sigma: float) -> None:
        fallbacks.append(sigma)
        numpy_rank_one(self, z, sigma)

    fast, ref = LDLFactors(2), LDLFactors(2)
    for hess in (fast, ref):
        hess.diag[0] = 0.0                            # v / d[0] is inf (numpy), not an error
    step, change = np.array([1.0, 0.5]), np.array([2.0, 1.0])
    with np.errstate(all="ignore"):
        expected = _reference_update(ref, step, change)
        monkeypatch.setattr(LDLFactors, "_rank_one", counted)
        assert fast.damped_bfgs(step, change) == expected
    assert len(fallbacks) == 2                        # the list path gave way to numpy's
    assert _same_bits(fast.unit_lower, ref.unit_lower) and _same_bits(fast.diag, ref.diag)


def test_merit_sums_on_floats_are_numpys_reduction_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    special = [0.0, -0.0, np.inf, -np.inf, 1e308, -1e308, 5e-324]
    for k in range(20000):
        values = rng.normal(size=int(rng.integers(0, 12))) * 10.0 ** rng.integers(-30, 30)
        if values.size and k % 3 == 0:
            values[rng.integers(0, values.size)] = rng.choice(special)
        with np.errstate(all="ignore"):
            expected = np.float64(np.add.reduce(values))
        got = np.float64(_small_linalg.reduce_sum(values.tolist()))
        assert got.tobytes() == expected.tobytes() or (np.isnan(got) and np.isnan(expected))
