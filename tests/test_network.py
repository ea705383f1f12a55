"""The network: its arrays, its compiled softmax/cross-entropy, its copies."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import log_softmax, softmax

from sknormnet._network import (
    LayerSettings,
    Network,
    StepSettings,
    _softmax_cross_entropy,
)
from sknormnet._optimizers import SGD


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_matches_scipy(dtype):
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=5.0, size=(50, 7))
    y_codes = rng.integers(0, 7, size=50)
    row_weights = rng.uniform(0.1, 2.0, size=50)
    row_weights /= row_weights.sum()

    work = logits.astype(dtype)
    weighted_loss = _softmax_cross_entropy(work, y_codes, row_weights.astype(dtype))

    onehot = np.eye(7)[y_codes]
    expected_delta = row_weights[:, np.newaxis] * (softmax(logits, axis=1) - onehot)
    expected_losses = -log_softmax(logits, axis=1)[np.arange(50), y_codes]
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert work.dtype == dtype
    assert_allclose(work, expected_delta, rtol=tolerance, atol=tolerance)
    assert_allclose(weighted_loss, row_weights @ expected_losses, rtol=tolerance)


def test_softmax_cross_entropy_is_finite_for_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0], [-3e4, -3e4 + 2.0, -3e4]], dtype=np.float32)
    y_codes = np.array([1, 0])
    loss = _softmax_cross_entropy(logits, y_codes, np.full(2, 0.5, np.float32))
    assert np.isfinite(logits).all()
    # the rows' losses are 2e4 and 2 + log(1 + 2 exp(-2))
    assert_allclose(loss, 0.5 * (2e4 + 2 + np.log1p(2 * np.exp(-2.0))), rtol=1e-6)


SETTINGS = LayerSettings("relu", 0.9, 1e-5)


def _network(batch_norm=True, layer_units=(4, 5, 3, 2), dtype=np.float64, seed=0):
    return Network.initialized(
        list(layer_units),
        random_state=np.random.RandomState(seed),
        batch_norm=batch_norm,
        dtype=dtype,
        settings=SETTINGS,
    )


@pytest.mark.parametrize("batch_norm", [True, False])
def test_arrays_are_views_of_three_flat_vectors_weights_first(batch_norm):
    network = _network(batch_norm)
    trainable = [
        *network.coefs,
        *[b for b in network.intercepts if b is not None],
        *network.gammas,
        *network.betas,
    ]
    # consecutive views, in this order, covering the flat vector exactly
    offset = 0
    for array in trainable:
        assert np.shares_memory(array, network.params)
        flat = network.params[offset : offset + array.size]
        array[...] = offset + 1
        assert np.all(flat == offset + 1)
        offset += array.size
    assert offset == network.params.size == network.grads.size
    assert network.n_weights == sum(w.size for w in network.coefs)
    statistics = [*network.running_means, *network.running_vars]
    assert sum(s.size for s in statistics) == network.statistics.size
    assert all(np.shares_memory(s, network.statistics) for s in statistics)
    if batch_norm:
        assert network.intercepts[:2] == [None, None]
        assert [g.shape for g in network.gammas] == [(5,), (3,)]
    else:
        assert [b.shape for b in network.intercepts] == [(5,), (3,), (2,)]
        assert network.gammas == network.running_vars == []


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_initialisation_scale(activation):
    network = Network.initialized(
        [400, 300, 2],
        random_state=np.random.RandomState(0),
        batch_norm=True,
        dtype=np.float64,
        settings=SETTINGS._replace(activation=activation),
    )
    std = network.coefs[0].std()
    expected = np.sqrt(2 / 400) if activation == "relu" else np.sqrt(2 / 700)
    assert std == pytest.approx(expected, rel=0.02)
    assert_allclose(network.gammas[0], 1)
    assert_allclose(network.betas[0], 0)
    assert_allclose(network.running_means[0], 0)
    assert_allclose(network.running_vars[0], 1)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_from_arrays_and_copy_hold_independent_equal_arrays(batch_norm):
    network = _network(batch_norm)
    network.params[:] = np.arange(network.params.size)
    network.statistics[:] = np.arange(network.statistics.size) + 1.0
    rebuilt = Network.from_arrays(
        [w.copy() for w in network.coefs],
        [None if b is None else b.copy() for b in network.intercepts],
        network.gammas,
        network.betas,
        network.running_means,
        network.running_vars,
        settings=SETTINGS,
    )
    for other in (rebuilt, network.copy()):
        assert_array_equal(other.params, network.params)
        assert_array_equal(other.statistics, network.statistics)
        assert not np.shares_memory(other.params, network.params)
        assert other.n_weights == network.n_weights
        other.params[0] += 1
        assert other.coefs[0][0, 0] == network.coefs[0][0, 0] + 1


def test_snapshot_and_restore_write_in_place():
    network = _network()
    coefs = network.coefs[0]
    saved = network.snapshot()
    network.params += 1
    network.statistics += 1
    network.restore(saved)
    assert network.coefs[0] is coefs
    assert_array_equal(network.params, saved[0])
    assert_array_equal(network.statistics, saved[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predict_logits_folds_batch_norm(dtype):
    network = _network(dtype=dtype, seed=3)
    rng = np.random.default_rng(3)
    network.params += rng.normal(scale=0.2, size=network.params.size).astype(dtype)
    for mean, var in zip(network.running_means, network.running_vars):
        mean[:] = rng.normal(size=mean.size)
        var[:] = rng.uniform(0.5, 2, size=var.size)
    X = rng.normal(size=(7, 4))
    activations = X
    for index, weights in enumerate(network.coefs[:-1]):
        z = activations @ weights
        z = (z - network.running_means[index]) / np.sqrt(
            network.running_vars[index] + 1e-5
        )
        activations = np.maximum(network.gammas[index] * z + network.betas[index], 0)
    expected = activations @ network.coefs[-1] + network.intercepts[-1]
    logits = network.predict_logits(X.astype(dtype))
    assert logits.dtype == dtype
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(logits, expected, rtol=tolerance, atol=tolerance)


def test_configure_rebuilds_the_layers_only_when_settings_change():
    network = _network()
    layers = network.layers
    network.configure(LayerSettings("relu", 0.9, 1e-5))
    assert network.layers is layers
    network.configure(SETTINGS._replace(activation="tanh"))
    assert network.layers is not layers
    assert network.layers[1].activation == "tanh"
    assert network.settings.activation == "tanh"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5])
def test_softmax_cross_entropy_with_label_smoothing_matches_scipy(dtype, smoothing):
    rng = np.random.default_rng(3)
    logits = rng.normal(scale=4.0, size=(30, 5))
    y_codes = rng.integers(0, 5, size=30)
    row_weights = rng.uniform(0.1, 2.0, size=30)
    row_weights /= row_weights.sum()
    work = logits.astype(dtype)
    weighted_loss = _softmax_cross_entropy(
        work, y_codes, row_weights.astype(dtype), smoothing
    )
    target = (1 - smoothing) * np.eye(5)[y_codes] + smoothing / 5
    expected_losses = -(target * log_softmax(logits, axis=1)).sum(axis=1)
    expected_delta = row_weights[:, None] * (softmax(logits, axis=1) - target)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(weighted_loss, row_weights @ expected_losses, rtol=tolerance)
    assert_allclose(work, expected_delta, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_norm", [True, False])
def test_a_step_applies_the_l2_gradient_and_the_decoupled_decay_to_the_weights(
    batch_norm, dtype
):
    # one plain gradient step: W <- W * (1 - lr * wd) - lr * (dCE/dW + alpha /
    # n * W) on the weights, w <- w - lr * dCE/dw elsewhere; the loss is the
    # smoothed cross-entropy plus the penalty
    rng = np.random.default_rng(5)
    X = rng.normal(size=(12, 4)).astype(dtype)
    y = rng.integers(0, 2, size=12)
    step = StepSettings(alpha=0.3, weight_decay=0.2, label_smoothing=0.1)
    learning_rate = 0.1
    plain = _network(batch_norm, dtype=dtype)
    stepped = _network(batch_norm, dtype=dtype)
    cross_entropy, total_weight = plain.backpropagate(X, y, None, 0.1)
    start = plain.params.copy().astype(np.float64)
    loss = stepped.train_step(X, y, None, SGD(), learning_rate, step)
    n_weights = plain.n_weights
    weights = start[:n_weights]
    assert total_weight == 12
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert loss == pytest.approx(
        cross_entropy + 0.5 * 0.3 / 12 * np.sum(weights**2), rel=tolerance
    )
    expected = start - learning_rate * plain.grads.astype(np.float64)
    expected[:n_weights] -= learning_rate * 0.3 / 12 * weights
    expected[:n_weights] -= learning_rate * 0.2 * weights
    assert_allclose(stepped.params, expected, rtol=tolerance, atol=tolerance)
    assert stepped.params.dtype == dtype


@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_dropout_gradients_match_finite_differences_for_fixed_masks(
    batch_norm, activation
):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(10, 4))
    y = np.arange(10) % 2
    network = Network.initialized(
        [4, 6, 5, 2],
        random_state=np.random.RandomState(0),
        batch_norm=batch_norm,
        dtype=np.float64,
        settings=SETTINGS._replace(activation=activation, dropout=0.4),
    )
    network.params += rng.normal(scale=0.3, size=network.params.size)

    def loss_and_gradient():
        # the same masks at every evaluation
        loss, _ = network.backpropagate(X, y, None, 0.0, np.random.default_rng(9))
        return loss, network.grads.copy()

    dropped, gradient = loss_and_gradient()
    numeric = np.zeros_like(gradient)
    for index in range(network.params.size):
        original = network.params[index]
        network.params[index] = original + 1e-6
        plus = loss_and_gradient()[0]
        network.params[index] = original - 1e-6
        minus = loss_and_gradient()[0]
        network.params[index] = original
        numeric[index] = (plus - minus) / 2e-6
    assert_allclose(gradient, numeric, rtol=1e-4, atol=1e-7)
    # and the masks did drop units: without dropout the loss differs
    network.configure(SETTINGS._replace(activation=activation))
    undropped, _ = network.backpropagate(X, y, None)
    assert not np.isclose(undropped, dropped)


def _weights_in(params, network, index):
    """Layer ``index``'s weights in ``params``, a copy of the flat vector."""
    offset = sum(coef.size for coef in network.coefs[:index])
    shape = network.coefs[index].shape
    return params[offset : offset + np.prod(shape)].reshape(shape)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("batch_norm", [True, False])
def test_loss_is_the_training_steps_loss_without_a_step(batch_norm, weighted):
    network = _network(batch_norm)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(9, 4))
    y_codes = rng.integers(0, 2, size=9)
    weights = rng.uniform(0.5, 2.0, size=9) if weighted else None
    params, statistics = network.params.copy(), network.statistics.copy()
    loss = network.loss(X, y_codes, weights, StepSettings(alpha=0.3))
    # nothing moved: neither the parameters nor the running statistics
    assert_array_equal(network.params, params)
    assert_array_equal(network.statistics, statistics)
    # the step reports the loss at the parameters before it: the same one
    step_loss = network.train_step(
        X, y_codes, weights, SGD(), 0.1, StepSettings(alpha=0.3)
    )
    assert loss == pytest.approx(step_loss, rel=1e-12)
    # by hand, with the batch's own statistics (biases, betas start at 0 and
    # gammas at 1)
    a = X
    for index in range(len(network.coefs) - 1):
        z = a @ _weights_in(params, network, index)
        if batch_norm:
            z = (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + 1e-5)
        a = np.maximum(z, 0)
    logits = a @ _weights_in(params, network, len(network.coefs) - 1)
    row_weights = np.ones(9) if weights is None else weights
    losses = -log_softmax(logits, axis=1)[np.arange(9), y_codes]
    squares = params[: network.n_weights] @ params[: network.n_weights]
    expected = np.average(losses, weights=row_weights)
    expected += 0.5 * 0.3 * squares / row_weights.sum()
    assert loss == pytest.approx(expected, rel=1e-12)


def test_loss_of_a_batch_that_overflows_batch_norm_is_infinite():
    network = _network(batch_norm=True)
    X = np.array([[1e200, 0, 0, 0], [-1e200, 0, 0, 0], [3e200, 1, 0, 0]])
    assert network.loss(X, np.array([0, 1, 0]), None, StepSettings()) == np.inf
