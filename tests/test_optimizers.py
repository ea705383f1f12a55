"""Every update rule and schedule against its hand-written formula."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknormnet._optimizers import SGD, Adam, Momentum, RMSprop
from sknormnet._schedules import SCHEDULES, exponential_decay, inverse_time_decay

MAKE_OPTIMIZERS = [
    lambda p: SGD(p, 0.1),
    lambda p: Momentum(p, 0.1, 0.9),
    lambda p: RMSprop(p, 0.1, 0.9, 1e-8),
    lambda p: Adam(p, 0.1, 0.9, 0.999, 1e-8),
]
OPTIMIZER_NAMES = ["sgd", "momentum", "rmsprop", "adam"]


def _params_and_grad_sequence(seed=0, n_steps=4):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    grads = [[rng.normal(size=p.shape) for p in params] for _ in range(n_steps)]
    return params, grads


def test_sgd_update():
    params, grad_steps = _params_and_grad_sequence()
    expected = [p.copy() for p in params]
    optimizer = SGD(params, learning_rate=0.1)
    for grads in grad_steps:
        optimizer.update_params(params, grads)
        expected = [w - 0.1 * g for w, g in zip(expected, grads)]
    for got, want in zip(params, expected):
        assert_allclose(got, want)


def test_momentum_update_is_an_exponentially_weighted_average():
    params, grad_steps = _params_and_grad_sequence()
    expected = [p.copy() for p in params]
    velocity = [np.zeros_like(p) for p in params]
    optimizer = Momentum(params, learning_rate=0.05, beta=0.9)
    for grads in grad_steps:
        optimizer.update_params(params, grads)
        velocity = [0.9 * v + 0.1 * g for v, g in zip(velocity, grads)]
        expected = [w - 0.05 * v for w, v in zip(expected, velocity)]
    for got, want in zip(params, expected):
        assert_allclose(got, want)


def test_rmsprop_update():
    params, grad_steps = _params_and_grad_sequence()
    expected = [p.copy() for p in params]
    square = [np.zeros_like(p) for p in params]
    optimizer = RMSprop(params, learning_rate=0.01, beta_2=0.99, epsilon=1e-8)
    for grads in grad_steps:
        optimizer.update_params(params, grads)
        square = [0.99 * s + 0.01 * g**2 for s, g in zip(square, grads)]
        expected = [
            w - 0.01 * g / (np.sqrt(s) + 1e-8)
            for w, g, s in zip(expected, grads, square)
        ]
    for got, want in zip(params, expected):
        assert_allclose(got, want)


def test_adam_update_with_bias_correction():
    params, grad_steps = _params_and_grad_sequence()
    expected = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    optimizer = Adam(params, learning_rate=0.002, beta_1=0.8, beta_2=0.99, epsilon=1e-7)
    for t, grads in enumerate(grad_steps, start=1):
        optimizer.update_params(params, grads)
        m = [0.8 * mi + 0.2 * g for mi, g in zip(m, grads)]
        v = [0.99 * vi + 0.01 * g**2 for vi, g in zip(v, grads)]
        m_hat = [mi / (1 - 0.8**t) for mi in m]
        v_hat = [vi / (1 - 0.99**t) for vi in v]
        expected = [
            w - 0.002 * mh / (np.sqrt(vh) + 1e-7)
            for w, mh, vh in zip(expected, m_hat, v_hat)
        ]
    assert optimizer.t == len(grad_steps)
    for got, want in zip(params, expected):
        assert_allclose(got, want)


def test_adam_first_step_has_size_learning_rate():
    # With bias correction the first step is learning_rate * sign(g).
    params = [np.zeros(3)]
    optimizer = Adam(
        params, learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-12
    )
    optimizer.update_params(params, [np.array([5.0, -0.2, 1e-3])])
    assert_allclose(params[0], [-0.01, 0.01, -0.01], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make_optimizer", MAKE_OPTIMIZERS, ids=OPTIMIZER_NAMES)
def test_updates_stay_in_place_and_in_dtype(make_optimizer, dtype):
    param = np.ones(4, dtype=dtype)
    optimizer = make_optimizer([param])
    optimizer.update_params([param], [np.full(4, 0.5, dtype=dtype)])
    assert param.dtype == dtype
    assert np.all(param < 1)


@pytest.mark.parametrize("epoch", [0, 1, 5, 37])
def test_schedules_match_closed_forms(epoch):
    assert math.isclose(inverse_time_decay(0.3, 0.5, epoch), 0.3 / (1 + 0.5 * epoch))
    assert math.isclose(
        exponential_decay(0.3, 0.5, epoch), 0.3 * math.exp(-0.5 * epoch)
    )


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_zero_decay_keeps_learning_rate(name):
    assert SCHEDULES[name](0.01, 0.0, 100) == pytest.approx(0.01)


@pytest.mark.parametrize("make_optimizer", MAKE_OPTIMIZERS, ids=OPTIMIZER_NAMES)
def test_non_contiguous_parameters_are_rejected(make_optimizer):
    # An update of a copy would be silently lost.
    param = np.ones((4, 6))[:, ::2]
    optimizer = make_optimizer([np.ones((4, 3))])
    with pytest.raises(ValueError, match="C-contiguous"):
        optimizer.update_params([param], [np.ones((4, 3))])


def test_adam_in_float32_follows_float64():
    rng = np.random.default_rng(7)
    start = rng.normal(size=50)
    grads = rng.normal(scale=1e-2, size=(5, 50))
    results = []
    for dtype in (np.float32, np.float64):
        param = start.astype(dtype)
        optimizer = Adam([param], 1e-3, 0.9, 0.999, 1e-8)
        for grad in grads:
            optimizer.update_params([param], [grad.astype(dtype)])
        results.append(param)
    assert_allclose(results[0], results[1], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make_optimizer", MAKE_OPTIMIZERS, ids=OPTIMIZER_NAMES)
def test_decay_adds_the_l2_gradient_to_the_leading_entries(make_optimizer, dtype):
    params, grad_steps = _params_and_grad_sequence(seed=3)
    params = [p.astype(dtype) for p in params]
    expected = [p.copy() for p in params]
    folded, reference = make_optimizer(params), make_optimizer(expected)
    decay, n_decayed = 0.7, 4
    for grads in grad_steps:
        grads = [g.astype(dtype) for g in grads]
        decayed = [p.ravel()[:n_decayed] for p in expected]
        want_squares = sum(float(np.sum(w.astype(np.float64) ** 2)) for w in decayed)
        penalized = []
        for w, g in zip(decayed, grads):
            g = g.copy()
            g.ravel()[:n_decayed] += dtype(decay) * w
            penalized.append(g)
        reference.update_params(expected, penalized)
        squares = folded.update_params(params, grads, decay, n_decayed)
        assert squares == pytest.approx(want_squares, rel=1e-6)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for got, want in zip(params, expected):
        assert got.dtype == dtype
        assert_allclose(got, want, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("make_optimizer", MAKE_OPTIMIZERS, ids=OPTIMIZER_NAMES)
def test_decay_without_a_count_applies_to_every_entry(make_optimizer):
    params, grad_steps = _params_and_grad_sequence(seed=4, n_steps=1)
    expected = [p.copy() for p in params]
    squares = make_optimizer(params).update_params(params, grad_steps[0], 0.5)
    penalized = [g + 0.5 * w for g, w in zip(grad_steps[0], expected)]
    want_squares = sum(float(np.sum(w**2)) for w in expected)
    make_optimizer(expected).update_params(expected, penalized)
    assert squares == pytest.approx(want_squares)
    for got, want in zip(params, expected):
        assert_allclose(got, want)


@pytest.mark.parametrize("make_optimizer", MAKE_OPTIMIZERS, ids=OPTIMIZER_NAMES)
def test_zero_decay_is_the_plain_update_and_reports_no_squares(make_optimizer):
    params, grad_steps = _params_and_grad_sequence(seed=5, n_steps=1)
    expected = [p.copy() for p in params]
    squares = make_optimizer(params).update_params(params, grad_steps[0], 0.0, 3)
    make_optimizer(expected).update_params(expected, grad_steps[0])
    assert squares == 0.0
    for got, want in zip(params, expected):
        assert_array_equal(got, want)


@pytest.mark.parametrize("make_optimizer", MAKE_OPTIMIZERS, ids=OPTIMIZER_NAMES)
def test_kernel_may_reorder_its_sum_of_squares(make_optimizer):
    # In order, the sum of squares is a chain of dependent additions that
    # keeps the whole update from vectorizing: several times slower.
    optimizer_kernel = type(make_optimizer([np.zeros(1)]))._kernel
    assert "reassoc" in optimizer_kernel.targetoptions.get("fastmath", set())
