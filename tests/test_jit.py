"""Where the compiled kernels keep their cache."""

import os

import pytest
from numba import njit
from numba.core import caching
from numba.core.registry import CPUDispatcher

import sknormnet
from sknormnet import _activations, _layers, _network, _optimizers
from sknormnet._jit import kernel

KERNELS = [
    (module.__name__, name, value)
    for module in (_activations, _layers, _network, _optimizers)
    for name, value in vars(module).items()
    if isinstance(value, CPUDispatcher)
]
PACKAGE_DIRECTORY = os.path.dirname(os.path.abspath(sknormnet.__file__))


def test_every_kernel_is_found():
    # guards the test below against passing on an empty list
    names = {name for _, name, _ in KERNELS}
    assert {"_batch_norm_forward_kernel", "_adam_kernel", "activate"} <= names


@pytest.mark.parametrize(
    "kernel", [value for *_, value in KERNELS], ids=[f"{m}.{n}" for m, n, _ in KERNELS]
)
def test_kernels_are_cached_outside_the_package(kernel):
    # A cache inside an installed package outlives `pip uninstall` and leaves a
    # `sknormnet` directory without __init__.py, which shadows an editable
    # install made afterwards.
    cache_path = os.path.abspath(kernel.stats.cache_path)
    user_directory = os.environ.get("NUMBA_CACHE_DIR")
    if user_directory:
        assert cache_path.startswith(os.path.abspath(user_directory))
    else:
        assert os.path.commonpath([cache_path, PACKAGE_DIRECTORY]) != PACKAGE_DIRECTORY


def _double(x):
    return 2 * x


def test_kernels_compile_without_a_writable_cache(monkeypatch):
    # numba raises at decoration when no locator finds a writable directory.
    implementation = getattr(caching, "CacheImpl", None) or caching._CacheImpl
    monkeypatch.setattr(implementation, "_locator_classes", [])
    with pytest.raises(RuntimeError, match="no locator"):
        njit(cache=True)(_double)
    assert kernel(_double)(21) == 42
