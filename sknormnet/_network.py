"""The layers chained into a softmax classifier, trained through flat vectors.

All trainable arrays (weights first, then biases, gammas and betas) are views of
one flat parameter vector, and their gradients views of one flat gradient
vector, so that an optimizer updates the whole network in a few passes over
memory instead of a few passes per array.
"""

import numpy as np

from ._layers import Activation, BatchNorm, Dense, reusable


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
        Dense, BatchNorm and Activation layers, input to output.
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

        self.layers = []
        for index in range(len(coefs)):
            self.layers.append(
                Dense(
                    coefs[index],
                    intercepts[index],
                    coef_grads[index],
                    intercept_grads[index],
                )
            )
            if index == len(coefs) - 1:
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
                    )
                )
            self.layers.append(Activation(activation))
        self._penalty_buffer = None

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
        logits = self.forward(X, training=True)
        n_samples = y_codes.size
        rows = np.arange(n_samples)
        # Softmax and cross-entropy in place on the logits buffer.
        logits -= logits.max(axis=1, keepdims=True)
        true_logits = logits[rows, y_codes]
        proba = np.exp(logits, out=logits)
        normalizers = proba.sum(axis=1)
        sample_losses = np.log(normalizers)
        sample_losses -= true_logits
        proba /= normalizers[:, np.newaxis]
        # dL/dlogits = s_i * (softmax - onehot) / sum(s)
        delta = proba
        delta[rows, y_codes] -= 1
        if sample_weight is None:
            total_weight = n_samples
            cross_entropy = sample_losses.sum()
            delta *= 1.0 / n_samples
        else:
            total_weight = sample_weight.sum()
            cross_entropy = np.dot(sample_weight, sample_losses)
            delta *= (sample_weight / total_weight)[:, np.newaxis]

        last = len(self.layers) - 1
        for position in range(last, -1, -1):
            layer = self.layers[position]
            if position == 0:
                layer.backward(delta, input_grad=False)
            else:
                delta = layer.backward(delta)

        penalty = 0.0
        if alpha:
            weights = self.flat_params[: self.n_weights]
            scale = alpha / total_weight
            penalty = 0.5 * scale * float(np.dot(weights, weights))
            self._penalty_buffer = reusable(
                self._penalty_buffer, weights.shape, weights.dtype
            )
            np.multiply(weights, scale, out=self._penalty_buffer)
            self.flat_grads[: self.n_weights] += self._penalty_buffer
        return float(cross_entropy / total_weight) + penalty
