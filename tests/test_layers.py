import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import expit

from sknormnet._layers import BatchNorm, BiasActivation, Dense, Dropout

ACTIVATION_FORMULAS = {
    "identity": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "logistic": expit,
}


def _batch_norm(
    n_units, momentum=0.9, epsilon=1e-5, seed=0, activation="identity", dtype=None
):
    rng = np.random.default_rng(seed)
    dtype = dtype or np.float64
    return BatchNorm(
        gamma=rng.uniform(0.5, 2, n_units).astype(dtype),
        beta=rng.normal(size=n_units).astype(dtype),
        running_mean=np.zeros(n_units, dtype=dtype),
        running_var=np.ones(n_units, dtype=dtype),
        momentum=momentum,
        epsilon=epsilon,
        activation=activation,
    )


def test_batch_norm_forward_matches_formula():
    rng = np.random.default_rng(0)
    z = rng.normal(3.0, 2.0, size=(16, 5))
    layer = _batch_norm(5)
    out = layer.forward(z.copy())
    mu = z.mean(axis=0)
    var = ((z - mu) ** 2).mean(axis=0)
    expected = layer.gamma * (z - mu) / np.sqrt(var + 1e-5) + layer.beta
    assert_allclose(out, expected)


def test_batch_norm_running_statistics_use_unbiased_variance():
    rng = np.random.default_rng(1)
    layer = _batch_norm(3, momentum=0.8)
    z1, z2 = rng.normal(size=(10, 3)), rng.normal(2, 3, size=(10, 3))
    layer.forward(z1.copy())
    layer.forward(z2.copy())
    mean = 0.8 * (0.8 * 0 + 0.2 * z1.mean(0)) + 0.2 * z2.mean(0)
    var = 0.8 * (0.8 * 1 + 0.2 * z1.var(0, ddof=1)) + 0.2 * z2.var(0, ddof=1)
    assert_allclose(layer.running_mean, mean)
    assert_allclose(layer.running_var, var)


def _numeric_gradient(objective, array, step=1e-6):
    """Central differences of ``objective()`` with respect to ``array``."""
    gradient = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + step
        plus = objective()
        array[index] = original - step
        minus = objective()
        array[index] = original
        gradient[index] = (plus - minus) / (2 * step)
    return gradient


@pytest.mark.parametrize("activation", list(ACTIVATION_FORMULAS))
def test_batch_norm_with_activation_forward_matches_formula(activation):
    rng = np.random.default_rng(4)
    z = rng.normal(-1.0, 3.0, size=(33, 6))
    layer = _batch_norm(6, activation=activation)
    out = layer.forward(z.copy())
    z_norm = (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + 1e-5)
    expected = ACTIVATION_FORMULAS[activation](layer.gamma * z_norm + layer.beta)
    assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("activation", list(ACTIVATION_FORMULAS))
def test_batch_norm_float32_follows_float64(activation):
    rng = np.random.default_rng(5)
    z = rng.normal(2.0, 3.0, size=(64, 9))
    upstream = rng.normal(size=(64, 9))
    results = {}
    for dtype in (np.float32, np.float64):
        layer = _batch_norm(9, activation=activation, dtype=dtype)
        out = layer.forward(z.astype(dtype))
        dz = layer.backward(upstream.astype(dtype))
        assert out.dtype == dz.dtype == layer.gamma_grad.dtype == dtype
        results[dtype] = [out, dz, layer.gamma_grad, layer.beta_grad]
    for low, high in zip(results[np.float32], results[np.float64]):
        assert_allclose(low, high, rtol=1e-4, atol=1e-5)


def test_batch_norm_statistics_are_accurate_far_from_zero_in_float32():
    # sum(z**2) / n - mean**2 would lose every digit here in float32.
    rng = np.random.default_rng(6)
    z = rng.normal(1e4, 1.0, size=(256, 5))
    layer = _batch_norm(5, momentum=0.0, dtype=np.float32)
    layer.forward(z.astype(np.float32))
    z32 = z.astype(np.float32).astype(np.float64)
    assert_allclose(layer.running_mean, z32.mean(axis=0), rtol=1e-6)
    assert_allclose(layer.running_var, z32.var(axis=0, ddof=1), rtol=1e-3)


def test_batch_norm_relu_propagates_nan():
    # A non-finite batch must surface as a non-finite loss, never as zeros.
    z = np.ones((4, 3))
    z[1, 2] = np.nan
    out = _batch_norm(3, activation="relu").forward(z)
    assert np.isnan(out[:, 2]).all()
    assert np.isfinite(out[:, :2]).all()


@pytest.mark.parametrize("activation", list(ACTIVATION_FORMULAS))
def test_batch_norm_backward_matches_finite_differences(activation):
    rng = np.random.default_rng(2)
    z = rng.normal(size=(7, 4))
    upstream = rng.normal(size=(7, 4))
    layer = _batch_norm(4, activation=activation)

    def objective():
        return float(np.sum(layer.forward(z.copy()) * upstream))

    layer.forward(z.copy())
    dz = layer.backward(upstream.copy())
    assert_allclose(dz, _numeric_gradient(objective, z), rtol=1e-5, atol=1e-8)
    assert_allclose(
        layer.gamma_grad, _numeric_gradient(objective, layer.gamma), rtol=1e-5
    )
    assert_allclose(
        layer.beta_grad, _numeric_gradient(objective, layer.beta), rtol=1e-5
    )


def test_dense_backward_gradients():
    rng = np.random.default_rng(3)
    X, W, b = rng.normal(size=(5, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    layer = Dense(W, b)
    out = layer.forward(X)
    assert_allclose(out, X @ W + b)
    upstream = rng.normal(size=(5, 2))
    dX = layer.backward(upstream)
    assert_allclose(layer.weights_grad, X.T @ upstream)
    assert_allclose(layer.bias_grad, upstream.sum(axis=0))
    assert_allclose(dX, upstream @ W.T)
    assert layer.backward(upstream, input_grad=False) is None


def test_dense_input_grad_over_input_gives_the_same_gradients_in_its_buffer():
    rng = np.random.default_rng(4)
    X, W = rng.normal(size=(5, 3)), rng.normal(size=(3, 2))
    upstream = rng.normal(size=(5, 2))
    expected_dX = upstream @ W.T
    expected_dW = X.T @ upstream
    layer = Dense(W, input_grad_over_input=True)
    layer.forward(X)
    dX = layer.backward(upstream)
    assert dX is X
    assert_allclose(dX, expected_dX)
    # the weight gradient was taken from the input before it was overwritten
    assert_allclose(layer.weights_grad, expected_dW)


def test_batch_norm_reads_its_output_backward_only_for_tanh_and_logistic():
    reads = {
        name: _batch_norm(3, activation=name).backward_reads_output
        for name in ACTIVATION_FORMULAS
    }
    assert reads == {"identity": False, "relu": False, "tanh": True, "logistic": True}


def test_batch_norm_rejects_a_batch_of_one_row():
    # the batch variance of one row is undefined (and the kernel needs n >= 2)
    layer = _batch_norm(3)
    with pytest.raises(ValueError, match="at least 2 rows per batch; got 1"):
        layer.forward(np.ones((1, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", sorted(ACTIVATION_FORMULAS))
def test_bias_activation_matches_formula_and_finite_differences(activation, dtype):
    # Points away from relu's kink, where the derivative is undefined.
    z = np.linspace(-3.05, 3.05, 30).reshape(3, 10)
    bias = np.linspace(-0.5, 0.5, 10)
    upstream = np.random.default_rng(0).normal(size=z.shape)
    layer = BiasActivation(bias.astype(dtype), activation)

    out = layer.forward(z.astype(dtype))
    dz = layer.backward(upstream.astype(dtype))

    formula = ACTIVATION_FORMULAS[activation]
    step = 1e-6
    numeric = (formula(z + bias + step) - formula(z + bias - step)) / (2 * step)
    tolerance = 1e-5 if dtype == np.float32 else 1e-8
    assert out.dtype == dz.dtype == layer.bias_grad.dtype == dtype
    assert_allclose(out, formula(z + bias), rtol=tolerance, atol=tolerance)
    assert_allclose(dz, upstream * numeric, rtol=tolerance, atol=tolerance)
    assert_allclose(
        layer.bias_grad,
        (upstream * numeric).sum(axis=0),
        rtol=tolerance,
        atol=tolerance,
    )


def test_bias_activation_backward_keeps_nan():
    # A non-finite gradient must surface as a non-finite loss, never as zeros.
    layer = BiasActivation(np.zeros(2), "relu")
    layer.forward(np.array([[1.0, -1.0], [2.0, 3.0]]))
    dz = layer.backward(np.array([[np.nan, np.nan], [1.0, 1.0]]))
    assert np.isnan(dz[0]).all()
    assert np.isnan(layer.bias_grad).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_drops_a_share_of_the_units_and_scales_the_others(dtype):
    X = np.random.default_rng(0).uniform(1, 2, size=(400, 50)).astype(dtype)
    layer = Dropout(0.3)
    layer.rng = np.random.default_rng(1)
    out = layer.forward(X)
    kept = out != 0
    assert out.dtype == dtype
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    assert_allclose(out[kept], X[kept] / 0.7, rtol=1e-6)
    # backward sends the gradient through the same units, scaled alike
    dout = np.ones_like(X)
    assert_allclose(layer.backward(dout), np.where(kept, 1 / 0.7, 0), rtol=1e-6)
    # the input is left as it was, for the layer before's backward pass
    assert X.min() >= 1
