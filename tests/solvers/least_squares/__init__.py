"""Tests of `solvers.least_squares` against scipy's `least_squares` (the oracle)."""
