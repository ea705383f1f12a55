"""The compiled kernels and where they keep their cache."""

import os
import subprocess
import sys

import numpy as np
from numba.core.registry import CPUDispatcher

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
