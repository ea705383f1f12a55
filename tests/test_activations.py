import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import expit
from scipy.special import log_softmax as scipy_log_softmax
from scipy.special import softmax as scipy_softmax

from sknormnet._activations import (
    ACTIVATION_CODES,
    ACTIVATIONS,
    add_bias_and_activate,
    finish_activation,
    kernel_activation,
    log_softmax,
    softmax,
)

REFERENCE_ACTIVATIONS = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "logistic": lambda z: 1 / (1 + np.exp(-z)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_formula(name):
    z = np.linspace(-4, 4, 41).reshape(-1, 1)
    assert_allclose(ACTIVATIONS[name](z.copy()), REFERENCE_ACTIVATIONS[name](z))


def test_softmax_matches_scipy_and_handles_huge_logits():
    z = np.random.default_rng(0).normal(scale=30, size=(20, 5))
    z[0] = [1e4, -1e4, 0, 1e4, 5]
    assert_allclose(softmax(z.copy()), scipy_softmax(z, axis=1))
    assert np.all(np.isfinite(softmax(z.copy())))


def test_log_softmax_is_finite_and_matches_scipy():
    z = np.random.default_rng(1).normal(scale=50, size=(20, 4))
    z[0] = [1e300, -1e300, 0.0, 3.0]
    result = log_softmax(z.copy())
    assert np.all(np.isfinite(result))
    assert_allclose(result, scipy_log_softmax(z, axis=1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_keeps_dtype(dtype):
    z = np.ones((3, 4), dtype=dtype)
    assert softmax(z).dtype == dtype
    assert log_softmax(z).dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_add_bias_and_activate_matches_formula(name, dtype):
    rng = np.random.default_rng(2)
    z = rng.normal(scale=3, size=(30, 6)).astype(dtype)
    bias = rng.normal(size=6).astype(dtype)
    expected = REFERENCE_ACTIVATIONS[name](z.astype(np.float64) + bias)
    result = add_bias_and_activate(z, bias, name)
    assert result is z and result.dtype == dtype
    tolerance = 1e-6 if dtype == np.float32 else 1e-14
    assert_allclose(result, expected, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logistic_matches_expit_at_the_extremes_without_warnings(dtype):
    z = np.array([[-1e4, -800.0, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4, np.nan]])
    expected = expit(z).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = ACTIVATIONS["logistic"](z.astype(dtype))
    assert result.dtype == dtype
    # Subnormal results may flush to 0: off by less than the smallest normal.
    rtol = 1e-6 if dtype == np.float32 else 1e-15
    assert_allclose(result, expected, rtol=rtol, atol=np.finfo(dtype).tiny)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_kernel_activation_and_finish_make_the_activation(name):
    # Whatever a kernel leaves out, finish_activation adds.
    rng = np.random.default_rng(3)
    z = rng.normal(scale=3, size=(20, 5))
    partial = z.copy()
    if kernel_activation(name) == ACTIVATION_CODES["relu"]:
        partial = np.maximum(partial, 0)
    assert_allclose(finish_activation(partial, name), REFERENCE_ACTIVATIONS[name](z))
