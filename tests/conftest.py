import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler


@pytest.fixture(scope="session", autouse=True)
def ctrl_c_as_in_a_terminal():
    """SIGINT raises KeyboardInterrupt for the session, as in a terminal.

    The tests press Ctrl-C as a user would, and expect the package to stop
    what it runs. A run started with ``nohup`` or ``&`` ignores SIGINT, and
    the package rightly leaves an ignored SIGINT alone: there, the session
    gives it Python's default handler, which its child processes inherit as
    the system default.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
    ):
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


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
