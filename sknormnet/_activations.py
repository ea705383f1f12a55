"""Hidden-layer activations, their derivatives, and a stable softmax.

Every function works in place on its first argument, in that argument's dtype,
because the training loop reuses one buffer per layer and batch.
"""

import numpy as np
from scipy.special import expit


def _identity(z):
    return z


def _relu(z):
    return np.maximum(z, 0, out=z)


def _tanh(z):
    return np.tanh(z, out=z)


def _logistic(z):
    return expit(z, out=z)


ACTIVATIONS = {
    "identity": _identity,
    "relu": _relu,
    "tanh": _tanh,
    "logistic": _logistic,
}


# The derivatives are written in terms of the activation's *output* ``a``, so a
# layer only has to keep ``a`` for its backward pass.
def _identity_backward(a, delta):
    return delta


def _relu_backward(a, delta):
    # Multiplying by the mask is an order of magnitude faster than assigning
    # through it.
    return np.multiply(delta, a > 0, out=delta)


def _tanh_backward(a, delta):
    # d tanh(z) / dz = 1 - a**2, so delta -= delta * a * a
    squared = np.multiply(a, a)
    squared *= delta
    delta -= squared
    return delta


def _logistic_backward(a, delta):
    # d expit(z) / dz = a * (1 - a)
    complement = np.subtract(1, a)
    complement *= a
    delta *= complement
    return delta


ACTIVATION_BACKWARDS = {
    "identity": _identity_backward,
    "relu": _relu_backward,
    "tanh": _tanh_backward,
    "logistic": _logistic_backward,
}


def log_softmax(z):
    """Return ``log(softmax(z))`` row by row, finite for any finite ``z``.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_classes)
        Logits; left unchanged.

    Returns
    -------
    log_proba : ndarray of shape (n_samples, n_classes)

    Examples
    --------
    >>> import numpy as np
    >>> from sknormnet._activations import log_softmax
    >>> log_softmax(np.array([[0.0, 1000.0]])).round(3)
    array([[-1000.,     0.]])
    """
    shifted = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    shifted -= log_norm
    return shifted


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
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z
