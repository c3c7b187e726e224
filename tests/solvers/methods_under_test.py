"""Which `minimize` methods the cross-method tests cover: all of them (the registry imports every
runner, so a missing one fails at import, never shrinks the parametrization)."""

from __future__ import annotations

from solvers._registry import METHODS, available_methods

__all__ = ["TESTED", "BOUNDED", "spec_of"]

#: every `minimize` method
TESTED: list[str] = available_methods()

#: the methods that take bounds
BOUNDED: list[str] = [name for name in TESTED if METHODS[name.lower()].supports_bounds]


def spec_of(method: str):  # type: ignore[no-untyped-def]
    """The `MethodSpec` of a method name."""
    return METHODS[method.lower()]


def _central_gradient(fun, x, args, h=1e-6):  # type: ignore[no-untyped-def]
    import numpy as np

    x = np.asarray(x, dtype=float)
    g = np.empty_like(x)
    for i in range(x.size):
        step = h * max(1.0, abs(x[i]))
        xp, xm = x.copy(), x.copy()
        xp[i] += step
        xm[i] -= step
        g[i] = (fun(xp, *args) - fun(xm, *args)) / (2 * step)
    return g


def derivatives_for(method: str, fun, args: tuple = ()) -> dict:  # type: ignore[no-untyped-def]
    """``jac``/``hess`` callables (central differences of ``fun``) for methods that require them.

    Methods such as Newton-CG, dogleg and the trust-region family refuse to run without the
    derivatives listed in `MethodSpec.requires`, as scipy's do; the cross-method contracts give
    them finite-difference callables so that the same contract applies to every method.
    """
    import numpy as np

    requires = spec_of(method).requires
    out: dict = {}
    if "jac" in requires:
        out["jac"] = lambda x, *a: _central_gradient(fun, x, a)
    if "hess" in requires or "hess_or_hessp" in requires:
        def hess(x, *a):  # type: ignore[no-untyped-def]
            x = np.asarray(x, dtype=float)
            cols = [_central_gradient(lambda z, *b: _central_gradient(fun, z, b)[j], x, a, 1e-4)
                    for j in range(x.size)]
            h = np.array(cols)
            return 0.5 * (h + h.T)
        out["hess"] = hess
    return out
