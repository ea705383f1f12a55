"""The sdist holds what the test suite needs; the wheel holds only the package;
the version is written once, in pyproject.toml."""

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
