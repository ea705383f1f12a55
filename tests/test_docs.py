"""The gallery examples run, and the documentation builds without a warning."""

import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))
DOCS_REQUIREMENTS = ["sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(example, run_python):
    result = run_python(str(example))
    assert result.returncode == 0, (
        f"{example.name} exited with {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-3000:]}\n"
        f"--- stderr ---\n{result.stderr[-6000:]}"
    )


def test_docs_build_without_warnings(tmp_path, run_python):
    missing = [
        name for name in DOCS_REQUIREMENTS if importlib.util.find_spec(name) is None
    ]
    assert not missing, (
        f"building the documentation needs {missing}; install them with "
        "pip install -e '.[docs]'"
    )
    # Build from a copy, so that the generated pages stay out of the work tree.
    # The examples are not run here (plot_gallery=0): test_example_runs does.
    generated = shutil.ignore_patterns(
        "_build", "auto_examples", "gen_modules", "sg_execution_times.rst"
    )
    shutil.copytree(ROOT / "docs", tmp_path / "docs", ignore=generated)
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=generated)
    result = run_python(
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-q",
        "-b",
        "html",
        "-D",
        "plot_gallery=0",
        "-d",
        str(tmp_path / "doctrees"),
        str(tmp_path / "docs"),
        str(tmp_path / "html"),
        timeout=600,
        strict=False,
    )
    assert result.returncode == 0, (
        f"sphinx-build exited with {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-3000:]}\n"
        f"--- stderr ---\n{result.stderr[-6000:]}"
    )
    for page in (
        "index",
        "api",
        "user_guide/batch_normalization",
        "auto_examples/index",
    ):
        assert (tmp_path / "html" / f"{page}.html").is_file(), page
