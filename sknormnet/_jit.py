"""The compiler of the training loop's inner kernels.

NumPy makes one pass over memory per operation; the kernels fuse the passes of
batch normalization, the activations, the softmax cross-entropy and the
optimizer updates, which is where an MLP spends its time outside the matrix
products. Each kernel writes one array per loop where it can, which keeps the
loop vectorizable, and does its scalar arithmetic with scalars of the arrays'
dtype (``one``, or values passed in as such), because numba computes float32
scalar arithmetic with Python numbers in float64.

The machine code is cached on disk by numba, so the compilation, a few
seconds, happens once per machine, installation and dtype rather than once per
process. The cache is in the directory that the environment variable
``NUMBA_CACHE_DIR`` names, else in the user's cache directory (see
:func:`cache_directory`), never in the package's folder, which may be
read-only and which ``pip uninstall`` would leave behind holding the cache.

Numba takes its cache directory from ``numba.config.CACHE_DIR``, which it
reads from ``NUMBA_CACHE_DIR`` when it is imported, and it chooses where a
function's cache goes when the function is decorated. So :func:`kernel` sets
``numba.config.CACHE_DIR`` while it decorates, whether numba was imported
before sknormnet or not, and puts back the value it found: the environment
and the cache of the user's own numba functions are left as they were.
"""

import os
import sys
import tempfile
from functools import cache
from pathlib import Path

import numba
from numba import njit

_OPTIONS = {"nogil": True, "error_model": "numpy"}


def cache_directory():
    """The directory of the kernels' cache.

    ``NUMBA_CACHE_DIR`` when it is set, else ``sknormnet/numba`` in the
    user's cache directory: ``$XDG_CACHE_HOME`` (an absolute path), or
    ``~/.cache``, on Linux and other POSIX systems; ``~/Library/Caches`` on
    macOS; ``%LOCALAPPDATA%\\sknormnet\\Cache\\numba`` on Windows.

    Returns
    -------
    path : pathlib.Path
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    home = Path.home()
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local"
        return Path(local) / "sknormnet" / "Cache" / "numba"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "sknormnet" / "numba"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else home / ".cache"
    return base / "sknormnet" / "numba"


@cache
def _writable_cache_directory():
    """The cache directory as a string, created if missing, or None when it
    cannot be written to."""
    directory = cache_directory()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=directory).close()
    except OSError:
        return None
    return str(directory)


def kernel(function=None, *, reorder_sums=False):
    """Compile ``function`` with numba, cached on disk in
    :func:`cache_directory`.

    When that directory cannot be written to, the kernel is compiled anew in
    each process, rather than cached elsewhere or making sknormnet fail at
    import.

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
    directory = _writable_cache_directory()
    if directory is None:
        return njit(**options)(function)
    found = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = directory
    try:
        return njit(cache=True, **options)(function)
    except RuntimeError:  # numba found the directory unusable after all
        return njit(**options)(function)
    finally:
        numba.config.CACHE_DIR = found
