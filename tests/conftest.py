import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler


@pytest.fixture(scope="session")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture
def small_multiclass():
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=3, size=(3, 6))
    y = np.repeat(np.arange(3), 40)
    X = centers[y] + rng.normal(size=(y.size, 6))
    return X, y


@pytest.fixture
def run_python(tmp_path):
    """Run ``python ARGS`` in ``tmp_path`` as a user would, and return the
    completed process.

    The test session switches SciPy's array API mode on for scikit-learn's
    estimator checks; the scripts run without it and with matplotlib's Agg
    backend. ``strict`` makes FutureWarning and DeprecationWarning errors, as
    the test suite does (third-party tools run without it).
    """

    def run(*args, env=None, timeout=300, strict=True):
        environment = dict(os.environ)
        environment.pop("SCIPY_ARRAY_API", None)
        environment["MPLBACKEND"] = "Agg"
        environment.update(env or {})
        command = [sys.executable]
        if strict:
            command += ["-W", "error::FutureWarning", "-W", "error::DeprecationWarning"]
        command += args
        return subprocess.run(
            command,
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
