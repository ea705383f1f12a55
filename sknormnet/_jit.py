"""The compiler of the training loop's inner kernels.

NumPy makes one pass over memory per operation; the kernels fuse the passes of
batch normalization, the activations, the softmax cross-entropy and the
optimizer updates, which is where an MLP spends its time outside the matrix
products. Each kernel writes one array per loop where it can, which keeps the
loop vectorizable, and does its scalar arithmetic with scalars of the arrays'
dtype (``one``, or values passed in as such), because numba computes float32
scalar arithmetic with Python numbers in float64.

The machine code is cached, so the compilation, a few seconds, happens once
per machine, installation and dtype rather than once per process. The cache
lives in the user's cache directory (numba's, e.g. ``~/.cache/numba``), never
inside the installed package: files there outlive ``pip uninstall`` and leave
a ``sknormnet`` directory without ``__init__.py`` that shadows a later editable
install. ``NUMBA_CACHE_DIR``, when set, still decides.
"""

import os

from numba import njit
from numba.core import caching

_PACKAGE_DIRECTORY = os.path.dirname(os.path.abspath(__file__))


def _cache_outside_the_package():
    """Put numba's user-wide cache locator first for this package's files."""
    user_wide = getattr(caching, "UserWideCacheLocator", None) or getattr(
        caching, "_UserWideCacheLocator", None
    )
    implementation = getattr(caching, "CacheImpl", None) or getattr(
        caching, "_CacheImpl", None
    )
    if user_wide is None or implementation is None:
        return  # an unknown numba: its default, in-tree cache applies

    class PackageCacheLocator(user_wide):
        @classmethod
        def from_function(cls, py_func, py_file):
            if os.path.dirname(os.path.abspath(py_file)) != _PACKAGE_DIRECTORY:
                return None
            return super().from_function(py_func, py_file)

    locators = implementation._locator_classes
    if any(locator.__name__ == "PackageCacheLocator" for locator in locators):
        return
    # After the NUMBA_CACHE_DIR locator, so that the user's setting wins.
    implementation._locator_classes = [locators[0], PackageCacheLocator, *locators[1:]]


_cache_outside_the_package()

_OPTIONS = {"nogil": True, "error_model": "numpy"}


def kernel(function=None, *, reorder_sums=False):
    """Compile ``function`` with numba, cached on disk where a cache directory
    is writable.

    Where none is (a read-only package and home directory), numba refuses to
    cache; the kernel is then compiled anew in each process rather than
    making sknormnet fail at import.

    Parameters
    ----------
    function : callable
    reorder_sums : bool, default=False
        Let the compiler reassociate floating-point additions, which it needs
        to vectorize a running sum such as ``sum(w**2)``: a sequential sum
        waits for each addition before the next. Only for kernels whose
        results do not depend on the order of a sum beyond rounding.
    """
    if function is None:
        return lambda function: kernel(function, reorder_sums=reorder_sums)
    options = dict(_OPTIONS)
    if reorder_sums:
        options["fastmath"] = {"reassoc"}
    try:
        return njit(cache=True, **options)(function)
    except RuntimeError:
        return njit(**options)(function)
