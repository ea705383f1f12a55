"""The layers chained into a softmax classifier, trained through flat vectors.

All trainable arrays (weights first, then biases, gammas and betas) are views of
one flat parameter vector, and their gradients views of one flat gradient
vector, so that an optimizer updates the whole network in one pass over memory
instead of passes per array.
"""

import numpy as np

from ._activations import row_maximum
from ._jit import kernel
from ._layers import BatchNorm, BiasActivation, Dense


def _softmax_cross_entropy(logits, y_codes, row_weights):
    """Return ``sum(row_weight * cross-entropy)`` over the rows, and write
    ``row_weight * (softmax - onehot)`` in place of the logits.

    Each row is shifted by its maximum first, so ``exp`` cannot overflow.
    """
    # NumPy's exp is vectorized, several times faster than the scalar exp a
    # compiled loop calls; the kernels do the rest around it.
    # -log(softmax) = log(sum(exp(shifted))) - shifted true logit
    true_logits = _shift_rows_by_maximum(logits, y_codes, row_weights)
    np.exp(logits, out=logits)
    return _cross_entropy_delta(logits, y_codes, row_weights) - true_logits


@kernel
def _shift_rows_by_maximum(logits, y_codes, row_weights):
    """Subtract each row's maximum; return the weighted sum of the shifted
    true-class logits."""
    n_samples, n_classes = logits.shape
    weighted_sum = row_weights[0] - row_weights[0]
    for row in range(n_samples):
        largest = row_maximum(logits, row)
        for column in range(n_classes):
            logits[row, column] -= largest
        weighted_sum += row_weights[row] * logits[row, y_codes[row]]
    return weighted_sum


@kernel
def _cross_entropy_delta(exponentials, y_codes, row_weights):
    """Turn each row of ``exp(shifted logits)`` into ``row_weight * (softmax
    - onehot)``; return the weighted sum of the rows' ``log(sum(exp))``."""
    n_samples, n_classes = exponentials.shape
    weighted_sum = row_weights[0] - row_weights[0]
    for row in range(n_samples):
        total = exponentials[row, 0] - exponentials[row, 0]
        for column in range(n_classes):
            total += exponentials[row, column]
        weighted_sum += row_weights[row] * np.log(total)
        factor = row_weights[row] / total
        for column in range(n_classes):
            exponentials[row, column] *= factor
        exponentials[row, y_codes[row]] -= row_weights[row]
    return weighted_sum


@kernel
def _add_scaled(target, source, scale):
    """``target += scale * source``, in one pass."""
    for i in range(target.size):
        target[i] += scale * source[i]


def _flat_views(arrays, flat):
    """Views of ``flat`` shaped like ``arrays``, one after the other."""
    views = []
    offset = 0
    for array in arrays:
        views.append(flat[offset : offset + array.size].reshape(array.shape))
        offset += array.size
    return views


def _shared_flat_base(arrays):
    """The flat vector that ``arrays`` are consecutive views of, or None."""
    base = arrays[0].base
    if base is None or base.ndim != 1 or base.size != sum(a.size for a in arrays):
        return None
    start = base.__array_interface__["data"][0]
    offset = 0
    for array in arrays:
        if array.base is not base or not array.flags.c_contiguous:
            return None
        if array.__array_interface__["data"][0] != start + offset * base.itemsize:
            return None
        offset += array.size
    return base


def flatten_parameters(coefs, intercepts, gammas, betas):
    """Make every trainable array a view of one flat vector; return it.

    The arrays in the given lists are replaced, in place in the lists, by views
    holding the same values. Lists that already are such views are kept.
    """
    groups = [coefs, intercepts, gammas, betas]
    slots = [
        (group, index)
        for group in groups
        for index, array in enumerate(group)
        if array is not None
    ]
    arrays = [group[index] for group, index in slots]
    flat = _shared_flat_base(arrays)
    if flat is not None:
        return flat
    flat = np.concatenate([array.ravel() for array in arrays])
    for (group, index), view in zip(slots, _flat_views(arrays, flat)):
        group[index] = view
    return flat


class Network:
    """A batch-normalized MLP with a softmax output, for training.

    Parameters
    ----------
    coefs, intercepts, gammas, betas : list of ndarray
        The trainable arrays, consecutive views of ``flat_params`` (see
        :func:`flatten_parameters`); ``intercepts`` holds None for layers
        with batch normalization, and ``gammas``/``betas`` are empty without.
    running_means, running_vars : list of ndarray
        Batch-norm running statistics, updated in place in training.
    flat_params : ndarray of shape (n_params,)
    activation : str
    momentum, epsilon : float
        Batch-norm running-average momentum and variance epsilon.

    Attributes
    ----------
    layers : list
        Dense and BatchNorm layers (the activation fused into batch
        normalization), or Dense and BiasActivation layers without it, input to
        output.
    flat_grads : ndarray of shape (n_params,)
        Gradient of the last batch's loss, aligned with ``flat_params``.
    n_weights : int
        Length of the prefix of ``flat_params`` holding the weight matrices,
        the only arrays the L2 penalty applies to.
    """

    def __init__(
        self,
        coefs,
        intercepts,
        gammas,
        betas,
        running_means,
        running_vars,
        flat_params,
        activation,
        momentum,
        epsilon,
    ):
        self.flat_params = flat_params
        self.flat_grads = np.zeros_like(flat_params)
        arrays = [a for group in (coefs, intercepts, gammas, betas) for a in group]
        grads = iter(_flat_views([a for a in arrays if a is not None], self.flat_grads))
        coef_grads = [next(grads) for _ in coefs]
        intercept_grads = [None if b is None else next(grads) for b in intercepts]
        gamma_grads = [next(grads) for _ in gammas]
        beta_grads = [next(grads) for _ in betas]
        self.n_weights = sum(w.size for w in coefs)
        self._row_weights = None

        self.layers = []
        last = len(coefs) - 1
        for index in range(len(coefs)):
            # A hidden layer's bias goes with its activation (one pass each
            # way); only the output layer's stays in the dense layer.
            output_layer = index == last
            before = self.layers[-1] if self.layers else None
            self.layers.append(
                Dense(
                    coefs[index],
                    intercepts[index] if output_layer else None,
                    coef_grads[index],
                    intercept_grads[index] if output_layer else None,
                    input_grad_over_input=(
                        isinstance(before, BatchNorm)
                        and not before.backward_reads_output
                    ),
                )
            )
            if output_layer:
                break
            if gammas:
                self.layers.append(
                    BatchNorm(
                        gammas[index],
                        betas[index],
                        running_means[index],
                        running_vars[index],
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
                        intercepts[index], activation, intercept_grads[index]
                    )
                )

    def forward(self, X, training=True):
        """Logits of ``X``: batch statistics in training, running ones otherwise."""
        activations = X
        for layer in self.layers:
            activations = layer.forward(activations, training=training)
        return activations

    def loss_and_gradient(self, X, y_codes, sample_weight, alpha):
        """Forward and backward pass over one batch.

        Fills ``flat_grads`` and returns the batch loss: the (weighted) mean
        cross-entropy plus ``0.5 * alpha * sum(W**2) / sum(weights)``.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        y_codes : ndarray of shape (n_samples,)
            Class indices.
        sample_weight : ndarray of shape (n_samples,) or None
        alpha : float
            L2 penalty.

        Returns
        -------
        loss : float
        """
        cross_entropy, total_weight = self._backpropagate(X, y_codes, sample_weight)
        penalty = 0.0
        if alpha:
            weights = self.flat_params[: self.n_weights]
            scale = alpha / total_weight
            penalty = 0.5 * scale * float(np.dot(weights, weights))
            _add_scaled(
                self.flat_grads[: self.n_weights], weights, weights.dtype.type(scale)
            )
        return cross_entropy + penalty

    def train_step(self, X, y_codes, sample_weight, alpha, optimizer):
        """One step of ``optimizer`` on one batch; return the batch loss at the
        parameters before the step.

        The same as :meth:`loss_and_gradient` followed by
        ``optimizer.update_params``, except that the L2 penalty's gradient
        and value come out of the optimizer's pass over the parameters (see
        its ``decay``) rather than from two passes of their own, and that
        ``flat_grads`` is left without the penalty's gradient.
        """
        cross_entropy, total_weight = self._backpropagate(X, y_codes, sample_weight)
        scale = alpha / total_weight
        squares = optimizer.update_params(
            [self.flat_params], [self.flat_grads], scale, self.n_weights
        )
        return cross_entropy + 0.5 * scale * squares

    def _backpropagate(self, X, y_codes, sample_weight):
        """Fill ``flat_grads`` with the gradient of the (weighted) mean
        cross-entropy; return that cross-entropy and the batch's total
        weight."""
        logits = self.forward(X, training=True)
        n_samples = y_codes.size
        if sample_weight is None:
            total_weight = n_samples
            row_weights = self._uniform_row_weights(n_samples, logits.dtype)
        else:
            total_weight = sample_weight.sum()
            row_weights = (sample_weight / total_weight).astype(logits.dtype)
        # dL/dlogits = s_i * (softmax - onehot) / sum(s), in place on the logits
        cross_entropy = _softmax_cross_entropy(logits, y_codes, row_weights)
        delta = logits

        last = len(self.layers) - 1
        for position in range(last, -1, -1):
            layer = self.layers[position]
            if position == 0:
                layer.backward(delta, input_grad=False)
            else:
                delta = layer.backward(delta)
        return float(cross_entropy), total_weight

    def _uniform_row_weights(self, n_samples, dtype):
        """``1 / n_samples`` per row, kept from one batch to the next."""
        weights = self._row_weights
        if weights is None or weights.size != n_samples or weights.dtype != dtype:
            weights = self._row_weights = np.full(n_samples, 1.0 / n_samples, dtype)
        return weights
