"""The trust-region family (dogleg, trust-ncg, trust-exact, trust-krylov) against scipy 1.17.

Contract (issue 4): same minimiser to 1e-5 relative, same success flag (and status), iteration
count within 1.5x of scipy's, on Rosenbrock (2, 5, 10, 50; ``hess`` and ``hessp``), a nonconvex
problem with an indefinite Hessian at x0, the trust-exact hard case, and the GARCH(1,1) and OU
likelihoods of `calib.models` (simulated data, finite-difference derivatives).

``gtol=1e-8`` is passed to both libraries in the Rosenbrock comparisons: with the default 1e-4
the runs stop where ``||x - x*||`` can still be ~1e-4 on these ill-conditioned problems, and
trust-krylov's subproblems (scipy: the compiled trlib; here: numpy GLTR) are solved to the same
tolerances but not along identical paths, so the two may stop at different points of that
1e-4 neighbourhood (likewise ``gtol=1e-6`` for the likelihoods).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import scipy.optimize

import solvers
from calib.models import get_model
from solvers.methods.trust_region.subproblems import (boundary_intersections, gershgorin_bounds,
                                     smallest_singular_pair, solve_small_trs, upper_cholesky)
from solvers.methods.trust_region.trust_exact import MoreSorensenStep
from solvers.methods.trust_region.trust_krylov import LanczosGLTR

METHODS = ["dogleg", "trust-ncg", "trust-exact", "trust-krylov"]
HESSP_METHODS = ["trust-ncg", "trust-krylov"]
NIT_RATIO_LIMIT = 1.5
TIGHT = {"gtol": 1e-8}


@dataclass(frozen=True)
class SecondOrderProblem:
    """A problem with analytic (or finite-difference) gradient, Hessian and Hessian product."""

    name: str
    fun: Callable[..., float]
    jac: Callable[..., np.ndarray]
    hess: Callable[..., np.ndarray]
    x0: np.ndarray
    hessp: Callable[..., np.ndarray] | None = None
    options: dict[str, Any] = field(default_factory=dict)


def _compare(method: str, prob: SecondOrderProblem, *, use_hessp: bool = False,
             options: dict[str, Any] | None = None) -> tuple[Any, Any]:
    kwargs: dict[str, Any] = {"method": method, "jac": prob.jac,
                              "options": {**prob.options, **(options or {})}}
    if use_hessp:
        kwargs["hessp"] = prob.hessp
    else:
        kwargs["hess"] = prob.hess
    ref = scipy.optimize.minimize(prob.fun, prob.x0.copy(), **kwargs)
    ours = solvers.minimize(prob.fun, prob.x0.copy(), **kwargs)
    return ours, ref


def _assert_same(ours: Any, ref: Any, case: str, rtol: float = 1e-5) -> None:
    assert (ours.success, ours.status) == (ref.success, ref.status), (
        f"{case}: {ours.status} {ours.message!r} vs scipy {ref.status} {ref.message!r}")
    assert ours.message == ref.message
    np.testing.assert_allclose(ours.x, ref.x, rtol=rtol, atol=1e-8, err_msg=case)
    assert ours.nit <= NIT_RATIO_LIMIT * max(ref.nit, 1), f"{case}: nit {ours.nit} vs {ref.nit}"
    for key in ("nfev", "njev", "nhev"):
        assert ours[key] <= NIT_RATIO_LIMIT * max(ref[key], 1), f"{case}: {key}"


# -- problems ---------------------------------------------------------------------------------
def _rosen(n: int, start: str) -> SecondOrderProblem:
    if start == "classic":
        x0 = np.array([-1.2, 1.0]) if n == 2 else np.resize([1.3, 0.7, 0.8, 1.9, 1.2], n)
    else:  # positive-definite Hessian all along dogleg's path
        x0 = np.full(n, 1.3)
    return SecondOrderProblem(f"rosen{n}-{start}", solvers.rosen, solvers.rosen_der,
                              solvers.rosen_hess, x0, solvers.rosen_hess_prod, TIGHT)


def _double_well_chain(x: np.ndarray) -> float:
    """Sum of double wells ``(x_i^2 - 1)^2`` coupled by ``(x_i - x_{i+1})^2 / 2``: nonconvex."""
    return float(np.sum((x**2 - 1.0) ** 2) + 0.5 * np.sum(np.diff(x) ** 2))


def _double_well_grad(x: np.ndarray) -> np.ndarray:
    g = 4.0 * x * (x**2 - 1.0)
    d = np.diff(x)
    g[:-1] -= d
    g[1:] += d
    return g


def _double_well_hess(x: np.ndarray) -> np.ndarray:
    n = x.size
    h = np.diag(12.0 * x**2 - 4.0)
    coupling = np.diag(np.r_[1.0, 2.0 * np.ones(n - 2), 1.0]) - np.eye(n, k=1) - np.eye(n, k=-1)
    return h + coupling


NONCONVEX = SecondOrderProblem(
    "double-well-chain", _double_well_chain, _double_well_grad, _double_well_hess,
    np.array([0.1, -0.2, 0.3, 0.05]),
    lambda x, p: _double_well_hess(x) @ p)


def _hard_case_fun(x: np.ndarray) -> float:
    return float(0.5 * (x[0] - 1.0) ** 2 + x[1] ** 4 / 4.0 - x[1] ** 2 / 2.0)


def _hard_case_grad(x: np.ndarray) -> np.ndarray:
    return np.array([x[0] - 1.0, x[1] ** 3 - x[1]])


def _hard_case_hess(x: np.ndarray) -> np.ndarray:
    return np.diag([1.0, 3.0 * x[1] ** 2 - 1.0])


#: at x0 the gradient (2, 0) is orthogonal to the eigenvector (0, 1) of the negative eigenvalue
HARD_CASE = SecondOrderProblem("hard-case", _hard_case_fun, _hard_case_grad, _hard_case_hess,
                               np.array([3.0, 0.0]), lambda x, p: _hard_case_hess(x) @ p)


def _fd_derivatives(batch: Callable[[np.ndarray], np.ndarray]) -> tuple[Callable, Callable]:
    """Central-difference gradient and Hessian of a function known through a batch evaluator."""

    def grad(z: np.ndarray) -> np.ndarray:
        h = 1e-5 * np.maximum(1.0, np.abs(z))
        steps = np.diag(h)
        values = batch(np.vstack([z + steps, z - steps]))
        return (values[: z.size] - values[z.size:]) / (2.0 * h)

    def hess(z: np.ndarray) -> np.ndarray:
        n = z.size
        h = 1e-4 * np.maximum(1.0, np.abs(z))
        e = np.diag(h)
        rows = [z + si * e[i] + sj * e[j] for i in range(n) for j in range(n)
                for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1))]
        v = batch(np.array(rows)).reshape(n, n, 4)
        out = (v[..., 0] - v[..., 1] - v[..., 2] + v[..., 3]) / (4.0 * np.outer(h, h))
        return 0.5 * (out + out.T)

    return grad, hess


def _likelihood(model_name: str, truth: list[float], n_obs: int, seed: int,
                to_natural: Callable[[np.ndarray], np.ndarray], z0: list[float],
                ) -> SecondOrderProblem:
    """Negative log-likelihood of a calib model in unconstrained coordinates ``z``."""
    model = get_model(model_name)
    data = model.simulate(np.array(truth), n_obs, np.random.default_rng(seed))

    def fun(z: np.ndarray) -> float:
        return float(model.objective(to_natural(z), data))

    def batch(zs: np.ndarray) -> np.ndarray:
        return model.objective_batch(np.array([to_natural(z) for z in zs]), data)

    grad, hess = _fd_derivatives(batch)
    # gtol 1e-6 (not 1e-8): the finite-difference gradient is accurate to ~1e-7 here
    return SecondOrderProblem(f"{model_name}-nll", fun, grad, hess, np.array(z0, dtype=float),
                              lambda z, p: hess(z) @ p, {"gtol": 1e-6})


GARCH = _likelihood("garch11", [0.05, 0.1, 0.85], 1000, 7, np.exp,
                    [np.log(0.1), np.log(0.2), np.log(0.6)])
OU = _likelihood("ou", [1.0, 0.5, 0.3], 500, 11,
                 lambda z: np.array([np.exp(z[0]), z[1], np.exp(z[2])]),
                 [np.log(2.0), 0.0, np.log(0.5)])


# -- comparisons with scipy -------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n", [2, 5, 10, 50])
@pytest.mark.parametrize("start", ["classic", "pd"])
def test_rosenbrock_with_hess_matches_scipy(method: str, n: int, start: str) -> None:
    ours, ref = _compare(method, _rosen(n, start))
    _assert_same(ours, ref, f"{method} rosen{n} {start}")
    if method != "dogleg" or start == "pd":
        assert ours.success
        np.testing.assert_allclose(ours.x, np.ones(n), atol=1e-6)
        np.testing.assert_allclose(ours.hess, solvers.rosen_hess(ours.x))


@pytest.mark.parametrize("method", HESSP_METHODS)
@pytest.mark.parametrize("n", [2, 5, 10, 50])
def test_rosenbrock_with_hessp_matches_scipy(method: str, n: int) -> None:
    ours, ref = _compare(method, _rosen(n, "classic"), use_hessp=True)
    _assert_same(ours, ref, f"{method} rosen{n} hessp")
    assert ours.success and "hess" not in ours


@pytest.mark.parametrize("method", ["trust-ncg", "trust-exact", "trust-krylov"])
@pytest.mark.parametrize("prob", [NONCONVEX, HARD_CASE, GARCH, OU], ids=lambda p: p.name)
def test_nonconvex_hard_case_and_likelihoods_match_scipy(method: str,
                                                         prob: SecondOrderProblem) -> None:
    ours, ref = _compare(method, prob)
    _assert_same(ours, ref, f"{method} {prob.name}")
    assert ours.success


def test_nonconvex_start_really_has_an_indefinite_hessian() -> None:
    assert np.linalg.eigvalsh(NONCONVEX.hess(NONCONVEX.x0))[0] < 0
    assert np.linalg.eigvalsh(HARD_CASE.hess(HARD_CASE.x0))[0] < 0


def test_trust_exact_leaves_the_saddle_in_the_hard_case() -> None:
    ours, _ = _compare("trust-exact", HARD_CASE)
    np.testing.assert_allclose(np.abs(ours.x), [1.0, 1.0], atol=1e-4)
    # the Krylov methods only see span{g}: they stop at the saddle point, as scipy's do
    for method in HESSP_METHODS:
        res, _ = _compare(method, HARD_CASE)
        np.testing.assert_allclose(res.x, [1.0, 0.0], atol=1e-4)


@pytest.mark.parametrize("prob", [GARCH, OU], ids=lambda p: p.name)
def test_dogleg_on_likelihoods_matches_scipy(prob: SecondOrderProblem) -> None:
    ours, ref = _compare("dogleg", prob)
    _assert_same(ours, ref, f"dogleg {prob.name}")


@pytest.mark.parametrize("method", HESSP_METHODS)
@pytest.mark.parametrize("strategy", ["BFGS", "SR1"])
def test_update_strategies_match_scipys(method: str, strategy: str) -> None:
    prob = _rosen(5, "classic")
    kwargs: dict[str, Any] = {"method": method, "jac": prob.jac, "options": TIGHT}
    ref = scipy.optimize.minimize(prob.fun, prob.x0, hess=getattr(scipy.optimize, strategy)(),
                                  **kwargs)
    ours = solvers.minimize(prob.fun, prob.x0, hess=getattr(solvers, strategy)(), **kwargs)
    _assert_same(ours, ref, f"{method} {strategy}")
    assert "hess" not in ours


@pytest.mark.parametrize("method", HESSP_METHODS)
@pytest.mark.parametrize("scheme", ["2-point", "3-point", "cs"])
def test_finite_difference_hessians_match_scipys(method: str, scheme: str) -> None:
    prob = _rosen(5, "classic")
    kwargs: dict[str, Any] = {"method": method, "jac": prob.jac, "hess": scheme}
    ref = scipy.optimize.minimize(prob.fun, prob.x0, **kwargs)
    ours = solvers.minimize(prob.fun, prob.x0, **kwargs)
    _assert_same(ours, ref, f"{method} {scheme}")
    assert ours.success


@pytest.mark.parametrize("method", ["dogleg", "trust-exact"])
@pytest.mark.parametrize("hess", ["BFGS", "2-point"])
def test_dense_methods_refuse_strategies_and_schemes_as_scipy(method: str, hess: str) -> None:
    value = getattr(solvers, hess)() if hess == "BFGS" else hess
    with pytest.raises(ValueError, match="Hessian (matrix )?is required") as ours:
        solvers.minimize(solvers.rosen, [1.0, 2.0], method=method, jac=solvers.rosen_der,
                         hess=value)
    ref_value = getattr(scipy.optimize, hess)() if hess == "BFGS" else hess
    with pytest.raises(ValueError) as ref:
        scipy.optimize.minimize(solvers.rosen, [1.0, 2.0], method=method,
                                jac=solvers.rosen_der, hess=ref_value)
    assert str(ours.value) == str(ref.value)


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("jac", [None, "2-point"])
def test_missing_jacobian_is_a_value_error_as_scipys(method: str, jac: Any) -> None:
    with pytest.raises(ValueError, match="Jacobian is required") as ours:
        solvers.minimize(solvers.rosen, [1.0, 2.0], method=method, jac=jac,
                         hess=solvers.rosen_hess)
    with pytest.raises(ValueError) as ref:
        scipy.optimize.minimize(solvers.rosen, [1.0, 2.0], method=method, jac=jac,
                                hess=solvers.rosen_hess)
    if method != "trust-krylov":  # scipy's trust-krylov message is a tuple (a scipy typo)
        assert str(ours.value) == str(ref.value)


@pytest.mark.parametrize("method", METHODS)
def test_missing_hessian_is_a_value_error_as_scipys(method: str) -> None:
    with pytest.raises(ValueError, match="required") as ours:
        solvers.minimize(solvers.rosen, [1.0, 2.0], method=method, jac=solvers.rosen_der)
    with pytest.raises(ValueError) as ref:
        scipy.optimize.minimize(solvers.rosen, [1.0, 2.0], method=method,
                                jac=solvers.rosen_der)
    assert str(ours.value) == str(ref.value)


def test_dogleg_with_an_indefinite_hessian_stops_with_scipys_linalg_status() -> None:
    ours, ref = _compare("dogleg", NONCONVEX)
    assert (ours.status, ours.success) == (ref.status, ref.success) == (3, False)
    assert ours.message == ref.message == "A linalg error occurred, such as a non-psd Hessian."
    np.testing.assert_array_equal(ours.x, NONCONVEX.x0)


@pytest.mark.parametrize(("options", "match"), [
    ({"eta": 0.3}, "acceptance stringency"),
    ({"eta": -0.1}, "acceptance stringency"),
    ({"max_trust_radius": 0.0}, "max trust radius must be positive"),
    ({"initial_trust_radius": -1.0}, "initial trust radius must be positive"),
    ({"initial_trust_radius": 2000.0}, "less than the max trust radius"),
])
def test_bad_trust_region_options_are_errors(options: dict[str, Any], match: str) -> None:
    for method in METHODS:
        with pytest.raises(ValueError, match=match):
            solvers.minimize(solvers.rosen, [1.3, 1.3], method=method, jac=solvers.rosen_der,
                             hess=solvers.rosen_hess, options=options)


def test_a_hessian_of_the_wrong_shape_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="shape"):
        solvers.minimize(solvers.rosen, [1.3, 1.3, 1.3], method="trust-exact",
                         jac=solvers.rosen_der, hess=lambda x: np.eye(2))


@pytest.mark.parametrize("method", METHODS)
def test_nan_far_from_the_start_stops_with_a_clear_message(method: str) -> None:
    def nan_far_away(x: np.ndarray) -> float:
        return np.nan if np.any(np.abs(x - 1.3) > 0.2) else solvers.rosen(x)

    res = solvers.minimize(nan_far_away, [1.3, 1.3], method=method, jac=solvers.rosen_der,
                           hess=solvers.rosen_hess, options={"initial_trust_radius": 0.5})
    assert not res.success and "non-finite" in res.message
    assert res.fun <= solvers.rosen(np.array([1.3, 1.3]))


# -- iteration contracts (the shared contract tests call methods without jac/hess) --------------
def _run(method: str, **kwargs: Any) -> Any:
    prob = _rosen(5, "pd")
    kwargs.setdefault("hess", prob.hess)
    return solvers.minimize(prob.fun, prob.x0, method=method, jac=prob.jac, **kwargs)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("maxiter", [1, 3])
def test_maxiter_is_honoured_with_scipys_status(method: str, maxiter: int) -> None:
    prob = _rosen(5, "pd")
    res = _run(method, options={"maxiter": maxiter})
    ref = scipy.optimize.minimize(prob.fun, prob.x0, method=method, jac=prob.jac,
                                  hess=prob.hess, options={"maxiter": maxiter})
    assert res.nit == maxiter == ref.nit
    assert (res.status, res.message, res.success) == (ref.status, ref.message, False) == (
        1, "Maximum number of iterations has been exceeded.", False)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_callback_sees_every_iteration_and_return_all_matches_scipy(method: str) -> None:
    prob = _rosen(5, "pd")
    seen: list[np.ndarray] = []
    results: list[Any] = []

    def with_result(intermediate_result: Any) -> None:
        results.append(intermediate_result)

    res = _run(method, callback=seen.append, options={"return_all": True, "trace": True})
    res_ir = _run(method, callback=with_result)
    ref = scipy.optimize.minimize(prob.fun, prob.x0, method=method, jac=prob.jac,
                                  hess=prob.hess, options={"return_all": True})
    assert len(seen) == res.nit == len(results) == res_ir.nit
    np.testing.assert_allclose(seen[-1], res.x)
    assert results[-1].fun == pytest.approx(prob.fun(results[-1].x))
    assert len(res.allvecs) == len(ref.allvecs) == res.nit + 1
    np.testing.assert_allclose(np.array(res.allvecs), np.array(ref.allvecs), rtol=1e-7)
    assert len(res.trace) == res.nit + 1


@pytest.mark.parametrize("method", METHODS)
def test_stop_iteration_in_the_callback_ends_with_status_99(method: str) -> None:
    calls = [0]

    def stop_on_third(xk: np.ndarray) -> None:
        calls[0] += 1
        if calls[0] == 3:
            raise StopIteration

    res = _run(method, callback=stop_on_third)
    assert calls[0] == 3 == res.nit
    assert res.status == 99 and not res.success


@pytest.mark.parametrize("method", METHODS)
def test_tol_sets_gtol(method: str) -> None:
    via_tol = _run(method, tol=1e-10)
    explicit = _run(method, options={"gtol": 1e-10})
    loose = _run(method, tol=1e-1)
    np.testing.assert_array_equal(via_tol.x, explicit.x)
    assert via_tol.nit == explicit.nit > loose.nit


def test_unknown_option_warns() -> None:
    with pytest.warns(solvers.OptimizeWarning, match="Unknown solver options: inexact"):
        _run("trust-ncg", options={"inexact": False})


@pytest.mark.parametrize("inexact", [True, False])
def test_trust_krylov_inexact_option(inexact: bool) -> None:
    prob = _rosen(10, "classic")
    ours, ref = _compare("trust-krylov", prob, options={"inexact": inexact})
    _assert_same(ours, ref, f"trust-krylov inexact={inexact}")


# -- subproblem solvers -----------------------------------------------------------------------
def _brute_force_trs(h: np.ndarray, g: np.ndarray, radius: float) -> float:
    """The global minimum of the model in the ball by dense sampling of the boundary (2-d)."""
    angles = np.linspace(0.0, 2 * np.pi, 200_001)
    boundary = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    values = boundary @ g + 0.5 * np.einsum("ij,jk,ik->i", boundary, h, boundary)
    best = float(values.min())
    if np.all(np.linalg.eigvalsh(h) > 0):
        inside = -np.linalg.solve(h, g)
        if np.linalg.norm(inside) <= radius:
            best = min(best, float(g @ inside + 0.5 * inside @ h @ inside))
    return best


def _model_value(h: np.ndarray, g: np.ndarray, p: np.ndarray) -> float:
    return float(g @ p + 0.5 * p @ h @ p)


@pytest.mark.parametrize(("h", "g", "radius"), [
    (np.diag([-1.0, 2.0]), np.array([0.0, 1.0]), 2.0),      # hard case
    (np.diag([-1.0, 2.0]), np.array([0.3, 1.0]), 2.0),      # indefinite, easy case
    (np.array([[4.0, 1.0], [1.0, 3.0]]), np.array([1.0, 1.0]), 10.0),  # interior
    (np.array([[4.0, 1.0], [1.0, 3.0]]), np.array([5.0, -3.0]), 0.5),  # boundary
], ids=["hard", "indefinite", "interior", "boundary"])
def test_small_subproblem_solution_is_the_global_minimiser(h: np.ndarray, g: np.ndarray,
                                                           radius: float) -> None:
    p, lam = solve_small_trs(h, g, radius)
    assert np.linalg.norm(p) <= radius * (1 + 1e-12)
    assert _model_value(h, g, p) <= _brute_force_trs(h, g, radius) + 1e-8
    assert lam >= 0 and np.all(np.linalg.eigvalsh(h + lam * np.eye(2)) >= -1e-12)


class _FixedModel:
    """A stand-in `QuadraticModel` with a fixed gradient and Hessian."""

    def __init__(self, h: np.ndarray, g: np.ndarray) -> None:
        self.hess, self.g = h, g
        self.gnorm = float(np.linalg.norm(g))
        self.products = 0

    def hessp(self, p: np.ndarray) -> np.ndarray:
        self.products += 1
        return self.hess @ p


def test_more_sorensen_handles_the_hard_case() -> None:
    h, g, radius = np.diag([-1.0, 2.0, 3.0]), np.array([0.0, 1.0, 1.0]), 3.0
    p, on_boundary = MoreSorensenStep(_FixedModel(h, g)).solve(radius)  # type: ignore[arg-type]
    best, _ = solve_small_trs(h, g, radius)
    assert on_boundary and abs(p[0]) > 1.0
    # nearly exact: within the k_hard accuracy of the optimal model decrease
    assert _model_value(h, g, p) <= 0.8 * _model_value(h, g, best)


def test_lanczos_solution_in_the_full_space_is_the_exact_solution() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(8, 8))
    h, g = a + a.T, rng.normal(size=8)
    model = _FixedModel(h, g)
    p, on_boundary = LanczosGLTR(model, inexact=False).solve(1.0)  # type: ignore[arg-type]
    best, lam = solve_small_trs(h, g, 1.0)
    assert on_boundary == (lam > 0)
    assert _model_value(h, g, p) == pytest.approx(_model_value(h, g, best), rel=1e-6)
    assert model.products > 0


def test_lanczos_reuses_its_basis_when_the_radius_shrinks() -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(size=(6, 6))
    model = _FixedModel(a @ a.T + np.eye(6), rng.normal(size=6))
    solver = LanczosGLTR(model, inexact=False)  # type: ignore[arg-type]
    solver.solve(10.0)
    before = model.products
    p, on_boundary = solver.solve(0.01)
    assert model.products == before
    assert on_boundary and np.linalg.norm(p) == pytest.approx(0.01)


def test_cholesky_reports_the_first_failing_pivot_and_singular_value_estimate() -> None:
    a = np.array([[4.0, 2.0, 0.0], [2.0, 1.0, 1.0], [0.0, 1.0, 3.0]])
    _, info = upper_cholesky(a)
    assert info == 2  # the leading 2x2 block is singular
    u, info = upper_cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
    assert info == 0
    np.testing.assert_allclose(u.T @ u, [[4.0, 2.0], [2.0, 5.0]])
    s_min, z = smallest_singular_pair(u)
    true_min = np.linalg.svd(u, compute_uv=False)[-1]
    assert true_min <= s_min <= 2 * true_min and np.linalg.norm(z) == pytest.approx(1.0)
    assert gershgorin_bounds(a) == (-2.0, 6.0)
    t_low, t_high = boundary_intersections(np.zeros(2), np.array([1.0, 0.0]), 2.0)
    assert (t_low, t_high) == (-2.0, 2.0)
