"""Hidden-layer activations, their derivatives, stable softmax and log-softmax.

The array functions work in place on their first argument, in its dtype, as
training and prediction reuse one buffer per layer; the scalar kernels
(``activate``, ``activation_derivative``, ``row_maximum``) are the pieces
that the compiled loops of the layers and the network call.
"""

import numpy as np

from ._jit import kernel


def _identity(z):
    return z


def _relu(z):
    # numpy's maximum against a row of zeros runs about twice as fast as
    # against the scalar 0 (which takes a slower, scalar-operand loop).
    return np.maximum(z, np.zeros(z.shape[-1], dtype=z.dtype), out=z)


def _tanh(z):
    return np.tanh(z, out=z)


def _logistic(z):
    # 1 / (1 + exp(-z)) with NumPy's vectorized exp: several times faster than
    # scipy's expit. exp(-z) overflows to inf for very negative z, which gives
    # the exact limit 0.
    with np.errstate(over="ignore"):
        np.negative(z, out=z)
        np.exp(z, out=z)
    z += 1
    return np.reciprocal(z, out=z)


# Codes of the activations inside the compiled kernels.
IDENTITY, RELU, TANH, LOGISTIC = range(4)
ACTIVATION_CODES = {
    "identity": IDENTITY,
    "relu": RELU,
    "tanh": TANH,
    "logistic": LOGISTIC,
}

ACTIVATIONS = {
    "identity": _identity,
    "relu": _relu,
    "tanh": _tanh,
    "logistic": _logistic,
}


# The kernels apply relu and the identity themselves. Tanh and logistic are
# left to NumPy's vectorized functions after the kernel: a compiled loop calls
# the scalar tanh and exp, 10 to 80 times slower than a pass of NumPy's.
_FUSED = ("identity", "relu")


def kernel_activation(name):
    """The code of the activation a kernel applies for activation ``name``:
    its own for identity and relu, the identity's for the others, which
    :func:`finish_activation` applies after the kernel."""
    return ACTIVATION_CODES[name] if name in _FUSED else IDENTITY


def finish_activation(z, name):
    """Apply, in place, the part of activation ``name`` that a kernel given
    ``kernel_activation(name)`` left out; return ``z``."""
    if name not in _FUSED:
        ACTIVATIONS[name](z)
    return z


@kernel
def activate(value, code):
    """Relu at a scalar when ``code`` is RELU, else the identity (see
    kernel_activation)."""
    if code == RELU:
        # ``value < 0`` is False for NaN, which is kept, as np.maximum does.
        return value - value if value < 0 else value
    return value


@kernel
def activation_derivative(output, code, one):
    """Its derivative, from the activation's ``output`` as above."""
    if code == RELU:
        return one if output > 0 else one - one
    if code == TANH:
        return one - output * output
    if code == LOGISTIC:
        return output * (one - output)
    return one


@kernel
def row_maximum(z, row):
    """The largest entry of ``z[row]``, the shift that keeps ``exp`` finite."""
    largest = z[row, 0]
    for column in range(1, z.shape[1]):
        largest = max(largest, z[row, column])
    return largest


def log_softmax(z):
    """Overwrite logits ``z`` with ``log(softmax(z))`` row by row; return it.

    Finite for any finite ``z``: each row is shifted by its maximum first.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_classes)
        Logits, overwritten.

    Returns
    -------
    log_proba : ndarray of shape (n_samples, n_classes)
        The same array as ``z``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknormnet._activations import log_softmax
    >>> log_softmax(np.array([[0.0, 1000.0]])).round(3)
    array([[-1000.,     0.]])
    """
    _subtract_row_maxima(z)
    # NumPy's vectorized exp, into a scratch array: z still has to give
    # z - log(sum(exp(z))).
    _subtract_log_row_sums(z, np.exp(z))
    return z


def softmax(z):
    """Overwrite logits ``z`` with their row-wise softmax and return it.

    Subtracting each row's maximum first keeps ``exp`` from overflowing.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_classes)
        Logits, overwritten.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
        The same array as ``z``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknormnet._activations import softmax
    >>> softmax(np.array([[0.0, np.log(3.0)]]))
    array([[0.25, 0.75]])
    """
    # NumPy's exp is vectorized and several times faster than the scalar one
    # in a compiled loop; the row maxima and sums are the kernels' job.
    _subtract_row_maxima(z)
    np.exp(z, out=z)
    _normalize_rows(z, z.dtype.type(1))
    return z


@kernel
def _subtract_row_maxima(z):
    n_samples, n_classes = z.shape
    for row in range(n_samples):
        largest = row_maximum(z, row)
        for column in range(n_classes):
            z[row, column] -= largest


@kernel
def _normalize_rows(z, one):
    n_samples, n_classes = z.shape
    for row in range(n_samples):
        total = one - one
        for column in range(n_classes):
            total += z[row, column]
        inverse_total = one / total
        for column in range(n_classes):
            z[row, column] *= inverse_total


@kernel
def _subtract_log_row_sums(z, exponentials):
    n_samples, n_classes = z.shape
    for row in range(n_samples):
        total = exponentials[row, 0] - exponentials[row, 0]
        for column in range(n_classes):
            total += exponentials[row, column]
        log_total = np.log(total)
        for column in range(n_classes):
            z[row, column] -= log_total


def add_bias_and_activate(z, bias, name):
    """``activation(z + bias)`` in place on ``z``, in one pass; return ``z``.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_units)
        Overwritten.
    bias : ndarray of shape (n_units,)
    name : {"identity", "relu", "tanh", "logistic"}

    Returns
    -------
    z : ndarray of shape (n_samples, n_units)

    Examples
    --------
    >>> import numpy as np
    >>> from sknormnet._activations import add_bias_and_activate
    >>> add_bias_and_activate(np.array([[1.0, -2.0]]), np.array([0.5, 0.5]), "relu")
    array([[1.5, 0. ]])
    """
    _add_bias_and_activate(z, bias, kernel_activation(name))
    return finish_activation(z, name)


@kernel
def _add_bias_and_activate(z, bias, code):
    n_samples, n_units = z.shape
    for row in range(n_samples):
        for unit in range(n_units):
            z[row, unit] = activate(z[row, unit] + bias[unit], code)
