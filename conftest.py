"""Settings of the test session, and the tests that need an optional extra.

A test that needs the packages of one of pyproject.toml's optional extras is
marked ``@pytest.mark.extra("onnx")``. Without them it is skipped, with the
command that installs them; with ``--require-extras``, which the continuous
integration passes, it fails instead, so that none goes unrun there.
"""

import importlib.util
import os

import pytest

# scikit-learn's check_array_api_input only runs when SciPy's array API mode is
# on, and SciPy reads this variable once, at import.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

# The modules that the tests import from each extra.
EXTRA_MODULES = {
    "onnx": ("onnx", "onnxruntime", "skl2onnx"),
    "dask": ("dask", "distributed"),
}
# The package's modules that need an extra to be imported at all, for their
# doctests: (folder, file name) -> extra.
MODULES_NEEDING_AN_EXTRA = {("sknormnet", "onnx.py"): "onnx"}


def _missing(extra):
    """Why the tests of ``extra`` cannot run, or None when they can."""
    absent = [
        name for name in EXTRA_MODULES[extra] if importlib.util.find_spec(name) is None
    ]
    if not absent:
        return None
    return (
        f"needs the {extra} extra ({', '.join(absent)} not installed): "
        f'pip install -e ".[{extra}]"'
    )


def pytest_addoption(parser):
    parser.addoption(
        "--require-extras",
        action="store_true",
        help="fail, rather than skip, the tests whose optional extra "
        f"({', '.join(EXTRA_MODULES)}) is not installed",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "extra(name): the test needs the optional extra NAME of sknormnet "
        f"({', '.join(EXTRA_MODULES)}); skipped without it, failed under "
        "--require-extras",
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("require_extras"):
        return  # pytest_runtest_setup fails them
    for item in items:
        for marker in item.iter_markers("extra"):
            reason = _missing(marker.args[0])
            if reason is not None:
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_runtest_setup(item):
    if not item.config.getoption("require_extras"):
        return
    for marker in item.iter_markers("extra"):
        reason = _missing(marker.args[0])
        if reason is not None:
            pytest.fail(f"{reason} (--require-extras)", pytrace=False)


class _ModuleNeedingAnExtra(pytest.File):
    """A module of the package that cannot be imported without an extra. It
    stands for its doctests as one test marked with the extra, which is
    skipped or failed; pytest would otherwise stop at its ImportError."""

    def __init__(self, *, extra, **kwargs):
        super().__init__(**kwargs)
        self.extra = extra

    def collect(self):
        item = _Doctests.from_parent(self, name=self.path.name)
        item.add_marker(pytest.mark.extra(self.extra))
        return [item]


class _Doctests(pytest.Item):
    def runtest(self):
        pass  # never reached: the extra is missing, so the marker skips or fails it

    def reportinfo(self):
        return self.path, 0, self.name


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path, parent):
    collectors = yield
    extra = MODULES_NEEDING_AN_EXTRA.get(file_path.parts[-2:])
    if collectors and extra is not None and _missing(extra) is not None:
        return [_ModuleNeedingAnExtra.from_parent(parent, path=file_path, extra=extra)]
    return collectors
