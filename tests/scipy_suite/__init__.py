"""scipy 1.17's own `scipy.optimize` tests run against our `minimize` / `minimize_scalar`.

`swap` is the pytest plugin that puts our functions in place of scipy's and records, per test,
whether the test called them; ``python -m tests.scipy_suite`` runs the selected scipy test
files with the plugin and prints the counts (tests calling ours, passed, failed with reasons).
"""
