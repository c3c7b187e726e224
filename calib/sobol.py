"""Sobol low-discrepancy points in [0, 1)^d, plain or scrambled, written on numpy.

The direction numbers are the initial numbers of Joe and Kuo's table ``new-joe-kuo-6.21201``
(S. Joe and F. Y. Kuo, "Constructing Sobol sequences with better two-dimensional projections",
SIAM J. Sci. Comput. 30 (2008) 2635-2654; https://web.maths.unsw.edu.au/~fkuo/sobol/), rows for
dimensions 2 to 21; dimension 1 is the van der Corput sequence in base 2.  Points are produced in
Gray-code order starting from the origin, the same order as ``scipy.stats.qmc.Sobol``.

Scrambling is a random linear matrix scramble (a random lower-triangular binary matrix with unit
diagonal applied to every direction number's digits) followed by a random digital shift, both
drawn from a caller-supplied `numpy.random.Generator`.  Both keep the (t, m, s)-net structure: for
``n = 2**m`` points every one-dimensional projection still has exactly one point in each interval
``[k/n, (k+1)/n)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_DIMENSION", "BITS", "direction_numbers", "sobol_points"]

UIntArray = npt.NDArray[np.uint64]
FloatArray = npt.NDArray[np.float64]

#: Number of binary digits of every coordinate (supports up to 2**BITS points).
BITS = 32

# new-joe-kuo-6.21201, dimensions 2..21: (degree s, coefficient code a, initial m_1..m_s).
_JOE_KUO: tuple[tuple[int, int, tuple[int, ...]], ...] = (
    (1, 0, (1,)),
    (2, 1, (1, 3)),
    (3, 1, (1, 3, 1)),
    (3, 2, (1, 1, 1)),
    (4, 1, (1, 1, 3, 3)),
    (4, 4, (1, 3, 5, 13)),
    (5, 2, (1, 1, 5, 5, 17)),
    (5, 4, (1, 1, 5, 5, 5)),
    (5, 7, (1, 1, 7, 11, 19)),
    (5, 11, (1, 1, 5, 1, 1)),
    (5, 13, (1, 1, 1, 3, 11)),
    (5, 14, (1, 3, 5, 5, 31)),
    (6, 1, (1, 3, 3, 9, 7, 49)),
    (6, 13, (1, 1, 1, 15, 21, 21)),
    (6, 16, (1, 3, 1, 13, 27, 49)),
    (6, 19, (1, 1, 1, 15, 7, 5)),
    (6, 22, (1, 3, 1, 15, 13, 25)),
    (6, 25, (1, 1, 5, 5, 19, 61)),
    (7, 1, (1, 3, 7, 11, 23, 15, 103)),
    (7, 4, (1, 3, 7, 13, 13, 15, 69)),
)

#: Largest number of dimensions the table supports.
MAX_DIMENSION = len(_JOE_KUO) + 1


def _dimension_directions(degree: int, coeffs: int, initial: tuple[int, ...]) -> list[int]:
    """Direction numbers ``V[k] = m_k * 2**(BITS-1-k)`` of one dimension, k = 0..BITS-1."""
    v = [m << (BITS - 1 - k) for k, m in enumerate(initial)]
    for k in range(degree, BITS):
        value = v[k - degree] ^ (v[k - degree] >> degree)
        for lag in range(1, degree):
            if (coeffs >> (degree - 1 - lag)) & 1:
                value ^= v[k - lag]
        v.append(value)
    return v


def direction_numbers(d: int) -> UIntArray:
    """Unscrambled direction numbers of the first ``d`` dimensions.

    Parameters
    ----------
    d : int
        Number of dimensions, ``1 <= d <= MAX_DIMENSION``.

    Returns
    -------
    ndarray of uint64, shape (d, BITS)
        Row j holds dimension j's direction numbers as ``BITS``-bit integers (bit ``BITS-1`` is
        the first binary digit after the point).

    Raises
    ------
    ValueError
        For ``d`` outside ``1..MAX_DIMENSION``.
    """
    if not 1 <= d <= MAX_DIMENSION:
        raise ValueError(f"Sobol points support 1 to {MAX_DIMENSION} dimensions, got {d}")
    rows = [[1 << (BITS - 1 - k) for k in range(BITS)]]
    rows += [_dimension_directions(*row) for row in _JOE_KUO[: d - 1]]
    return np.array(rows, dtype=np.uint64)


def _to_digits(values: UIntArray) -> npt.NDArray[np.uint8]:
    """Binary digits of ``values`` (any shape), most significant first: shape (..., BITS)."""
    shifts = np.arange(BITS - 1, -1, -1, dtype=np.uint64)
    return ((values[..., None] >> shifts) & np.uint64(1)).astype(np.uint8)


def _from_digits(digits: npt.NDArray[np.integer]) -> UIntArray:
    """Inverse of `_to_digits`."""
    weights = np.uint64(1) << np.arange(BITS - 1, -1, -1, dtype=np.uint64)
    return (digits.astype(np.uint64) * weights).sum(axis=-1, dtype=np.uint64)


def _linear_matrix_scramble(directions: UIntArray, rng: np.random.Generator) -> UIntArray:
    """Apply a random unit-lower-triangular GF(2) matrix per dimension to the digits."""
    d = directions.shape[0]
    lower = np.tril(rng.integers(0, 2, size=(d, BITS, BITS), dtype=np.uint8), k=-1)
    lower[:, np.arange(BITS), np.arange(BITS)] = 1
    digits = _to_digits(directions)  # (d, BITS directions, BITS digits)
    scrambled = np.einsum("jil,jkl->jki", lower.astype(np.int64), digits.astype(np.int64)) % 2
    return _from_digits(scrambled)


def sobol_points(n: int, d: int, *, rng: np.random.Generator | None = None,
                 first: int = 0) -> FloatArray:
    """The first ``n`` points of a ``d``-dimensional Sobol sequence (from point ``first``).

    Parameters
    ----------
    n : int
        Number of points, ``0 <= n <= 2**BITS``; need not be a power of two (the first ``n``
        points are returned; their balance is exact only for powers of two).
    d : int
        Number of dimensions, ``1 <= d <= MAX_DIMENSION``.
    rng : numpy.random.Generator, optional
        When given, the sequence is scrambled (linear matrix scramble plus digital shift) with
        draws from ``rng``; point i then depends only on ``rng``'s state and i, never on ``n``.
        When None, the plain sequence is returned (its first point is the origin).
    first : int, optional
        Index of the first point returned (default 0): the result is rows
        ``first:first + n`` of ``sobol_points(first + n, d, rng=...)``, computed directly.

    Returns
    -------
    ndarray, shape (n, d)
        Points in ``[0, 1)``.

    Raises
    ------
    ValueError
        For ``n`` or ``d`` out of range.
    """
    if not 0 <= n <= 2**BITS or not 0 <= first <= 2**BITS - n:
        raise ValueError(f"Sobol points: need 0 <= n and 0 <= first with first + n <= "
                         f"2**{BITS}, got n={n}, first={first}")
    directions = direction_numbers(d)
    shift = np.zeros(d, dtype=np.uint64)
    if rng is not None:
        directions = _linear_matrix_scramble(directions, rng)
        shift = rng.integers(0, 2**BITS, size=d, dtype=np.uint64)
    index = np.arange(first, first + n, dtype=np.uint64)
    gray = index ^ (index >> np.uint64(1))
    points = np.broadcast_to(shift, (n, d)).copy()
    for k in range(max(first + n - 1, 0).bit_length()):
        use = ((gray >> np.uint64(k)) & np.uint64(1)).astype(bool)
        points[use] ^= directions[:, k]
    return points.astype(np.float64) / float(2**BITS)
