"""Start points for multi-start calibration: uniform, Latin hypercube, scrambled Sobol or explicit.

Sampling is uniform in *internal* space (the natural log for ``log=True`` parameters) and the
result is returned in natural units.  Each ``(seed, dataset_index, sampler)`` has its own random
stream, ``numpy.random.default_rng([seed, dataset_index, SAMPLER_IDS[sampler]])``, and the whole
``(n, p)`` matrix is a function of ``(seed, dataset_index, sampler, n)`` only, so start i of
dataset d is the same however the starts are chunked into tasks, scheduled or retried
(`starts_slice` returns rows of that same matrix, drawing only those rows).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from calib.errors import ProblemError
from calib.parameters import Parameter
from calib.sobol import MAX_DIMENSION, sobol_points

__all__ = ["SAMPLERS", "SAMPLER_IDS", "sample_starts", "starts_slice", "explicit_starts"]

FloatArray = npt.NDArray[np.float64]

#: sampler name -> the integer mixed into its random stream's seed (never change these).
SAMPLER_IDS: dict[str, int] = {"uniform": 0, "lhs": 1, "sobol": 2}
SAMPLERS: tuple[str, ...] = tuple(SAMPLER_IDS)


def _parse_index(name: str, value: object, *, minimum: int) -> int:
    """Return ``value`` as an int >= minimum, or raise a ProblemError naming ``name``."""
    if isinstance(value, (bool, np.bool_)):
        raise ProblemError(f"{name} must be an integer >= {minimum}, got {value!r}")
    try:
        result = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ProblemError(f"{name} must be an integer >= {minimum}, got {value!r}") from None
    if result < minimum:
        raise ProblemError(f"{name} must be an integer >= {minimum}, got {result}")
    return result


def _internal_box(parameters: Sequence[Parameter]) -> tuple[FloatArray, FloatArray]:
    lower = np.array([par.internal_lower for par in parameters], dtype=np.float64)
    upper = np.array([par.internal_upper for par in parameters], dtype=np.float64)
    return lower, upper


def _to_natural(parameters: Sequence[Parameter], internal: FloatArray) -> FloatArray:
    """Map an (n, p) internal-unit matrix to natural units, clipped into the bounds."""
    natural = np.column_stack([par.to_natural(internal[:, j]) for j, par in enumerate(parameters)])
    lower = np.array([par.lower for par in parameters])
    upper = np.array([par.upper for par in parameters])
    return np.clip(natural, lower, upper)


def sample_starts(parameters: Sequence[Parameter], n: int, *, sampler: str, seed: int,
                  dataset_index: int) -> FloatArray:
    """Sample ``n`` start points inside the parameter bounds.

    Parameters
    ----------
    parameters : sequence of Parameter
        The p parameters, in order; at least one.
    n : int
        Number of starts, >= 1.
    sampler : {'uniform', 'lhs', 'sobol'}
        ``'uniform'``: independent uniform draws; ``'lhs'``: Latin hypercube (one point per
        stratum ``[k/n, (k+1)/n)`` of every parameter's internal range); ``'sobol'``: the first
        ``n`` points of a scrambled Sobol sequence (``n`` need not be a power of two, but the
        balance is exact only for powers of two; at most 21 parameters).
    seed : int
        Sweep seed, >= 0.
    dataset_index : int
        Index of the dataset in the sweep, >= 0; each dataset gets its own stream.

    Returns
    -------
    ndarray, shape (n, p)
        Start points in natural units, ``lower <= x <= upper``; uniform in internal space (log
        space for ``log=True`` parameters).

    Raises
    ------
    ProblemError
        For an unknown sampler, an invalid ``n``/``seed``/``dataset_index``, no parameters, or
        more parameters than the Sobol table holds.
    """
    return _sample_rows("sample_starts", parameters, n, 0, n, sampler=sampler, seed=seed,
                        dataset_index=dataset_index)


def starts_slice(parameters: Sequence[Parameter], n: int, start: int, stop: int, *,
                 sampler: str, seed: int, dataset_index: int) -> FloatArray:
    """Rows ``start:stop`` of ``sample_starts(parameters, n, ...)`` (what one task runs).

    Only those rows are drawn: the random stream is advanced past the earlier rows (uniform,
    and the LHS jitter) or the Sobol points are generated from index ``start``; an LHS slice
    still draws every column's permutation of ``range(n)`` (O(n p), as the contract's draw
    order puts them after the whole jitter matrix).

    Parameters
    ----------
    parameters, n, sampler, seed, dataset_index
        As in `sample_starts`.
    start, stop : int
        Row range, ``0 <= start <= stop <= n``.

    Returns
    -------
    ndarray, shape (stop - start, p)
        Bit for bit the same rows as the full matrix, so concatenating the slices of any
        chunking gives ``sample_starts(parameters, n, ...)``.

    Raises
    ------
    ProblemError
        As `sample_starts`, or for a row range outside ``0..n``.
    """
    return _sample_rows("starts_slice", parameters, n, start, stop, sampler=sampler, seed=seed,
                        dataset_index=dataset_index)


def _sample_rows(caller: str, parameters: Sequence[Parameter], n: object, start: object,
                 stop: object, *, sampler: str, seed: object,
                 dataset_index: object) -> FloatArray:
    """Rows ``start:stop`` of the (n, p) start matrix, after checking every argument."""
    params = tuple(parameters)
    if not params:
        raise ProblemError(f"{caller} needs at least one parameter, got none")
    if sampler not in _ROW_SAMPLERS:
        raise ProblemError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
    rows = _parse_index("number of starts n", n, minimum=1)
    seed_value = _parse_index("seed", seed, minimum=0)
    index = _parse_index("dataset_index", dataset_index, minimum=0)
    first = _parse_index("start", start, minimum=0)
    last = _parse_index("stop", stop, minimum=first)
    if last > rows:
        raise ProblemError(f"start range {first}:{last} exceeds the number of starts n={rows}")
    rng = np.random.default_rng([seed_value, index, SAMPLER_IDS[sampler]])
    unit = _ROW_SAMPLERS[sampler](rows, len(params), first, last, rng)
    lower, upper = _internal_box(params)
    return _to_natural(params, lower + unit * (upper - lower))


def _skip_doubles(rng: np.random.Generator, count: int) -> None:
    """Advance ``rng`` past ``count`` float64 draws (one 64-bit output each for PCG64)."""
    if count:
        rng.bit_generator.advance(count)  # type: ignore[attr-defined]


def _uniform_rows(n: int, p: int, start: int, stop: int, rng: np.random.Generator) -> FloatArray:
    """Rows ``start:stop`` of n independent uniform points in [0, 1)^p; row i uses the i-th p
    draws of the stream (the earlier rows' draws are skipped, not made)."""
    _skip_doubles(rng, start * p)
    return rng.random((stop - start, p))


def _lhs_rows(n: int, p: int, start: int, stop: int, rng: np.random.Generator) -> FloatArray:
    """Rows ``start:stop`` of an n-point Latin hypercube in [0, 1)^p: each column has one
    point in every stratum [k/n, (k+1)/n).

    Draw order (part of the reproducibility contract): an (n, p) jitter matrix (only these
    rows drawn, the others skipped), then one permutation of ``range(n)`` per column, column
    by column.
    """
    _skip_doubles(rng, start * p)
    jitter = rng.random((stop - start, p))
    _skip_doubles(rng, (n - stop) * p)
    strata = (np.column_stack([rng.permutation(n)[start:stop] for _ in range(p)]) if p
              else np.empty((stop - start, 0)))
    return (strata + jitter) / n


def _sobol_rows(n: int, p: int, start: int, stop: int, rng: np.random.Generator) -> FloatArray:
    """Points ``start:stop`` of a scrambled Sobol sequence in [0, 1)^p, generated directly."""
    if p > MAX_DIMENSION:
        raise ProblemError(
            f"sampler 'sobol' supports at most {MAX_DIMENSION} parameters, got {p}; "
            f"use 'lhs' or 'uniform'"
        )
    return sobol_points(stop - start, p, rng=rng, first=start)


_ROW_SAMPLERS: dict[str, Callable[[int, int, int, int, np.random.Generator], FloatArray]] = {
    "uniform": _uniform_rows,
    "lhs": _lhs_rows,
    "sobol": _sobol_rows,
}


def explicit_starts(parameters: Sequence[Parameter], points: npt.ArrayLike) -> FloatArray:
    """Validate user-given start points.

    Parameters
    ----------
    parameters : sequence of Parameter
        The p parameters, in order.
    points : array_like, shape (n, p)
        Start points in natural units, one row per start, ``n >= 1``.

    Returns
    -------
    ndarray, shape (n, p)
        A float64 copy of ``points``.

    Raises
    ------
    ProblemError
        For a wrong shape, a non-numeric or non-finite entry, or a value outside its
        parameter's bounds (the message names the row and the parameter).
    """
    params = tuple(parameters)
    try:
        arr = np.array(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ProblemError(f"explicit start points must be numbers: {exc}") from None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] != len(params):
        raise ProblemError(
            f"explicit start points must have shape (n >= 1, {len(params)}) "
            f"(one column per parameter), got shape {arr.shape}"
        )
    for j, par in enumerate(params):
        column = arr[:, j]
        bad = np.flatnonzero(~np.isfinite(column) | (column < par.lower) | (column > par.upper))
        if bad.size:
            row = int(bad[0])
            raise ProblemError(
                f"explicit start {row}: parameter {par.name!r} = {float(column[row])!r} is outside "
                f"its bounds [{par.lower!r}, {par.upper!r}]"
            )
    return arr
