"""The compiled kernels and where they keep their cache."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba.core.registry import CPUDispatcher

import sknormnet
from sknormnet import _activations, _jit, _layers, _network, _optimizers
from sknormnet._jit import kernel

KERNELS = [
    (module.__name__, name, value)
    for module in (_activations, _layers, _network, _optimizers)
    for name, value in vars(module).items()
    if isinstance(value, CPUDispatcher)
]


def test_every_kernel_is_found():
    names = {name for _, name, _ in KERNELS}
    assert {"_batch_norm_forward_kernel", "_adam_kernel", "activate"} <= names


def test_every_kernel_is_cached_on_disk():
    uncached = [
        f"{module}.{name}"
        for module, name, value in KERNELS
        if value.stats.cache_path is None
    ]
    assert not uncached


def _cache_files(folder):
    return sorted(
        path.name for path in Path(folder).rglob("*") if path.suffix in (".nbi", ".nbc")
    )


# Compiles a kernel of sknormnet, then a function of the user's own module,
# whose cache numba puts where it would without sknormnet.
USER_SCRIPT = """\
import sys
if sys.argv[1] == "numba-first":
    import numba
import numpy as np
import sknormnet
from sknormnet._activations import row_maximum
assert row_maximum(np.array([[1.0, 3.0, 2.0]]), 0) == 3.0
import numba
from user_module import double
assert double(2) == 4
print(sknormnet.__file__)
print(repr(numba.config.CACHE_DIR))
"""


@pytest.fixture
def installed_copy(tmp_path):
    """A writable copy of the package, as in a site-packages, a user's module
    beside the script, and an environment whose user cache is in tmp_path."""
    site = tmp_path / "site"
    shutil.copytree(
        Path(sknormnet.__file__).parent,
        site / "sknormnet",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    work = tmp_path / "work"
    work.mkdir()
    (work / "user_module.py").write_text(
        "from numba import njit\n\n\n@njit(cache=True)\ndef double(x):\n"
        "    return 2 * x\n"
    )
    (work / "script.py").write_text(USER_SCRIPT)
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "LOCALAPPDATA")
    }
    environment.update(
        HOME=str(tmp_path / "home"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        PYTHONPATH=str(site),
    )
    return site / "sknormnet", work, environment


def _run_script(work, environment, *args):
    result = subprocess.run(
        [sys.executable, "script.py", *args],
        cwd=work,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.skipif(
    sys.platform in ("win32", "darwin"), reason="the XDG cache directory of Linux"
)
@pytest.mark.parametrize("order", ["sknormnet-first", "numba-first"])
def test_the_cache_goes_to_the_users_cache_directory(installed_copy, tmp_path, order):
    package, work, environment = installed_copy
    module_file, numba_cache_dir = _run_script(work, environment, order)
    assert Path(module_file).parent == package
    assert any(
        name.startswith("_activations.row_maximum")
        for name in _cache_files(tmp_path / "cache" / "sknormnet" / "numba")
    )
    assert _cache_files(package) == []
    # numba's own setting is left as it was, for the user's functions
    assert numba_cache_dir == "''"
    assert _cache_files(work / "__pycache__")[0].startswith("user_module.double")


@pytest.mark.skipif(sys.platform == "win32", reason="a file as a folder, on POSIX")
def test_without_a_writable_cache_the_kernels_compile_and_nothing_is_written(
    installed_copy, tmp_path
):
    package, work, environment = installed_copy
    (tmp_path / "cache").write_text("a file where the cache folder would be")
    _run_script(work, environment, "sknormnet-first")
    assert _cache_files(package) == []


@pytest.mark.parametrize(
    ("platform", "variables", "expected"),
    [
        ("linux", {"XDG_CACHE_HOME": "/x/cache"}, "/x/cache/sknormnet/numba"),
        ("linux", {}, "~/.cache/sknormnet/numba"),
        # the XDG specification ignores a relative path
        ("linux", {"XDG_CACHE_HOME": "cache"}, "~/.cache/sknormnet/numba"),
        ("darwin", {}, "~/Library/Caches/sknormnet/numba"),
        ("win32", {"LOCALAPPDATA": "/x/Local"}, "/x/Local/sknormnet/Cache/numba"),
        ("win32", {}, "~/AppData/Local/sknormnet/Cache/numba"),
        ("linux", {"NUMBA_CACHE_DIR": "/x/numba"}, "/x/numba"),
    ],
)
def test_the_cache_directory_of_each_platform(
    monkeypatch, platform, variables, expected
):
    for name in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "platform", platform)
    assert _jit.cache_directory() == Path(expected).expanduser()


def test_numba_cache_dir_decides_where_the_cache_goes(tmp_path):
    # The documented way to keep the cache out of the installed package.
    script = (
        "import numpy as np\n"
        "from sknormnet._activations import row_maximum\n"
        "assert row_maximum(np.array([[1.0, 3.0, 2.0]]), 0) == 3.0\n"
    )
    environment = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    subprocess.run([sys.executable, "-c", script], env=environment, check=True)
    cached = [name for _, _, names in os.walk(tmp_path) for name in names]
    assert any(name.startswith("_activations.row_maximum") for name in cached)


def _double(x):
    return 2 * x


def test_kernels_compile_when_no_cache_is_writable(monkeypatch):
    # numba raises at decoration when it finds no writable cache directory;
    # the kernel is then compiled without a cache rather than failing.
    def njit_without_a_writable_cache(cache=False, **options):
        if cache:
            raise RuntimeError("cannot cache function '_double': no locator available")
        return real_njit(**options)

    real_njit = _jit.njit
    monkeypatch.setattr(_jit, "njit", njit_without_a_writable_cache)
    assert kernel(_double)(21) == 42
    assert kernel(reorder_sums=True)(_double)(np.float32(2)) == 4
