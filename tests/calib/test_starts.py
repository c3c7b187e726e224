"""Tests of start-point sampling (`calib.starts`) and the Sobol generator (`calib.sobol`)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import qmc

from calib.errors import ProblemError
from calib.parameters import Parameter
from calib.sobol import MAX_DIMENSION, sobol_points
from calib.starts import SAMPLER_IDS, SAMPLERS, explicit_starts, sample_starts, starts_slice

PARAMS = (Parameter("a", -2.0, 3.0), Parameter("b", 1e-3, 1e3, log=True),
          Parameter("c", 0.0, 1.0))


def _unit(parameters: tuple[Parameter, ...], x: np.ndarray) -> np.ndarray:
    """Natural-unit points mapped to [0, 1] of each parameter's internal range."""
    return np.column_stack([
        (par.to_internal(x[:, j]) - par.internal_lower) / (par.internal_upper - par.internal_lower)
        for j, par in enumerate(parameters)])


def _strata(u: np.ndarray, n: int) -> np.ndarray:
    return np.minimum(np.floor(u * n).astype(int), n - 1)


# -- sample_starts ----------------------------------------------------------------------------
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_starts_have_shape_and_respect_bounds(sampler: str) -> None:
    x = sample_starts(PARAMS, 50, sampler=sampler, seed=3, dataset_index=1)
    assert x.shape == (50, 3) and x.dtype == np.float64
    lower = np.array([p.lower for p in PARAMS])
    upper = np.array([p.upper for p in PARAMS])
    assert np.all(x >= lower) and np.all(x <= upper)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_same_seed_same_starts_other_dataset_or_seed_other_starts(sampler: str) -> None:
    first = sample_starts(PARAMS, 16, sampler=sampler, seed=7, dataset_index=0)
    again = sample_starts(PARAMS, 16, sampler=sampler, seed=7, dataset_index=0)
    other_dataset = sample_starts(PARAMS, 16, sampler=sampler, seed=7, dataset_index=1)
    other_seed = sample_starts(PARAMS, 16, sampler=sampler, seed=8, dataset_index=0)
    np.testing.assert_array_equal(first, again)
    assert not np.any(np.all(first == other_dataset, axis=1))
    assert not np.any(np.all(first == other_seed, axis=1))


def test_samplers_use_different_streams() -> None:
    uniform = sample_starts(PARAMS, 8, sampler="uniform", seed=1, dataset_index=0)
    lhs = sample_starts(PARAMS, 8, sampler="lhs", seed=1, dataset_index=0)
    assert not np.allclose(uniform, lhs)


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("chunking", [(0, 37), (0, 1, 2, 37), (0, 8, 16, 24, 32, 37),
                                      (0, 0, 30, 37)])
def test_concatenated_slices_equal_the_whole(sampler: str, chunking: tuple[int, ...]) -> None:
    whole = sample_starts(PARAMS, 37, sampler=sampler, seed=11, dataset_index=2)
    parts = [starts_slice(PARAMS, 37, lo, hi, sampler=sampler, seed=11, dataset_index=2)
             for lo, hi in zip(chunking[:-1], chunking[1:])]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


@pytest.mark.parametrize("sampler", ["uniform", "sobol"])
def test_start_i_does_not_depend_on_n_for_sequential_samplers(sampler: str) -> None:
    small = sample_starts(PARAMS, 5, sampler=sampler, seed=2, dataset_index=0)
    large = sample_starts(PARAMS, 12, sampler=sampler, seed=2, dataset_index=0)
    np.testing.assert_array_equal(small, large[:5])


@pytest.mark.parametrize("n", [1, 7, 64])
def test_lhs_has_one_point_per_stratum_in_every_dimension(n: int) -> None:
    u = _unit(PARAMS, sample_starts(PARAMS, n, sampler="lhs", seed=5, dataset_index=3))
    for j in range(len(PARAMS)):
        assert sorted(_strata(u[:, j], n)) == list(range(n))


@pytest.mark.parametrize("m", [3, 6])
def test_scrambled_sobol_starts_are_stratified_for_powers_of_two(m: int) -> None:
    n = 2**m
    u = _unit(PARAMS, sample_starts(PARAMS, n, sampler="sobol", seed=4, dataset_index=0))
    for j in range(len(PARAMS)):
        assert sorted(_strata(u[:, j], n)) == list(range(n))


def test_log_parameter_is_sampled_uniformly_in_log_space() -> None:
    par = (Parameter("s", 1e-3, 1e3, log=True),)
    lhs = sample_starts(par, 100, sampler="lhs", seed=0, dataset_index=0)[:, 0]
    # one point in each of the 100 equal log-strata: exactly half below the geometric midpoint 1
    assert np.count_nonzero(lhs < 1.0) == 50
    assert np.count_nonzero(lhs < 1e-2) == 16 or np.count_nonzero(lhs < 1e-2) == 17
    uniform = sample_starts(par, 4000, sampler="uniform", seed=0, dataset_index=0)[:, 0]
    assert abs(np.mean(np.log(uniform))) < 0.3   # linear sampling would give mean log ~ 6.2
    assert np.min(uniform) < 1e-2


def test_non_power_of_two_sobol_gives_the_first_n_points() -> None:
    x = sample_starts(PARAMS, 10, sampler="sobol", seed=0, dataset_index=0)
    assert x.shape == (10, 3) and len(np.unique(x[:, 0])) == 10


@pytest.mark.parametrize(("kwargs", "needle"), [
    (dict(sampler="halton"), "unknown sampler 'halton'"),
    (dict(n=0), "number of starts n must be an integer >= 1, got 0"),
    (dict(n=2.5), "got 2.5"),
    (dict(n=True), "got True"),
    (dict(seed=-1), "seed must be an integer >= 0, got -1"),
    (dict(dataset_index=-2), "dataset_index must be an integer >= 0, got -2"),
])
def test_invalid_sampling_arguments(kwargs: dict[str, object], needle: str) -> None:
    args: dict[str, object] = dict(n=4, sampler="lhs", seed=0, dataset_index=0)
    args.update(kwargs)
    n = args.pop("n")
    with pytest.raises(ProblemError) as info:
        sample_starts(PARAMS, n, **args)  # type: ignore[arg-type]
    assert needle in str(info.value)


def test_sampling_needs_parameters_and_sobol_has_a_dimension_limit() -> None:
    with pytest.raises(ProblemError, match="at least one parameter"):
        sample_starts((), 4, sampler="uniform", seed=0, dataset_index=0)
    many = tuple(Parameter(f"p{i}", 0.0, 1.0) for i in range(MAX_DIMENSION + 1))
    with pytest.raises(ProblemError, match=f"at most {MAX_DIMENSION} parameters"):
        sample_starts(many, 4, sampler="sobol", seed=0, dataset_index=0)
    assert sample_starts(many[:-1], 4, sampler="sobol", seed=0, dataset_index=0).shape == (4, 21)


@pytest.mark.parametrize(("start", "stop"), [(3, 2), (0, 11), (-1, 2)])
def test_invalid_slice(start: int, stop: int) -> None:
    with pytest.raises(ProblemError):
        starts_slice(PARAMS, 10, start, stop, sampler="uniform", seed=0, dataset_index=0)


# -- explicit_starts --------------------------------------------------------------------------
def test_explicit_starts_returns_a_float_copy() -> None:
    points = [[0, 1, 0.5], [3, 1e3, 0]]
    x = explicit_starts(PARAMS, points)
    assert x.dtype == np.float64 and x.shape == (2, 3)
    np.testing.assert_array_equal(x, points)


@pytest.mark.parametrize(("points", "needle"), [
    ([0.0, 1.0, 0.5], "shape (n >= 1, 3)"),
    (np.zeros((0, 3)), "got shape (0, 3)"),
    ([[0.0, 1.0]], "got shape (1, 2)"),
    ([[0.0, 1.0, 0.5], [0.0, 2e3, 0.5]], "explicit start 1: parameter 'b' = 2000.0 is outside"),
    ([[np.nan, 1.0, 0.5]], "explicit start 0: parameter 'a' = nan"),
    ([["x", 1.0, 0.5]], "must be numbers"),
])
def test_invalid_explicit_starts(points: object, needle: str) -> None:
    with pytest.raises(ProblemError) as info:
        explicit_starts(PARAMS, points)  # type: ignore[arg-type]
    assert needle in str(info.value)


# -- calib.sobol ------------------------------------------------------------------------------
@pytest.mark.parametrize("m", [1, 4, 10])
def test_plain_sobol_first_dimension_hits_every_interval_once(m: int) -> None:
    n = 2**m
    points = sobol_points(n, 1)
    assert sorted(_strata(points[:, 0], n)) == list(range(n))
    np.testing.assert_array_equal(points[0], [0.0])


def test_plain_sobol_matches_the_joe_kuo_reference() -> None:
    # scipy's Sobol uses the same new-joe-kuo-6.21201 table and Gray-code order
    expected = qmc.Sobol(MAX_DIMENSION, scramble=False).random(512)
    np.testing.assert_array_equal(sobol_points(512, MAX_DIMENSION), expected)


@pytest.mark.parametrize("m", [2, 5, 8])
def test_scrambled_sobol_stays_stratified(m: int) -> None:
    n = 2**m
    points = sobol_points(n, MAX_DIMENSION, rng=np.random.default_rng(m))
    assert np.all((points >= 0.0) & (points < 1.0))
    for j in range(MAX_DIMENSION):
        assert sorted(_strata(points[:, j], n)) == list(range(n))
    # dimensions 1 and 2 form a (0, m, 2)-net: one point per elementary box 2^-a x 2^-(m-a)
    for a in range(m + 1):
        cells = _strata(points[:, 0], 2**a) * 2 ** (m - a) + _strata(points[:, 1], 2 ** (m - a))
        assert len(np.unique(cells)) == n


def test_scrambling_depends_on_the_generator_only() -> None:
    first = sobol_points(8, 3, rng=np.random.default_rng(1))
    again = sobol_points(8, 3, rng=np.random.default_rng(1))
    other = sobol_points(8, 3, rng=np.random.default_rng(2))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    assert not np.allclose(first, sobol_points(8, 3))


@pytest.mark.parametrize(("n", "d"), [(4, 0), (4, MAX_DIMENSION + 1), (-1, 2)])
def test_sobol_rejects_out_of_range_arguments(n: int, d: int) -> None:
    with pytest.raises(ValueError):
        sobol_points(n, d)


def test_sobol_discrepancy_beats_uniform_draws() -> None:
    n = 256
    sobol = sobol_points(n, 4, rng=np.random.default_rng(0))
    uniform = np.random.default_rng(0).random((n, 4))
    assert qmc.discrepancy(sobol) < 0.5 * qmc.discrepancy(uniform)
    assert math.isfinite(qmc.discrepancy(sobol))


@pytest.mark.parametrize("sampler", ["uniform", "sobol"])
def test_a_slice_draws_only_its_own_rows(sampler: str) -> None:
    """The last two of 2**31 starts: drawing the whole matrix first would need ~50 GB."""
    n = 2**31
    tail = starts_slice(PARAMS, n, n - 2, n, sampler=sampler, seed=4, dataset_index=1)
    assert tail.shape == (2, len(PARAMS))
    lower = np.array([p.lower for p in PARAMS])
    upper = np.array([p.upper for p in PARAMS])
    assert np.all((tail >= lower) & (tail <= upper))


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_slices_far_into_the_matrix_are_bit_identical(sampler: str) -> None:
    full = sample_starts(PARAMS, 3000, sampler=sampler, seed=9, dataset_index=4)
    for lo, hi in [(0, 1), (1499, 1501), (2047, 2049), (2999, 3000)]:
        part = starts_slice(PARAMS, 3000, lo, hi, sampler=sampler, seed=9, dataset_index=4)
        np.testing.assert_array_equal(part, full[lo:hi])


def _reference_unit(sampler: str, n: int, p: int, rng: np.random.Generator) -> np.ndarray:
    """The documented draw order, written out on the whole matrix (the contract to keep)."""
    if sampler == "uniform":
        return rng.random((n, p))
    if sampler == "lhs":
        jitter = rng.random((n, p))
        return (np.column_stack([rng.permutation(n) for _ in range(p)]) + jitter) / n
    return sobol_points(n, p, rng=rng)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_rows_follow_the_documented_draw_order(sampler: str) -> None:
    n = 300
    rng = np.random.default_rng([6, 3, SAMPLER_IDS[sampler]])
    unit = _reference_unit(sampler, n, len(PARAMS), rng)
    lower = np.array([p.internal_lower for p in PARAMS])
    upper = np.array([p.internal_upper for p in PARAMS])
    internal = lower + unit * (upper - lower)
    natural = np.column_stack([p.to_natural(internal[:, j]) for j, p in enumerate(PARAMS)])
    expected = np.clip(natural, [p.lower for p in PARAMS], [p.upper for p in PARAMS])
    np.testing.assert_array_equal(sample_starts(PARAMS, n, sampler=sampler, seed=6,
                                                dataset_index=3), expected)
    np.testing.assert_array_equal(starts_slice(PARAMS, n, 123, 200, sampler=sampler, seed=6,
                                               dataset_index=3), expected[123:200])
