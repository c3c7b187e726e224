"""numpy's private modules are a speed-up only: without them (or when they misbehave) the solvers
fall back to public numpy and give the same numbers.

`solvers._core.small_linalg` calls the LAPACK gufuncs of ``numpy.linalg._umath_linalg`` under the
error-state context variable of ``numpy._core._ufunc_config`` (numpy >= 2.0's names; numpy 1.26,
the oldest numpy pyproject.toml allows, has neither ``qr_r_raw`` nor the context variable), and
SLSQP calls the ``clip`` ufunc of ``numpy._core.umath``.  These tests take those pieces away, or
break them, and check which backend is selected and that the results do not change.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from solvers._core import small_linalg
from solvers._core.small_linalg import (
    LapackBackend,
    LinalgBackend,
    PublicBackend,
    agrees_with_public,
    select_backend,
)

FloatArray = npt.NDArray[np.float64]
_GUFUNCS = "numpy.linalg._umath_linalg"
_ERROR_STATE = "numpy._core._ufunc_config"
_NUMPY_2 = int(np.__version__.split(".")[0]) >= 2
_REPO = Path(__file__).resolve().parents[2]


def _same_bits(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _square_systems(seed: int, count: int) -> Iterator[tuple[FloatArray, FloatArray]]:
    rng = np.random.default_rng(seed)
    for k in range(count):
        size = int(rng.integers(1, 12))
        a = rng.normal(size=(size, size))
        if k % 2:
            a = np.asfortranarray(a)
        yield a, rng.normal(size=(size, 3))


def test_the_private_backend_is_used_where_numpy_has_it() -> None:
    expected = LapackBackend.name if _NUMPY_2 else PublicBackend.name
    assert small_linalg.BACKEND == expected
    assert isinstance(select_backend(), LapackBackend if _NUMPY_2 else PublicBackend)


@pytest.mark.parametrize("module", [_GUFUNCS, _ERROR_STATE])
def test_a_missing_private_module_selects_public_numpy(monkeypatch: pytest.MonkeyPatch,
                                                       module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)      # `import` now raises ImportError
    with pytest.raises(ImportError):
        LapackBackend.load()
    assert isinstance(select_backend(), PublicBackend)


def test_a_missing_private_name_selects_public_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    # numpy 1.26 has no qr_r_raw (it has qr_r_raw_m and qr_r_raw_n); take it away on numpy 2
    monkeypatch.delattr(importlib.import_module(_GUFUNCS), "qr_r_raw", raising=False)
    with pytest.raises(ImportError, match="qr_r_raw"):
        LapackBackend.load()
    assert isinstance(select_backend(), PublicBackend)


class _OffByAnUlp(PublicBackend):
    """A backend whose solutions differ from numpy's in the last bit."""

    def solve(self, a: FloatArray, b: FloatArray) -> FloatArray:
        return np.nextafter(super().solve(a, b), np.inf)


class _SilentOnSingular(PublicBackend):
    """A backend that gives inf/nan for a singular matrix instead of raising (the error state
    not in force)."""

    def solve(self, a: FloatArray, b: FloatArray) -> FloatArray:
        if np.linalg.det(a) == 0.0:
            return np.full_like(b, np.nan)
        return super().solve(a, b)


@pytest.mark.parametrize("misbehaving", [_OffByAnUlp, _SilentOnSingular])
def test_a_backend_that_gives_other_results_selects_public_numpy(
        misbehaving: type[PublicBackend]) -> None:
    assert not agrees_with_public(misbehaving())
    selected = select_backend(misbehaving)
    assert type(selected) is PublicBackend


def test_a_backend_that_agrees_is_selected() -> None:
    class Agreeing(PublicBackend):
        name = "agreeing"

    assert agrees_with_public(Agreeing())
    assert select_backend(Agreeing).name == "agreeing"


def test_a_backend_that_fails_to_load_in_any_way_selects_public_numpy() -> None:
    def broken() -> LinalgBackend:
        raise TypeError("a changed gufunc signature")

    assert isinstance(select_backend(broken), PublicBackend)


@pytest.mark.parametrize("backend", [small_linalg, PublicBackend()],
                         ids=["selected", "public"])
def test_both_backends_are_numpy_linalg_bit_for_bit(backend: Any) -> None:
    for a, bs in _square_systems(seed=11, count=200):
        assert _same_bits(backend.inv(a), np.linalg.inv(a))
        assert _same_bits(backend.solve(a, bs[:, 0]), np.linalg.solve(a, bs[:, 0]))
        assert _same_bits(backend.solve_many(a, bs), np.linalg.solve(a, bs))
        assert backend.is_positive_definite(a @ a.T + np.eye(len(a)))
        for complete in (False, True):
            tall = np.vstack([a, bs.T])
            q, r = backend.qr(tall, complete=complete)
            q_ref, r_ref = np.linalg.qr(tall, mode="complete" if complete else "reduced")
            assert _same_bits(q, q_ref) and _same_bits(np.ascontiguousarray(r), r_ref)


@pytest.mark.parametrize("backend", [small_linalg, PublicBackend()],
                         ids=["selected", "public"])
def test_both_backends_raise_numpys_errors(backend: Any) -> None:
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError, match="Singular matrix"):
        backend.solve(singular, np.ones(2))
    with pytest.raises(np.linalg.LinAlgError, match="Singular matrix"):
        backend.solve_many(singular, np.ones((2, 2)))
    with pytest.raises(np.linalg.LinAlgError, match="Singular matrix"):
        backend.inv(singular)
    assert not backend.is_positive_definite(np.array([[1.0, 2.0], [2.0, 1.0]]))


# -- whole solver runs with the private modules taken away, in a fresh interpreter ----------
_RUNS = r"""
import importlib, json, sys, types
import numpy as np

def hide(name, attribute=None):
    # hide a module (import raises ImportError) or one attribute of it, during `import solvers`
    try:
        real = importlib.import_module(name)
    except ImportError:              # not in this numpy at all: already hidden
        return name, None
    if attribute is None:
        sys.modules[name] = None
    else:
        proxy = types.ModuleType(name)
        proxy.__dict__.update({k: v for k, v in vars(real).items() if k != attribute})
        sys.modules[name] = proxy
    return name, real

hidden = [hide(*spec) for spec in json.loads(sys.argv[1])]
from solvers import minimize, rosen, rosen_der
from solvers._core import small_linalg
from solvers.methods import slsqp
for name, real in hidden:
    if real is not None:
        sys.modules[name] = real

def runs():
    x0 = np.array([-1.2, 1.0, 0.4, 2.0, -0.3])
    box = [(-1.0, 0.8)] * 3 + [(0.2, 0.6)] * 2
    yield minimize(rosen, x0, method="L-BFGS-B", bounds=box)
    yield minimize(rosen, x0, method="L-BFGS-B", jac=rosen_der, bounds=box)
    ring = {"type": "ineq", "fun": lambda x: 1.5 - x @ x, "jac": lambda x: -2.0 * x}
    line = {"type": "eq", "fun": lambda x: x[0] + x[1] - 0.5}
    yield minimize(rosen, x0, method="SLSQP", bounds=box, constraints=[ring, line])
    yield minimize(rosen, x0, method="SLSQP", jac=rosen_der, constraints=[ring])

print(json.dumps({"backend": small_linalg.BACKEND,
                  "clip_is_the_ufunc": isinstance(slsqp._clip, np.ufunc),
                  "runs": [[r.x.tolist(), float(r.fun), int(r.nfev), int(r.nit), int(r.status)]
                           for r in runs()]}))
"""


def _solver_runs(hidden: list[list[str]]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _RUNS, json.dumps(hidden)], cwd=_REPO,
                          capture_output=True, text=True, check=True, timeout=120)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def default_runs() -> dict[str, Any]:
    return _solver_runs([])


@pytest.mark.parametrize("hidden", [
    [[_GUFUNCS]],
    [[_ERROR_STATE]],
    [["numpy._core.umath", "clip"], [_GUFUNCS]],
], ids=["no-umath-linalg", "no-error-state-variable", "no-umath-clip-and-no-umath-linalg"])
def test_solvers_without_numpys_private_modules_give_the_same_iterates(
        default_runs: dict[str, Any], hidden: list[list[str]]) -> None:
    fallback = _solver_runs(hidden)
    assert fallback["backend"] == PublicBackend.name
    assert default_runs["backend"] == small_linalg.BACKEND
    assert fallback["clip_is_the_ufunc"] == (["numpy._core.umath", "clip"] not in hidden)
    for (x, fun, nfev, nit, status), (x_ref, fun_ref, nfev_ref, nit_ref, status_ref) in zip(
            fallback["runs"], default_runs["runs"], strict=True):
        np.testing.assert_allclose(x, x_ref, rtol=1e-12, atol=1e-15)
        assert fun == pytest.approx(fun_ref, rel=1e-12, abs=1e-15)
        assert (nfev, nit, status) == (nfev_ref, nit_ref, status_ref)
