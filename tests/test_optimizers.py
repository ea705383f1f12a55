"""Every update rule and schedule against its hand-written formula."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sknormnet._optimizers import SGD, Adam, Momentum, RMSprop
from sknormnet._schedules import SCHEDULES, Progress, warmup_factor

MAKE_OPTIMIZERS = [
    lambda: SGD(),
    lambda: Momentum(momentum=0.9),
    lambda: RMSprop(beta_2=0.9, epsilon=1e-8),
    lambda: Adam(beta_1=0.9, beta_2=0.999, epsilon=1e-8),
]
LEARNING_RATE = 0.1
OPTIMIZER_NAMES = ["sgd", "momentum", "rmsprop", "adam"]


def _params_and_grad_sequence(seed=0, n_steps=4):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    grads = [[rng.normal(size=p.shape) for p in params] for _ in range(n_steps)]
    return params, grads


def test_sgd_update():
    params, grad_steps = _params_and_grad_sequence()
    expected = [p.copy() for p in params]
    optimizer = SGD()
    for grads in grad_steps:
        optimizer.update_params(params, grads, learning_rate=0.1)
        expected = [w - 0.1 * g for w, g in zip(expected, grads)]
    for got, want in zip(params, expected):
        assert_allclose(got, want)


def test_momentum_update_is_an_exponentially_weighted_average():
    params, grad_steps = _params_and_grad_sequence()
    expected = [p.copy() for p in params]
    velocity = [np.zeros_like(p) for p in params]
    optimizer = Momentum(momentum=0.9)
    for grads in grad_steps:
        optimizer.update_params(params, grads, learning_rate=0.05)
        velocity = [0.9 * v + 0.1 * g for v, g in zip(velocity, grads)]
        expected = [w - 0.05 * v for w, v in zip(expected, velocity)]
    for got, want in zip(params, expected):
        assert_allclose(got, want)


def test_rmsprop_update():
    params, grad_steps = _params_and_grad_sequence()
    expected = [p.copy() for p in params]
    square = [np.zeros_like(p) for p in params]
    optimizer = RMSprop(beta_2=0.99, epsilon=1e-8)
    for grads in grad_steps:
        optimizer.update_params(params, grads, learning_rate=0.01)
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
    optimizer = Adam(beta_1=0.8, beta_2=0.99, epsilon=1e-7)
    for t, grads in enumerate(grad_steps, start=1):
        optimizer.update_params(params, grads, learning_rate=0.002)
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
    optimizer = Adam(beta_1=0.9, beta_2=0.999, epsilon=1e-12)
    optimizer.update_params(params, [np.array([5.0, -0.2, 1e-3])], learning_rate=0.01)
    assert_allclose(params[0], [-0.01, 0.01, -0.01], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make_optimizer", MAKE_OPTIMIZERS, ids=OPTIMIZER_NAMES)
def test_updates_stay_in_place_and_in_dtype(make_optimizer, dtype):
    param = np.ones(4, dtype=dtype)
    optimizer = make_optimizer()
    optimizer.update_params([param], [np.full(4, 0.5, dtype=dtype)], LEARNING_RATE)
    assert param.dtype == dtype
    assert np.all(param < 1)


@pytest.mark.parametrize("epoch", [0, 1, 5, 37])
def test_schedules_match_closed_forms(epoch):
    progress = Progress(
        epoch=epoch, samples_seen=100 * epoch, max_iter=40, decay_rate=0.5, power_t=0.3
    )
    expected = {
        "constant": 0.3,
        "inverse_time": 0.3 / (1 + 0.5 * epoch),
        "exponential": 0.3 * math.exp(-0.5 * epoch),
        "cosine": 0.3 * 0.5 * (1 + math.cos(math.pi * epoch / 40)),
        "invscaling": 0.3 / (100 * epoch + 1) ** 0.3,
        "adaptive": 0.3,  # the estimator divides it at each stall
    }
    assert set(expected) == set(SCHEDULES)
    for name, value in expected.items():
        assert SCHEDULES[name](0.3, progress) == pytest.approx(value), name


def test_cosine_ends_at_zero_and_stays_there():
    for epoch in (10, 11, 50):
        progress = Progress(epoch=epoch, samples_seen=0, max_iter=10)
        assert SCHEDULES["cosine"](0.1, progress) == pytest.approx(0.0, abs=1e-18)


@pytest.mark.parametrize(
    "epoch, warmup_epochs, factor",
    [(0, 0, 1.0), (0, 3, 0.25), (1, 3, 0.5), (3, 3, 1.0), (10, 3, 1.0)],
)
def test_warmup_ramps_up_linearly(epoch, warmup_epochs, factor):
    progress = Progress(
        epoch=epoch, samples_seen=0, max_iter=20, warmup_epochs=warmup_epochs
    )
    assert warmup_factor(progress) == pytest.approx(factor)


def test_nesterov_momentum_update():
    params, grad_steps = _params_and_grad_sequence()
    expected = [p.copy() for p in params]
    velocity = [np.zeros_like(p) for p in params]
    optimizer = Momentum(momentum=0.9, nesterovs_momentum=True)
    for grads in grad_steps:
        optimizer.update_params(params, grads, learning_rate=0.05)
        velocity = [0.9 * v + 0.1 * g for v, g in zip(velocity, grads)]
        expected = [
            w - 0.05 * (0.9 * v + 0.1 * g) for w, v, g in zip(expected, velocity, grads)
        ]
    for got, want in zip(params, expected):
        assert_allclose(got, want)


@pytest.mark.parametrize("make_optimizer", MAKE_OPTIMIZERS, ids=OPTIMIZER_NAMES)
def test_non_contiguous_parameters_are_rejected(make_optimizer):
    # An update of a copy would be silently lost.
    param = np.ones((4, 6))[:, ::2]
    optimizer = make_optimizer()
    with pytest.raises(ValueError, match="C-contiguous"):
        optimizer.update_params([param], [np.ones((4, 3))], LEARNING_RATE)


def test_adam_in_float32_follows_float64():
    rng = np.random.default_rng(7)
    start = rng.normal(size=50)
    grads = rng.normal(scale=1e-2, size=(5, 50))
    results = []
    for dtype in (np.float32, np.float64):
        param = start.astype(dtype)
        optimizer = Adam(beta_1=0.9, beta_2=0.999, epsilon=1e-8)
        for grad in grads:
            optimizer.update_params([param], [grad.astype(dtype)], 1e-3)
        results.append(param)
    assert_allclose(results[0], results[1], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("make_optimizer", MAKE_OPTIMIZERS, ids=OPTIMIZER_NAMES)
def test_learning_rate_is_an_argument_of_each_update(make_optimizer):
    # A schedule changes the rate between updates: each update takes its own,
    # and an optimizer keeps no rate of its own that could go stale.
    params, grad_steps = _params_and_grad_sequence(seed=6, n_steps=3)
    results = []
    for rates in ([0.1, 0.01, 0.05], [0.1, 0.02, 0.05]):
        optimizer, changing = make_optimizer(), [p.copy() for p in params]
        for rate, grads in zip(rates, grad_steps):
            optimizer.update_params(changing, grads, rate)
        assert not hasattr(optimizer, "learning_rate")
        results.append(changing[0])
    assert not np.allclose(results[0], results[1])


@pytest.mark.parametrize(
    ("optimizer_class", "names"),
    [
        (SGD, ()),
        (Momentum, ("momentum", "nesterovs_momentum")),
        (RMSprop, ("beta_2", "epsilon")),
        (Adam, ("beta_1", "beta_2", "epsilon")),
    ],
)
def test_optimizers_declare_their_hyperparameters(optimizer_class, names):
    assert optimizer_class.hyperparameters == names
    optimizer = optimizer_class()
    values = {name: 0.5 for name in names}
    optimizer.set_hyperparameters(**values)
    assert {name: getattr(optimizer, name) for name in names} == values
    with pytest.raises(TypeError, match="takes the hyperparameters"):
        optimizer.set_hyperparameters(learning_rate=0.1)


def test_set_hyperparameters_keeps_the_moments():
    param = np.ones(3)
    optimizer = Momentum(momentum=0.9)
    optimizer.update_params([param], [np.ones(3)], 0.1)
    velocity = optimizer.moments[0][0].copy()
    optimizer.set_hyperparameters(momentum=0.5)
    optimizer.update_params([param], [np.zeros(3)], 0.1)
    # v = 0.5 * v + 0.5 * 0
    assert_allclose(optimizer.moments[0][0], 0.5 * velocity)
