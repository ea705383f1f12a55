"""The network: its parameters, its training step and its folded prediction.

A :class:`Network` allocates all its trainable arrays as views of one flat
parameter vector (weights first, then biases, gammas and betas), their
gradients as views of one flat gradient vector, and the batch-norm running
statistics as views of one flat statistics vector. An optimizer then updates
the whole network in one pass over memory, and a snapshot of the network is
two copies. The estimator's ``coefs_``, ``intercepts_``, ``gammas_``,
``betas_``, ``running_means_`` and ``running_vars_`` are these views.
"""

import math
from typing import NamedTuple

import numpy as np
from sklearn.utils import gen_batches

from ._activations import add_bias_and_activate, row_maximum
from ._jit import kernel
from ._layers import (
    BatchNorm,
    BatchNormOverflowError,
    BiasActivation,
    Dense,
    Dropout,
    matmul_into,
)

# Prediction runs in chunks of rows so that the widest layer's activations stay
# around this many elements (2 MB in float64): memory stays bounded whatever
# the number of rows, and the bias and activation passes that follow each
# matrix product find its output still in cache.
PREDICT_CHUNK_ELEMENTS = 2**18


def _softmax_cross_entropy(logits, y_codes, row_weights, label_smoothing=0.0):
    """Return ``sum(row_weight * cross-entropy)`` over the rows, and write
    ``row_weight * (softmax - target)`` in place of the logits.

    The target is ``(1 - label_smoothing) * onehot + label_smoothing /
    n_classes``. Each row is shifted by its maximum first, so ``exp`` cannot
    overflow.
    """
    # NumPy's exp is vectorized, several times faster than the scalar exp a
    # compiled loop calls; the kernels do the rest around it.
    # -sum(target * log(softmax)) = log(sum(exp(shifted))) - target @ shifted
    dtype = logits.dtype.type
    keep = dtype(1 - label_smoothing)
    spread = dtype(label_smoothing / logits.shape[1])
    target_logits = _shift_rows_by_maximum(logits, y_codes, row_weights, keep, spread)
    np.exp(logits, out=logits)
    log_sums = _cross_entropy_delta(logits, y_codes, row_weights, keep, spread)
    return log_sums - target_logits


@kernel
def _shift_rows_by_maximum(logits, y_codes, row_weights, keep, spread):
    """Subtract each row's maximum; return the weighted sum over the rows of
    the shifted logits times the target, ``keep * onehot + spread``."""
    n_samples, n_classes = logits.shape
    zero = row_weights[0] - row_weights[0]
    weighted_sum = zero
    for row in range(n_samples):
        largest = row_maximum(logits, row)
        total = zero
        for column in range(n_classes):
            logits[row, column] -= largest
            total += logits[row, column]
        target_logit = keep * logits[row, y_codes[row]] + spread * total
        weighted_sum += row_weights[row] * target_logit
    return weighted_sum


@kernel
def _cross_entropy_delta(exponentials, y_codes, row_weights, keep, spread):
    """Turn each row of ``exp(shifted logits)`` into ``row_weight * (softmax
    - target)``; return the weighted sum of the rows' ``log(sum(exp))``."""
    n_samples, n_classes = exponentials.shape
    weighted_sum = row_weights[0] - row_weights[0]
    for row in range(n_samples):
        total = exponentials[row, 0] - exponentials[row, 0]
        for column in range(n_classes):
            total += exponentials[row, column]
        weighted_sum += row_weights[row] * np.log(total)
        factor = row_weights[row] / total
        shift = row_weights[row] * spread
        for column in range(n_classes):
            exponentials[row, column] = exponentials[row, column] * factor - shift
        exponentials[row, y_codes[row]] -= row_weights[row] * keep
    return weighted_sum


@kernel(reorder_sums=True)
def _add_l2_gradient(weights, grads, scale):
    """Add ``scale * w`` to the gradient of each weight; return ``sum(w**2)``,
    for the penalty's value. The sum is the only reordered addition."""
    squares = scale - scale
    for i in range(weights.size):
        w = weights[i]
        squares += w * w
        grads[i] += scale * w
    return squares


class LayerSettings(NamedTuple):
    """The estimator's parameters that shape the hidden layers' computation,
    which may change between fits of the same network."""

    activation: str
    batch_norm_momentum: float
    batch_norm_epsilon: float
    dropout: float = 0.0


class StepSettings(NamedTuple):
    """The estimator's parameters that shape a training step's loss and
    update: the L2 penalty ``alpha``, the decoupled ``weight_decay`` and
    ``label_smoothing``."""

    alpha: float = 0.0
    weight_decay: float = 0.0
    label_smoothing: float = 0.0


def _init_weights(fan_in, fan_out, activation, rng, dtype):
    """He initialisation for relu, Glorot (uniform) for every other activation."""
    if activation == "relu":
        weights = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
    else:
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        weights = rng.uniform(-bound, bound, size=(fan_in, fan_out))
    return weights.astype(dtype, copy=False)


def _views(flat, shapes):
    """Consecutive views of ``flat`` with the given shapes."""
    views = []
    offset = 0
    for shape in shapes:
        size = math.prod(shape)
        views.append(flat[offset : offset + size].reshape(shape))
        offset += size
    return views


class Network:
    """A batch-normalized MLP with a softmax output, owning its arrays.

    Parameters
    ----------
    layer_units : sequence of int
        Units of every layer, input and output included:
        ``[n_features, *hidden_layer_sizes, n_classes]``.
    settings : LayerSettings
        The hidden activation and the batch-norm settings (see
        :meth:`configure`).
    batch_norm : bool
        Whether the hidden layers are batch-normalized (and have no bias).
    dtype : dtype
        Of every array.

    Attributes
    ----------
    params, grads : ndarray of shape (n_params,)
        Every trainable value, and the gradient of the last batch's
        cross-entropy aligned with it.
    statistics : ndarray of shape (n_statistics,)
        The batch-norm running means, then the running variances.
    coefs, intercepts, gammas, betas : list of ndarray
        Views of ``params``; ``intercepts`` holds None for hidden layers with
        batch normalization, ``gammas`` and ``betas`` are empty without it.
    running_means, running_vars : list of ndarray
        Views of ``statistics`` (empty lists without batch normalization).
    n_weights : int
        Length of the prefix of ``params`` holding the weight matrices, the
        only arrays the L2 penalty applies to.
    settings : LayerSettings
        The settings of the layers.
    layers : list
        Dense and BatchNorm layers (the activation fused into batch
        normalization), or Dense and BiasActivation layers without it, input
        to output.
    """

    def __init__(self, layer_units, *, settings, batch_norm, dtype):
        self.layer_units = [int(units) for units in layer_units]
        self.batch_norm = bool(batch_norm) and len(self.layer_units) > 2
        self.dtype = np.dtype(dtype)
        fan_ins, fan_outs = self.layer_units[:-1], self.layer_units[1:]
        hidden = fan_outs[:-1]
        normalized = hidden if self.batch_norm else []
        biased = [
            index
            for index in range(len(fan_outs))
            if not self.batch_norm or index == len(fan_outs) - 1
        ]
        # The one place that orders the arrays. Weights come first, so that
        # the L2 penalty covers a prefix of the flat vector.
        shapes = (
            [(fan_in, fan_out) for fan_in, fan_out in zip(fan_ins, fan_outs)]
            + [(fan_outs[index],) for index in biased]
            + [(units,) for units in normalized] * 2
        )
        self.params = np.zeros(sum(math.prod(s) for s in shapes), self.dtype)
        self.grads = np.zeros_like(self.params)
        views = iter(_views(self.params, shapes))
        grad_views = iter(_views(self.grads, shapes))
        self.coefs = [next(views) for _ in fan_outs]
        coef_grads = [next(grad_views) for _ in fan_outs]
        self.intercepts = [None] * len(fan_outs)
        intercept_grads = [None] * len(fan_outs)
        for index in biased:
            self.intercepts[index] = next(views)
            intercept_grads[index] = next(grad_views)
        self.gammas = [next(views) for _ in normalized]
        gamma_grads = [next(grad_views) for _ in normalized]
        self.betas = [next(views) for _ in normalized]
        beta_grads = [next(grad_views) for _ in normalized]
        self.n_weights = sum(coef.size for coef in self.coefs)
        for gamma in self.gammas:
            gamma[...] = 1

        self.statistics = np.zeros(2 * sum(normalized), self.dtype)
        statistics = _views(self.statistics, [(units,) for units in normalized] * 2)
        self.running_means = statistics[: len(normalized)]
        self.running_vars = statistics[len(normalized) :]
        for running_var in self.running_vars:
            running_var[...] = 1

        self._gradients = (coef_grads, intercept_grads, gamma_grads, beta_grads)
        self._row_weights = None
        self.settings = None
        self.configure(settings)

    @classmethod
    def initialized(cls, layer_units, *, random_state, **options):
        """A new network with He or Glorot weights drawn from ``random_state``
        (a ``RandomState``), zero biases and betas, unit gammas and running
        variances; ``options`` as in the constructor."""
        network = cls(layer_units, **options)
        output_index = len(network.coefs) - 1
        for index, coef in enumerate(network.coefs):
            activation = (
                network.settings.activation if index < output_index else "softmax"
            )
            fan_in, fan_out = coef.shape
            coef[...] = _init_weights(
                fan_in, fan_out, activation, random_state, network.dtype
            )
        return network

    @classmethod
    def from_arrays(
        cls,
        coefs,
        intercepts,
        gammas,
        betas,
        running_means,
        running_vars,
        **options,
    ):
        """A network holding copies of the given arrays (for instance a
        fitted estimator's, after unpickling); ``options`` as in the
        constructor but for ``layer_units``, ``batch_norm`` and ``dtype``,
        which the arrays give."""
        layer_units = [coefs[0].shape[0], *(coef.shape[1] for coef in coefs)]
        network = cls(
            layer_units, batch_norm=bool(gammas), dtype=coefs[0].dtype, **options
        )
        pairs = [
            (network.coefs, coefs),
            (network.intercepts, intercepts),
            (network.gammas, gammas),
            (network.betas, betas),
            (network.running_means, running_means),
            (network.running_vars, running_vars),
        ]
        for targets, sources in pairs:
            for target, source in zip(targets, sources):
                if target is not None:
                    target[...] = source
        return network

    def copy(self):
        """An independent network with the same arrays and settings."""
        network = Network(
            self.layer_units,
            settings=self.settings,
            batch_norm=self.batch_norm,
            dtype=self.dtype,
        )
        network.restore(self.snapshot())
        return network

    def configure(self, settings):
        """Take the layers' settings, building the layers around the arrays
        when they change."""
        if settings == self.settings:
            return
        self.settings = settings
        self._build_layers()

    def _build_layers(self):
        activation, momentum, epsilon, dropout = self.settings
        coef_grads, intercept_grads, gamma_grads, beta_grads = self._gradients
        self.layers = []
        output_index = len(self.coefs) - 1
        for index, (coef, coef_grad) in enumerate(zip(self.coefs, coef_grads)):
            # A hidden layer's bias goes with its activation (one pass each
            # way); only the output layer's stays in the dense layer.
            output_layer = index == output_index
            before = self.layers[-1] if self.layers else None
            self.layers.append(
                Dense(
                    coef,
                    self.intercepts[index] if output_layer else None,
                    coef_grad,
                    intercept_grads[index] if output_layer else None,
                    input_grad_over_input=isinstance(before, Dropout)
                    or (
                        isinstance(before, BatchNorm)
                        and not before.backward_reads_output
                    ),
                )
            )
            if output_layer:
                break
            if self.batch_norm:
                self.layers.append(
                    BatchNorm(
                        self.gammas[index],
                        self.betas[index],
                        self.running_means[index],
                        self.running_vars[index],
                        momentum=momentum,
                        epsilon=epsilon,
                        gamma_grad=gamma_grads[index],
                        beta_grad=beta_grads[index],
                        activation=activation,
                    )
                )
            else:
                self.layers.append(
                    BiasActivation(
                        self.intercepts[index], activation, intercept_grads[index]
                    )
                )
            if dropout:
                self.layers.append(Dropout(dropout))

    # ------------------------------------------------------------ training

    def train_step(
        self,
        X,
        y_codes,
        sample_weight,
        optimizer,
        learning_rate,
        step,
        rng=None,
    ):
        """One step of ``optimizer`` on one batch; return the batch loss at
        the parameters before the step.

        The loss is the (weighted) mean cross-entropy, against targets
        smoothed by ``step.label_smoothing``, plus the L2 penalty ``0.5 *
        alpha * sum(W**2) / sum(weights)``, whose gradient ``alpha * W /
        sum(weights)`` is added to ``grads`` here, the only place it is
        applied. Decoupled weight decay then shrinks the weights,
        ``W *= 1 - learning_rate * weight_decay``, before the optimizer's
        update (AdamW's order); neither touches biases, gammas or betas.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        y_codes : ndarray of shape (n_samples,)
            Class indices.
        sample_weight : ndarray of shape (n_samples,) or None
        optimizer : Optimizer
        learning_rate : float
        step : StepSettings
        rng : numpy.random.Generator, default=None
            Draws the dropout masks; needed with dropout.

        Returns
        -------
        loss : float
        """
        cross_entropy, total_weight = self.backpropagate(
            X, y_codes, sample_weight, step.label_smoothing, rng
        )
        weights = self.params[: self.n_weights]
        l2_scale = step.alpha / total_weight
        penalty = 0.0
        if l2_scale:
            squares = _add_l2_gradient(
                weights, self.grads[: self.n_weights], self.dtype.type(l2_scale)
            )
            penalty = 0.5 * l2_scale * float(squares)
        if step.weight_decay:
            weights *= self.dtype.type(1 - learning_rate * step.weight_decay)
        optimizer.update_params([self.params], [self.grads], learning_rate)
        return cross_entropy + penalty

    def backpropagate(self, X, y_codes, sample_weight, label_smoothing=0.0, rng=None):
        """Forward and backward pass over one batch, in training mode (batch
        statistics, running statistics updated, units dropped with ``rng``).

        Fills ``grads`` with the gradient of the (weighted) mean
        cross-entropy and returns that cross-entropy and the batch's total
        weight.
        """
        logits = self._forward(X, rng)
        row_weights, total_weight = self._row_weights_of(sample_weight, y_codes.size)
        # dL/dlogits = s_i * (softmax - onehot) / sum(s), in place on the logits
        cross_entropy = _softmax_cross_entropy(
            logits, y_codes, row_weights, label_smoothing
        )
        delta = logits
        for position in range(len(self.layers) - 1, 0, -1):
            delta = self.layers[position].backward(delta)
        self.layers[0].backward(delta, input_grad=False)
        return float(cross_entropy), total_weight

    def loss(self, X, y_codes, sample_weight, step, rng=None):
        """The loss of one batch at the current parameters, as ``train_step``
        measures it (``step`` as there, the dropout masks drawn from
        ``rng``), without a step.

        Training mode (the batch's own statistics), but the running
        statistics are left as they were. The loss is infinite when the
        batch's pre-activations overflow batch normalization.
        """
        statistics = self.statistics.copy()
        try:
            logits = self._forward(X, rng)
        except BatchNormOverflowError:
            return math.inf
        finally:
            self.statistics[...] = statistics
        row_weights, total_weight = self._row_weights_of(sample_weight, y_codes.size)
        cross_entropy = _softmax_cross_entropy(
            logits, y_codes, row_weights, step.label_smoothing
        )
        weights = self.params[: self.n_weights]
        with np.errstate(over="ignore", invalid="ignore"):
            squares = float(np.dot(weights, weights))
        return float(cross_entropy) + 0.5 * step.alpha / total_weight * squares

    def _forward(self, X, rng=None):
        """The logits of a batch in training mode, in the last layer's
        buffer; ``rng`` draws the dropout masks."""
        logits = X
        for layer in self.layers:
            if isinstance(layer, Dropout):
                layer.rng = rng
            logits = layer.forward(logits)
        return logits

    def _row_weights_of(self, sample_weight, n_samples):
        """Each row's share of the batch's weight, and the batch's weight."""
        if sample_weight is None:
            return self._uniform_row_weights(n_samples, self.dtype), n_samples
        total_weight = sample_weight.sum()
        return (sample_weight / total_weight).astype(self.dtype), total_weight

    def _uniform_row_weights(self, n_samples, dtype):
        """``1 / n_samples`` per row, kept from one batch to the next."""
        weights = self._row_weights
        if weights is None or weights.size != n_samples or weights.dtype != dtype:
            weights = self._row_weights = np.full(n_samples, 1.0 / n_samples, dtype)
        return weights

    def release_buffers(self):
        """Drop the layers' batch buffers and caches, to be rebuilt by the
        next training step: a fitted network keeps only its arrays."""
        self._build_layers()
        self._row_weights = None

    def snapshot(self):
        """Copies of the parameters and running statistics."""
        return self.params.copy(), self.statistics.copy()

    def restore(self, snapshot):
        """Put back a :meth:`snapshot`, in place: the views stay valid."""
        params, statistics = snapshot
        self.params[...] = params
        self.statistics[...] = statistics

    # ---------------------------------------------------------- prediction

    def folded_params(self, dtype):
        """Weights and biases of every layer with batch normalization folded
        in, in ``dtype``.

        ``gamma * (x @ W - mean) / sqrt(var + eps) + beta`` equals
        ``x @ (W * scale) + (beta - mean * scale)`` with
        ``scale = gamma / sqrt(var + eps)``.
        """
        folded = []
        for index, weights in enumerate(self.coefs):
            if index < len(self.gammas):
                scale = self.gammas[index] / np.sqrt(
                    self.running_vars[index] + self.settings.batch_norm_epsilon
                )
                bias = self.betas[index] - self.running_means[index] * scale
                weights = weights * scale
            else:
                bias = self.intercepts[index]
            folded.append((weights.astype(dtype, copy=False), bias.astype(dtype)))
        return folded

    def predict_logits(self, X, finish=None):
        """Output-layer logits of ``X`` with the running statistics, chunk by
        chunk: the network's only inference path.

        Parameters
        ----------
        X : {ndarray, CSR matrix} of shape (n_samples, n_features)
            Float32 or float64; the logits come in its dtype.
        finish : callable, default=None
            Transforms each chunk of logits in place while it is still in
            cache (e.g. ``softmax``).

        Returns
        -------
        logits : ndarray of shape (n_samples, n_classes)
        """
        folded = self.folded_params(X.dtype)
        *hidden, (output_weights, output_bias) = folded
        widest = max(weights.shape[1] for weights, _ in folded)
        chunk_rows = min(X.shape[0], max(1, PREDICT_CHUNK_ELEMENTS // widest))
        buffers = [
            np.empty((chunk_rows, weights.shape[1]), dtype=X.dtype)
            for weights, _ in hidden
        ]
        logits = np.empty((X.shape[0], output_weights.shape[1]), dtype=X.dtype)
        for chunk in gen_batches(X.shape[0], chunk_rows):
            activations = X[chunk]
            for (weights, bias), buffer in zip(hidden, buffers):
                z = buffer[: activations.shape[0]]
                matmul_into(activations, weights, z)
                activations = add_bias_and_activate(z, bias, self.settings.activation)
            out = logits[chunk]
            matmul_into(activations, output_weights, out)
            add_bias_and_activate(out, output_bias, "identity")
            if finish is not None:
                finish(out)
            # Chunk by chunk, while it is in cache and with a small temporary.
            # Only an input beyond the dtype's range fails: the folded
            # parameters are finite after training.
            if not np.isfinite(out).all():
                magnitude = abs(X).max()
                raise ValueError(
                    f"X holds values up to {magnitude:.3g}, which overflow "
                    f"{X.dtype} in the network's layers; scale the features as "
                    "they were scaled for training (e.g. with the same "
                    "StandardScaler)."
                )
        return logits
