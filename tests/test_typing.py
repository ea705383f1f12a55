"""The type hints of the public API, checked by mypy.

mypy runs once, with the ``[tool.mypy]`` settings of pyproject.toml, on the
package, on ``typing_usage.py`` (code written as a user would, with
``assert_type`` for the types it gets) and on a snippet that misuses the API,
where each line marked ``# E: <code>`` must get that error and no other line
any. Its cache is kept in the temporary directory, one per checkout, so that
only the first run is slow.
"""

import hashlib
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from mypy import api

# The hints are written against numpy's current type stubs; older numpy
# releases type some of the same calls differently (overloads of scalars and
# arrays), so the check runs where the latest numpy is installed.
pytestmark = pytest.mark.skipif(
    tuple(int(part) for part in np.__version__.split(".")[:2]) < (2, 4),
    reason="the type hints are checked against the stubs of numpy 2.4 or newer",
)

ROOT = Path(__file__).resolve().parents[1]

MISUSE = """\
from sknormnet import MLPBatchNormClassifier
from sknormnet.distributions import categorical, loguniform
from sknormnet.model_selection import CoarseToFineSearchCV, tuning_space
from sknormnet.plotting import plot_search

loguniform("a", 1)  # E: arg-type
tuning_space(priority="high")  # E: arg-type
tuning_space(2, solver="lbfgs")  # E: arg-type
loguniform(1e-3, 1).rvs(random_state=0).shape  # E: attr-defined
categorical(["relu", "tanh"]).rvs() + 1  # E: operator
CoarseToFineSearchCV(None, [loguniform(1e-3, 1)])  # E: list-item
CoarseToFineSearchCV(None, {}, n_rounds="3")  # E: arg-type
plot_search(None).savefig("search.png")  # E: attr-defined
MLPBatchNormClassifier(activation="softplus")  # E: arg-type
MLPBatchNormClassifier((64,), solver="lbfgs")  # E: arg-type
MLPBatchNormClassifier().predict_proba([[0.0]]).keys()  # E: attr-defined
"""

ERROR = re.compile(r"^(?P<path>.+?):(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$")


@pytest.fixture(scope="module")
def mypy_run(tmp_path_factory):
    """mypy's report on the package, typing_usage.py and misuse.py."""
    misuse = tmp_path_factory.mktemp("typing") / "misuse.py"
    misuse.write_text(MISUSE)
    checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    cache = Path(tempfile.gettempdir()) / f"sknormnet-mypy-cache-{checkout}"
    stdout, stderr, _ = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(cache),
            "--no-color-output",
            "--no-pretty",
            str(ROOT / "sknormnet"),
            str(ROOT / "tests" / "typing_usage.py"),
            str(misuse),
        ]
    )
    errors = [m.groupdict() for m in map(ERROR.match, stdout.splitlines()) if m]
    return stdout, stderr, errors


def test_package_and_its_use_type_check(mypy_run):
    stdout, stderr, errors = mypy_run
    assert not stderr, stderr
    elsewhere = [e for e in errors if not e["path"].endswith("misuse.py")]
    assert not elsewhere, f"mypy found errors:\n{stdout}"
    assert re.search(r"checked \d+ source files", stdout), stdout


def test_misuse_is_reported(mypy_run):
    stdout, _, errors = mypy_run
    expected = {
        (number, line.rpartition("# E: ")[2])
        for number, line in enumerate(MISUSE.splitlines(), start=1)
        if "# E: " in line
    }
    reported = {
        (int(e["line"]), e["code"]) for e in errors if e["path"].endswith("misuse.py")
    }
    assert reported == expected, f"mypy's report on misuse.py:\n{stdout}"
