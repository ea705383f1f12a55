"""Network layers: a dense layer, batch normalization and an activation.

Each layer has ``forward(X)`` and ``backward(dout)``, for training: ``forward``
uses the batch's statistics, keeps only what ``backward`` needs and writes into
buffers it owns and reuses from batch to batch, so an epoch allocates almost
nothing. An array returned by a layer is therefore only valid until its next
call, or until the backward pass of the layer after it, if that layer writes
its input gradient over it (see ``Dense``). Prediction does not go through the
layers: the network folds batch normalization into the weights
(``Network.predict_logits``).
Parameters and gradients are held by reference: they are views of the
network's flat vectors, which the optimizers update in place.
"""

import numpy as np
from scipy import sparse

from ._activations import (
    ACTIVATION_CODES,
    RELU,
    activate,
    activation_derivative,
    add_bias_and_activate,
    finish_activation,
    kernel_activation,
)
from ._jit import kernel


def reusable(buffer, shape, dtype):
    """Return ``buffer`` if it has ``shape`` and ``dtype``, else a new array."""
    if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
        return np.empty(shape, dtype=dtype)
    return buffer


def matmul_into(A, B, out):
    """``out[...] = A @ B`` for a dense or sparse ``A``, without a temporary
    when ``A`` is dense."""
    # The ndarray test first: it is the training loop's case, and cheaper
    # than scipy's issparse.
    if isinstance(A, np.ndarray) or not sparse.issparse(A):
        return np.matmul(A, B, out=out)
    out[...] = A @ B
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
    input_grad_over_input : bool, default=False
        Let ``backward`` write ``dL/dX`` over the ``X`` of the last
        ``forward``, once the weight gradient no longer needs it. Only for an
        ``X`` that is the buffer of a layer before it whose own backward pass
        does not read that buffer: one array less for the batch to bring
        through the cache.
    """

    def __init__(
        self,
        weights,
        bias=None,
        weights_grad=None,
        bias_grad=None,
        input_grad_over_input=False,
    ):
        self.weights = weights
        self.input_grad_over_input = input_grad_over_input
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

    def forward(self, X):
        """``X @ W (+ b)`` into the layer's buffer; ``X`` is kept for
        ``backward``."""
        shape = (X.shape[0], self.weights.shape[1])
        self._input = X
        self._output = reusable(self._output, shape, self.weights.dtype)
        out = self._output
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
        if self.input_grad_over_input:
            return np.matmul(dout, self.weights.T, out=self._input)
        shape = (dout.shape[0], self.weights.shape[0])
        self._input_grad = reusable(self._input_grad, shape, dout.dtype)
        return np.matmul(dout, self.weights.T, out=self._input_grad)


# The batch-norm kernels make two passes over the batch where NumPy needs six
# or seven. Their loops run over rows and, inside, over units, so that the
# per-unit accumulators stay in L1 and the inner loop is vectorized.
@kernel
def _batch_norm_forward_kernel(
    z, gamma, beta, running_mean, running_var, momentum, epsilon, code, one, out
):
    """``out = activation(gamma * z_norm + beta)`` over the batch ``z``, the
    activation being relu or the identity (see kernel_activation), with the
    running statistics updated in place; return the batch's ``mean`` and
    ``inv_std``, and whether the variance of a unit overflowed.

    The mean and variance come from one pass of Welford's update, as accurate
    as the two-pass formula.
    """
    n_samples, n_units = z.shape
    inverse_counts = one / np.arange(1, n_samples + 1).astype(z.dtype)
    # Accumulators of its own, which the compiler knows alias no argument.
    mean = np.zeros(n_units, dtype=z.dtype)
    squares = np.zeros(n_units, dtype=z.dtype)
    for row in range(n_samples):
        inverse_count = inverse_counts[row]
        for unit in range(n_units):
            value = z[row, unit]
            deviation = value - mean[unit]
            mean[unit] += deviation * inverse_count
            squares[unit] += deviation * (value - mean[unit])
    # The running variance accumulates the unbiased squares / (n - 1).
    inverse_n_minus_one = inverse_counts[n_samples - 2]
    for unit in range(n_units):
        running_mean[unit] = (
            momentum * running_mean[unit] + (one - momentum) * mean[unit]
        )
        running_var[unit] = (
            momentum * running_var[unit]
            + (one - momentum) * squares[unit] * inverse_n_minus_one
        )
    inv_std = one / np.sqrt(squares * inverse_counts[n_samples - 1] + epsilon)
    # A variance that overflowed to inf leaves inv_std 0; a NaN from weights
    # that diverged is not 0, and passes on to the non-finite loss check.
    overflowed = False
    for unit in range(n_units):
        overflowed |= inv_std[unit] == 0
    scale = gamma * inv_std
    for row in range(n_samples):
        for unit in range(n_units):
            value = (z[row, unit] - mean[unit]) * scale[unit] + beta[unit]
            out[row, unit] = activate(value, code)
    return mean, inv_std, overflowed


@kernel
def _batch_norm_backward_kernel(
    dout, output, z, mean, inv_std, gamma, beta, code, one, gamma_grad, beta_grad
):
    """Gradients through the activation and the normalization of ``z``;
    ``dout`` is overwritten with ``dz``.

    Relu, the default, has a loop of its own that recomputes the
    pre-activation from ``z`` rather than reading ``output``: by the backward
    pass the batch's arrays have left the core's cache, and one array less to
    read is faster than the arithmetic it saves.
    """
    n_samples, n_units = dout.shape
    # Arrays of its own, which the compiler knows alias no argument, vectorize
    # better than the arguments.
    mean = mean.copy()
    beta_sum = np.zeros(n_units, dtype=dout.dtype)
    gamma_sum = np.zeros(n_units, dtype=dout.dtype)
    scale = gamma * inv_std
    if code == RELU:
        zero = one - one
        for row in range(n_samples):
            for unit in range(n_units):
                centered = z[row, unit] - mean[unit]
                active = centered * scale[unit] + beta[unit] > 0
                grad = dout[row, unit] if active else zero
                dout[row, unit] = grad
                beta_sum[unit] += grad
                gamma_sum[unit] += grad * centered
    else:
        for row in range(n_samples):
            for unit in range(n_units):
                grad = dout[row, unit] * activation_derivative(
                    output[row, unit], code, one
                )
                dout[row, unit] = grad
                beta_sum[unit] += grad
                gamma_sum[unit] += grad * (z[row, unit] - mean[unit])
    gamma_sum *= inv_std
    beta_grad[:] = beta_sum
    gamma_grad[:] = gamma_sum
    inverse_n = one / np.asarray(n_samples).astype(dout.dtype)
    # With z_norm = (z - mean) * inv_std and grad now in dout:
    # dz = scale * (grad - dbeta / n) - z_norm * (scale * dgamma / n)
    shift = beta_sum * inverse_n
    slope = scale * inv_std * gamma_sum * inverse_n
    for row in range(n_samples):
        for unit in range(n_units):
            centered = z[row, unit] - mean[unit]
            grad = dout[row, unit]
            dout[row, unit] = (
                scale[unit] * (grad - shift[unit]) - slope[unit] * centered
            )


class BatchNormOverflowError(ValueError):
    """The variance of a batch's pre-activations overflowed the dtype."""


def _raise_overflow(z):
    magnitude = float(np.max(np.abs(z)))
    dtype = z.dtype
    remedy = " or train in float64" if dtype == np.float32 else ""
    raise BatchNormOverflowError(
        f"batch normalization cannot normalize pre-activations of about "
        f"{magnitude:.3g}: their variance overflows {dtype} (largest value "
        f"{np.finfo(dtype).max:.3g}). The features are on too large a scale; "
        f"scale them (e.g. with StandardScaler){remedy}."
    )


class BatchNorm:
    """Batch normalization of a layer's ``z`` over the mini-batch, followed by
    the hidden activation.

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
    activation : {"identity", "relu", "tanh", "logistic"}, default="identity"
        Applied to the normalized output. Identity and relu are fused with
        the normalization, so that the layer makes fewer passes over the
        batch; tanh and logistic follow it as NumPy's vectorized functions.

    Notes
    -----
    In training, with ``n`` rows in the batch::

        mu = mean(z), var = mean((z - mu)**2)
        z_norm = (z - mu) / sqrt(var + epsilon)
        out = activation(gamma * z_norm + beta)

    and the running variance accumulates the unbiased ``var * n / (n - 1)``.
    With ``g = dout * activation'`` the exact backward pass is::

        dbeta = sum(g), dgamma = sum(g * z_norm)
        dz = gamma / sqrt(var + epsilon)
             * (g - (dbeta + z_norm * dgamma) / n)
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
        activation="identity",
    ):
        self.gamma = gamma
        self.beta = beta
        self.running_mean = running_mean
        self.running_var = running_var
        self.momentum = momentum
        self.epsilon = epsilon
        self.gamma_grad = np.zeros_like(gamma) if gamma_grad is None else gamma_grad
        self.beta_grad = np.zeros_like(beta) if beta_grad is None else beta_grad
        self.activation = activation
        self._input = None
        self._mean = None
        self._inv_std = None
        self._output = None

    @property
    def backward_reads_output(self):
        """Whether ``backward`` reads the array ``forward`` returned: only
        for tanh and logistic, whose derivatives come from their outputs."""
        return kernel_activation(self.activation) != ACTIVATION_CODES[self.activation]

    def forward(self, z):
        """Normalize ``z`` with its batch statistics, update the running
        ones, and activate; ``z`` is kept for ``backward``."""
        if z.shape[0] < 2:
            raise ValueError(
                f"batch normalization needs at least 2 rows per batch; got {z.shape[0]}"
            )
        dtype = z.dtype.type
        self._output = reusable(self._output, z.shape, z.dtype)
        self._mean, self._inv_std, overflowed = _batch_norm_forward_kernel(
            z,
            self.gamma,
            self.beta,
            self.running_mean,
            self.running_var,
            dtype(self.momentum),
            dtype(self.epsilon),
            kernel_activation(self.activation),
            dtype(1),
            self._output,
        )
        self._input = z
        if overflowed:
            _raise_overflow(z)
        return finish_activation(self._output, self.activation)

    def backward(self, dout):
        """Store ``dgamma``, ``dbeta``; return ``dz``, overwriting ``dout``."""
        _batch_norm_backward_kernel(
            dout,
            self._output,
            self._input,
            self._mean,
            self._inv_std,
            self.gamma,
            self.beta,
            ACTIVATION_CODES[self.activation],
            dout.dtype.type(1),
            self.gamma_grad,
            self.beta_grad,
        )
        return dout


@kernel
def _bias_activation_backward_kernel(dout, output, code, one, bias_grad):
    """``dout *= activation'`` (from the activation's ``output``) in place,
    and ``bias_grad`` = the column sums of the result, in one pass."""
    n_samples, n_units = dout.shape
    # An accumulator of its own, which the compiler knows aliases no argument.
    sums = np.zeros(n_units, dtype=dout.dtype)
    for row in range(n_samples):
        for unit in range(n_units):
            grad = dout[row, unit] * activation_derivative(output[row, unit], code, one)
            dout[row, unit] = grad
            sums[unit] += grad
    bias_grad[:] = sums


class BiasActivation:
    """``activation(z + bias)``: the bias and activation of a hidden layer
    without batch normalization, one pass over the batch each way.

    Parameters
    ----------
    bias : ndarray of shape (n_units,)
    activation : {"identity", "relu", "tanh", "logistic"}
    bias_grad : ndarray of shape (n_units,) or None
        Where ``backward`` writes the bias gradient; a new array when None.
    """

    def __init__(self, bias, activation, bias_grad=None):
        self.bias = bias
        self.activation = activation
        self.bias_grad = np.zeros_like(bias) if bias_grad is None else bias_grad
        self._output = None

    def forward(self, z):
        """``activation(z + bias)``, in place on ``z``: always the buffer of
        the dense layer before, never the caller's data."""
        self._output = add_bias_and_activate(z, self.bias, self.activation)
        return self._output

    def backward(self, dout):
        """Store the bias gradient; return ``dL/dz``, overwriting ``dout``."""
        _bias_activation_backward_kernel(
            dout,
            self._output,
            ACTIVATION_CODES[self.activation],
            dout.dtype.type(1),
            self.bias_grad,
        )
        return dout


@kernel
def _scale_kept(values, uniforms, rate, scale, out):
    """``out = values * scale`` where ``uniforms >= rate``, else 0."""
    n_rows, n_units = values.shape
    zero = scale - scale
    for row in range(n_rows):
        for unit in range(n_units):
            kept = uniforms[row, unit] >= rate
            out[row, unit] = values[row, unit] * scale if kept else zero


class Dropout:
    """Inverted dropout of a hidden layer's activations, in training.

    Each unit of each row is kept with probability ``1 - rate`` and scaled by
    ``1 / (1 - rate)``, so that its expected value is unchanged and
    prediction, which keeps every unit, needs no scaling.

    Parameters
    ----------
    rate : float in (0, 1)
        The probability of dropping a unit.

    Attributes
    ----------
    rng : numpy.random.Generator
        Draws the masks; the network sets it before each training step.
    """

    def __init__(self, rate):
        self.rate = rate
        self.rng = None
        self._uniforms = None
        self._output = None

    def forward(self, X):
        """``X`` with the dropped units zeroed and the others scaled, into the
        layer's buffer; the draws are kept for ``backward``."""
        self._uniforms = reusable(self._uniforms, X.shape, X.dtype)
        self.rng.random(out=self._uniforms, dtype=X.dtype)
        self._output = reusable(self._output, X.shape, X.dtype)
        dtype = X.dtype.type
        _scale_kept(
            X,
            self._uniforms,
            dtype(self.rate),
            dtype(1 / (1 - self.rate)),
            self._output,
        )
        return self._output

    def backward(self, dout):
        """``dL/dX``: ``dout`` through the same mask and scale, in place."""
        dtype = dout.dtype.type
        _scale_kept(
            dout, self._uniforms, dtype(self.rate), dtype(1 / (1 - self.rate)), dout
        )
        return dout
