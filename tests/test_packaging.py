"""The sdist holds what the test suite needs; the wheel holds only the package;
the version is written once, in pyproject.toml."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

import sknormnet

ROOT = Path(__file__).resolve().parents[1]


def _pyproject():
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)


def _files(folder, pattern):
    return {
        path.relative_to(ROOT).as_posix() for path in ROOT.glob(f"{folder}/{pattern}")
    }


@pytest.fixture(scope="module")
def distributions(tmp_path_factory):
    """The file names in the sdist and in the wheel, built as a release is: the
    sdist from the source tree, the wheel from the sdist."""
    # Build from a copy without the build's own leftovers: with no version
    # control to ask, setuptools adds the files an old egg-info lists.
    source = tmp_path_factory.mktemp("source") / "sknormnet"
    leftovers = shutil.ignore_patterns(
        ".*", "*.egg-info", "build", "dist", "__pycache__", "_build", "auto_examples"
    )
    shutil.copytree(ROOT, source, ignore=leftovers)
    outdir = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", outdir, source],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"python -m build exited with {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-3000:]}\n"
        f"--- stderr ---\n{result.stderr[-3000:]}"
    )
    (sdist,) = outdir.glob("*.tar.gz")
    (wheel,) = outdir.glob("*.whl")
    release = _pyproject()["project"]["version"]
    assert sdist.name == f"sknormnet-{release}.tar.gz"
    assert wheel.name.startswith(f"sknormnet-{release}-py3-")
    with tarfile.open(sdist) as archive:
        # Each name starts with the sdist's top folder, sknormnet-VERSION/.
        sdist_files = {
            name.split("/", 1)[1]
            for name in archive.getnames()
            if "/" in name and archive.getmember(name).isfile()
        }
    with zipfile.ZipFile(wheel) as archive:
        wheel_files = set(archive.namelist())
    return sdist_files, wheel_files


def test_sdist_holds_the_tests_and_what_they_read(distributions):
    sdist_files, _ = distributions
    needed = {
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "pyproject.toml",
        "conftest.py",
        "tests/conftest.py",
        "sknormnet/py.typed",
        *_files("tests", "*.py"),
        *_files("sknormnet", "*.py"),
        *_files("docs", "**/*.rst"),
        "docs/conf.py",
        *_files("examples", "*"),
    }
    assert needed - sdist_files == set()


def test_wheel_holds_only_the_package(distributions):
    _, wheel_files = distributions
    outside = {
        name
        for name in wheel_files
        if not name.startswith("sknormnet/") and ".dist-info/" not in name
    }
    assert outside == set()
    assert "sknormnet/py.typed" in wheel_files
    assert _files("sknormnet", "*.py") - wheel_files == set()


def test_the_version_is_the_one_of_pyproject_toml():
    # pyproject.toml holds it; the installed metadata and __version__ follow.
    # A mismatch means an installation older than pyproject.toml: reinstall.
    release = _pyproject()["project"]["version"]
    assert "version" not in _pyproject()["project"].get("dynamic", [])
    assert sknormnet.__version__ == version("sknormnet") == release


# ------------------------------------------------- the tests' optional extras


def _root_conftest():
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_test_command_installs_every_extra_the_tests_use():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.partition("<!-- set-up commands")[2].partition("\n```\n")[0]
    (test_command,) = [line for line in block.splitlines() if "pytest" in line]
    extras = re.search(r'"\.\[([\w,]+)\]"', test_command).group(1).split(",")
    used = set(_root_conftest().EXTRA_MODULES)
    assert {"test", *used} <= set(extras)
    assert used <= set(_pyproject()["project"]["optional-dependencies"])


NEEDS_ONNX = """\
import pytest


@pytest.mark.extra("onnx")
def test_export():
    pass
"""


@pytest.mark.parametrize("require", [False, True])
def test_a_test_whose_extra_is_missing_is_skipped_or_failed(tmp_path, require):
    shutil.copy(ROOT / "conftest.py", tmp_path)
    (tmp_path / "test_export.py").write_text(NEEDS_ONNX)
    # a module of the package that cannot be imported without the extra
    (tmp_path / "sknormnet").mkdir()
    (tmp_path / "sknormnet" / "onnx.py").write_text(
        '"""\n>>> 1\n1\n"""\nraise ImportError("no skl2onnx")\n'
    )
    # a plugin, loaded before anything is collected, that hides the extra
    (tmp_path / "without_onnx.py").write_text(
        "import sys\n\nfor name in ('onnx', 'onnxruntime', 'skl2onnx'):\n"
        "    sys.modules[name] = None\n"
    )
    options = ["-p", "without_onnx", "--doctest-modules", "-rsE"]
    environment = dict(os.environ, COLUMNS="300")  # summary lines not cut
    # CI sets PYTEST_ADDOPTS=--require-extras, which would decide the case here
    environment.pop("PYTEST_ADDOPTS", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *options]
        + ["--require-extras"] * require,
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    reason = (
        "needs the onnx extra (onnx, onnxruntime, skl2onnx not installed): "
        'pip install -e ".[onnx]"'
    )
    lines = result.stdout.splitlines()
    if require:
        assert result.returncode == 1, result.stdout
        for test in ("test_export.py::test_export", "sknormnet/onnx.py::onnx.py"):
            assert f"ERROR {test} - Failed: {reason} (--require-extras)" in lines
    else:
        assert result.returncode == 0, result.stdout
        assert f"SKIPPED [1] test_export.py:4: {reason}" in lines
        assert f"SKIPPED [1] sknormnet/onnx.py: {reason}" in lines
