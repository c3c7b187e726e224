"""The `minimize` dispatcher: scipy's warnings, method choice and names, custom methods,
`show_options` and `OptimizeResult`."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import scipy.optimize

import solvers
import solvers._minimize as dispatcher
from solvers import OptimizeResult
from solvers._options import known_options
from solvers._registry import METHODS, available_methods

from ..problems import rosen, rosen_der
from .methods_under_test import BOUNDED, TESTED, derivatives_for

X0 = [-1.2, 1.0]

#: arguments a method may not use, each given as scipy's tests would give it
UNUSED_ARGUMENTS: dict[str, dict[str, Any]] = {
    "jac": {"jac": rosen_der},
    "hess": {"hess": lambda x: np.eye(2)},
    "hessp": {"hessp": lambda x, p: p},
    "bounds": {"bounds": [(-2.0, 2.0), (-2.0, 2.0)]},
    "constraints": {"constraints": [{"type": "ineq", "fun": lambda x: 2.0 - x[0]}]},
    "return_all": {"options": {"return_all": True}},
}


def _warnings_of(minimize: Any, method: str, kwargs: dict[str, Any]) -> list[tuple[str, str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        minimize(rosen, np.array(X0), method=method,
                 **{**derivatives_for(method, rosen), **kwargs})
    return [(w.category.__name__, str(w.message)) for w in caught]


@pytest.mark.parametrize("argument", sorted(UNUSED_ARGUMENTS))
@pytest.mark.parametrize("method", TESTED)
def test_warnings_for_unused_arguments_match_scipy(method: str, argument: str) -> None:
    kwargs = UNUSED_ARGUMENTS[argument]
    ours = _warnings_of(solvers.minimize, method, kwargs)
    try:
        ref = _warnings_of(scipy.optimize.minimize, method, kwargs)
    except TypeError:  # scipy's trust-constr refuses return_all outright; ours accepts it
        assert (method, argument) == ("trust-constr", "return_all")
        return
    # the same distinct warnings in the same first-seen order (a method's own warnings, such as
    # trust-constr's BFGS 'delta_grad == 0.0', may repeat a path-dependent number of times)
    assert list(dict.fromkeys(ours)) == list(dict.fromkeys(ref))


def test_warning_for_an_unused_argument_names_method_and_argument() -> None:
    with pytest.warns(RuntimeWarning, match=r"Method Nelder-Mead does not use Hessian .*\(hess\)"):
        solvers.minimize(rosen, X0, method="Nelder-Mead", hess=lambda x: np.eye(2))


# -- choosing the method ----------------------------------------------------------------------
class _Chosen(Exception):
    pass


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({}, "BFGS"),
    ({"bounds": [(-2, 2), (-2, 2)]}, "L-BFGS-B"),
    ({"constraints": [{"type": "ineq", "fun": lambda x: 1 - x[0]}]}, "SLSQP"),
])
def test_default_method_choice(monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any],
                               expected: str) -> None:
    def spy(method: str) -> Any:
        raise _Chosen(method)

    monkeypatch.setattr(dispatcher, "get_method", spy)
    with pytest.raises(_Chosen) as info:
        solvers.minimize(rosen, X0, **kwargs)
    assert str(info.value) == expected


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({}, "BFGS"), ({"bounds": [(-2, 2), (-2, 2)]}, "L-BFGS-B")])
def test_default_method_gives_the_named_methods_result(kwargs: dict[str, Any],
                                                       expected: str) -> None:
    if expected not in TESTED:  # not written yet: the dispatcher still asks for it
        with pytest.raises(ImportError, match=expected.lower().replace("-", "")):
            solvers.minimize(rosen, X0, **kwargs)
        return
    default = solvers.minimize(rosen, X0, **kwargs)
    named = solvers.minimize(rosen, X0, method=expected, **kwargs)
    np.testing.assert_array_equal(default.x, named.x)
    assert default.nfev == named.nfev


@pytest.mark.parametrize("spelling", ["nelder-mead", "NELDER-MEAD", "Nelder-mead"])
def test_method_names_are_case_insensitive(spelling: str) -> None:
    res = solvers.minimize(rosen, X0, method=spelling)
    ref = solvers.minimize(rosen, X0, method="Nelder-Mead")
    np.testing.assert_array_equal(res.x, ref.x)
    assert res.nfev == ref.nfev


def test_unknown_method_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="Unknown solver 'simulated-annealing'") as info:
        solvers.minimize(rosen, X0, method="simulated-annealing")
    for spec in METHODS.values():
        assert spec.name in str(info.value)


def test_method_must_be_a_string_or_callable() -> None:
    with pytest.raises(ValueError, match="string or a callable"):
        solvers.minimize(rosen, X0, method=3)


# -- custom methods ---------------------------------------------------------------------------
def _recording_method(record: dict[str, Any], result_type: type) -> Any:
    def custom(fun: Any, x0: Any, **kwargs: Any) -> Any:
        record.update(kwargs, fun=fun, x0=x0)
        return result_type(x=x0, fun=fun(x0, *kwargs["args"]), success=True)
    return custom


def _value_and_grad(x: Any) -> tuple[float, Any]:
    return rosen(x), rosen_der(x)


@pytest.mark.parametrize("jac", [None, rosen_der, True, "2-point"], ids=str)
def test_custom_method_receives_what_scipy_passes(jac: Any) -> None:
    fun = _value_and_grad if jac is True else rosen
    callback = lambda xk: None  # noqa: E731
    common = dict(args=(), jac=jac, hess=None, hessp=None, bounds=[(-2, 2), (-2, 3)],
                  constraints=(), callback=callback, tol=1e-3, options={"knob": 7})
    ours: dict[str, Any] = {}
    ref: dict[str, Any] = {}
    solvers.minimize(fun, [1, 2], method=_recording_method(ours, OptimizeResult), **common)
    scipy.optimize.minimize(fun, [1, 2], method=_recording_method(ref, scipy.optimize.OptimizeResult),
                            **common)
    assert set(ours) == set(ref)
    for key in ("args", "hess", "hessp", "bounds", "constraints", "callback", "tol", "knob"):
        assert ours[key] == ref[key], key
    np.testing.assert_array_equal(ours["x0"], ref["x0"])
    assert ours["x0"].dtype == ref["x0"].dtype == np.float64
    assert (ours["jac"] is None) == (ref["jac"] is None)
    assert callable(ours["jac"]) == callable(ref["jac"])
    point = np.array([0.3, -0.7])
    assert ours["fun"](point) == ref["fun"](point) == rosen(point)
    if callable(ref["jac"]):
        np.testing.assert_array_equal(ours["jac"](point), ref["jac"](point))


def test_non_tuple_args_are_wrapped() -> None:
    seen: list[Any] = []

    def fun(x: Any, scale: Any) -> float:
        seen.append(scale)
        return scale * float(np.sum((x - 1.0) ** 2))

    res = solvers.minimize(fun, [0.0, 0.0], args=3.0, method="Nelder-Mead")
    assert set(seen) == {3.0}
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-3)


# -- show_options -----------------------------------------------------------------------------
def test_show_options_prints_every_implemented_method(capsys: pytest.CaptureFixture[str]) -> None:
    text = "\n".join(solvers.show_options("minimize", name, disp=False) for name in TESTED)
    for name in TESTED:
        assert f"minimize, method={name!r}" in text
    if len(TESTED) == len(available_methods()):  # every runner imports: the full listing works
        assert solvers.show_options("minimize") is None
        printed = capsys.readouterr().out
        for name in available_methods():
            assert f"minimize, method={name!r}" in printed


@pytest.mark.parametrize("method", TESTED)
def test_show_options_mentions_each_option_of_the_method(method: str) -> None:
    text = solvers.show_options("minimize", method.lower(), disp=False)
    assert isinstance(text, str)
    runner = METHODS[method.lower()].runner
    for option in known_options(runner):
        assert option in text, option
    assert "trace" in text  # the options every method accepts


def test_show_options_for_bfgs() -> None:
    text = solvers.show_options("minimize", "bfgs", disp=False)
    for option in ("gtol", "norm", "eps", "maxiter", "xrtol", "c1", "c2", "hess_inv0"):
        assert option in text


def test_show_options_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="Unknown solver"):
        solvers.show_options("maximize")
    with pytest.raises(ValueError, match="Unknown method"):
        solvers.show_options("minimize", "hill-climbing")


# -- OptimizeResult ---------------------------------------------------------------------------
def test_optimize_result_attribute_access() -> None:
    res = OptimizeResult(x=np.array([1.0, 2.0]), fun=3.5, success=True)
    assert res.fun == res["fun"] == 3.5
    res.nit = 4
    assert res["nit"] == 4
    del res.nit
    assert "nit" not in res
    with pytest.raises(AttributeError, match="jac"):
        _ = res.jac
    assert sorted(dir(res)) == ["fun", "success", "x"]


def test_optimize_result_repr() -> None:
    assert repr(OptimizeResult()) == "OptimizeResult()"
    res = OptimizeResult(x=np.array([1.0, 2.0]), fun=3.5, message="done", success=True,
                         status=0, zeta="last")
    lines = repr(res).splitlines()
    assert [line.split(":")[0].strip() for line in lines] == [
        "message", "success", "status", "fun", "x", "zeta"]
    assert len({line.index(":") for line in lines}) == 1  # aligned
    assert "array([1., 2.])" in repr(res)


def test_minimize_result_repr_mentions_its_fields() -> None:
    res = solvers.minimize(rosen, X0, method=BOUNDED[0])
    text = repr(res)
    for key in ("message", "success", "status", "fun", "x", "nit", "nfev"):
        assert f"{key}:" in text
