"""Network layers: a dense layer, batch normalization and an activation.

Each layer has ``forward(X, training)`` and ``backward(dout)``. In training,
``forward`` keeps only what ``backward`` needs and writes into buffers it owns
and reuses from batch to batch, so an epoch allocates almost nothing. An array
returned by a layer in training is therefore only valid until its next call.
Parameters and gradients are held by reference: optimizers update them in
place, and the estimator's fitted attributes are the very same arrays.
"""

import numpy as np
from scipy import sparse

from ._activations import ACTIVATION_BACKWARDS, ACTIVATIONS


def reusable(buffer, shape, dtype):
    """Return ``buffer`` if it has ``shape`` and ``dtype``, else a new array."""
    if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
        return np.empty(shape, dtype=dtype)
    return buffer


def matmul_into(A, B, out):
    """``out[...] = A @ B`` for a dense or sparse ``A``, without a temporary
    when ``A`` is dense."""
    if sparse.issparse(A):
        out[...] = A @ B
    else:
        np.matmul(A, B, out=out)
    return out


def _column_sum(matrix, ones, out):
    """``matrix.sum(axis=0)`` as a matrix-vector product, which BLAS runs
    several times faster than numpy's reduction."""
    return np.dot(ones[: matrix.shape[0]], matrix, out=out)


def _ones(buffer, n_rows, dtype):
    if buffer is None or buffer.size < n_rows or buffer.dtype != dtype:
        return np.ones(n_rows, dtype=dtype)
    return buffer


class Dense:
    """Affine map ``z = X @ W (+ b)``.

    Parameters
    ----------
    weights : ndarray of shape (fan_in, fan_out)
    bias : ndarray of shape (fan_out,) or None
        None for a layer followed by batch normalization, whose ``beta``
        makes a bias redundant.
    weights_grad, bias_grad : ndarray or None
        Where ``backward`` writes the gradients; new arrays when None.
    """

    def __init__(self, weights, bias=None, weights_grad=None, bias_grad=None):
        self.weights = weights
        self.bias = bias
        self.weights_grad = (
            np.zeros_like(weights) if weights_grad is None else weights_grad
        )
        if bias is None:
            self.bias_grad = None
        else:
            self.bias_grad = np.zeros_like(bias) if bias_grad is None else bias_grad
        self._input = None
        self._output = None
        self._input_grad = None
        self._ones = None

    @property
    def params(self):
        return [self.weights] if self.bias is None else [self.weights, self.bias]

    @property
    def grads(self):
        if self.bias is None:
            return [self.weights_grad]
        return [self.weights_grad, self.bias_grad]

    def forward(self, X, training=True):
        shape = (X.shape[0], self.weights.shape[1])
        if training:
            self._input = X
            self._output = reusable(self._output, shape, self.weights.dtype)
            out = self._output
        else:
            out = np.empty(shape, dtype=self.weights.dtype)
        matmul_into(X, self.weights, out)
        if self.bias is not None:
            out += self.bias
        return out

    def backward(self, dout, input_grad=True):
        """Store the parameter gradients; return ``dL/dX`` if ``input_grad``."""
        matmul_into(self._input.T, dout, self.weights_grad)
        if self.bias is not None:
            self._ones = _ones(self._ones, dout.shape[0], dout.dtype)
            _column_sum(dout, self._ones, out=self.bias_grad)
        if not input_grad:
            return None
        shape = (dout.shape[0], self.weights.shape[0])
        self._input_grad = reusable(self._input_grad, shape, dout.dtype)
        return np.matmul(dout, self.weights.T, out=self._input_grad)


class BatchNorm:
    """Batch normalization of a layer's ``z`` over the mini-batch.

    Parameters
    ----------
    gamma, beta : ndarray of shape (n_units,)
        Learned scale and shift.
    running_mean, running_var : ndarray of shape (n_units,)
        Exponentially weighted averages used at prediction time, updated in
        place during training.
    momentum : float
        Weight of the old value: ``running = momentum * running + (1 -
        momentum) * batch_statistic``.
    epsilon : float
        Added to the variance before the square root.
    gamma_grad, beta_grad : ndarray or None
        Where ``backward`` writes the gradients; new arrays when None.

    Notes
    -----
    In training, with ``n`` rows in the batch::

        mu = mean(z), var = mean((z - mu)**2)
        z_norm = (z - mu) / sqrt(var + epsilon)
        out = gamma * z_norm + beta

    and the running variance accumulates the unbiased ``var * n / (n - 1)``.
    The exact backward pass is::

        dbeta = sum(dout), dgamma = sum(dout * z_norm)
        dz = gamma / sqrt(var + epsilon)
             * (dout - (dbeta + z_norm * dgamma) / n)
    """

    def __init__(
        self,
        gamma,
        beta,
        running_mean,
        running_var,
        momentum,
        epsilon,
        gamma_grad=None,
        beta_grad=None,
    ):
        self.gamma = gamma
        self.beta = beta
        self.running_mean = running_mean
        self.running_var = running_var
        self.momentum = momentum
        self.epsilon = epsilon
        self.gamma_grad = np.zeros_like(gamma) if gamma_grad is None else gamma_grad
        self.beta_grad = np.zeros_like(beta) if beta_grad is None else beta_grad
        self._z_norm = None
        self._inv_std = None
        self._output = None
        self._ones = None

    @property
    def params(self):
        return [self.gamma, self.beta]

    @property
    def grads(self):
        return [self.gamma_grad, self.beta_grad]

    def forward(self, z, training=True):
        """Normalize ``z``; in training ``z`` is overwritten with ``z_norm``."""
        if not training:
            scale = self.gamma / np.sqrt(self.running_var + self.epsilon)
            return (z - self.running_mean) * scale + self.beta
        n_samples = z.shape[0]
        self._ones = _ones(self._ones, n_samples, z.dtype)
        mean = _column_sum(z, self._ones, out=np.empty(z.shape[1], z.dtype))
        mean /= n_samples
        z -= mean
        var = np.einsum("ij,ij->j", z, z)
        var /= n_samples
        inv_std = 1.0 / np.sqrt(var + self.epsilon)
        z *= inv_std
        self._z_norm = z
        self._inv_std = inv_std

        m = self.momentum
        self.running_mean *= m
        self.running_mean += (1 - m) * mean
        self.running_var *= m
        self.running_var += ((1 - m) * n_samples / (n_samples - 1)) * var

        self._output = reusable(self._output, z.shape, z.dtype)
        np.multiply(z, self.gamma, out=self._output)
        self._output += self.beta
        return self._output

    def backward(self, dout):
        """Store ``dgamma``, ``dbeta``; return ``dz``, overwriting ``dout``.

        The batch's ``z_norm`` is consumed: ``backward`` runs once per
        ``forward``.
        """
        z_norm = self._z_norm
        n_samples = dout.shape[0]
        _column_sum(dout, self._ones, out=self.beta_grad)
        np.einsum("ij,ij->j", dout, z_norm, out=self.gamma_grad)
        scale = self.gamma * self._inv_std
        # dz = scale * dout - z_norm * (scale * dgamma / n) - scale * dbeta / n
        z_norm *= scale * self.gamma_grad / -n_samples
        z_norm += scale * self.beta_grad / -n_samples
        dout *= scale
        dout += z_norm
        return dout


class Activation:
    """Element-wise activation, applied in place.

    Parameters
    ----------
    name : {"identity", "relu", "tanh", "logistic"}
    """

    params = ()
    grads = ()

    def __init__(self, name):
        self.name = name
        self._output = None

    def forward(self, z, training=True):
        # ``z`` is always a buffer of the layer before, never the caller's data.
        out = ACTIVATIONS[self.name](z)
        if training:
            self._output = out
        return out

    def backward(self, dout):
        return ACTIVATION_BACKWARDS[self.name](self._output, dout)
