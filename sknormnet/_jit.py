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
process. Numba decides where: next to the package's files (in ``__pycache__``,
like Python's bytecode) when that directory is writable, else in the user's
cache directory; the environment variable ``NUMBA_CACHE_DIR`` puts it anywhere
else (see the installation page of the documentation).
"""

from numba import njit

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
