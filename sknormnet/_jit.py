"""The compiler of the training loop's inner kernels.

NumPy makes one pass over memory per operation; the kernels fuse the passes of
batch normalization, the activations, the softmax cross-entropy and the
optimizer updates, which is where an MLP spends its time outside the matrix
products. Each kernel writes one array per loop where it can, which keeps the
loop vectorizable, and does its scalar arithmetic with scalars of the arrays'
dtype (``one``, or values passed in as such), because numba computes float32
scalar arithmetic with Python numbers in float64.

``cache=True`` keeps the machine code in ``__pycache__`` (or the user's cache
directory when that is read-only), so the compilation, a few seconds, happens
once per machine and dtype rather than once per process.
"""

from numba import njit

kernel = njit(cache=True, nogil=True, error_model="numpy")
