"""The compiled softmax/cross-entropy and penalty kernels of the network."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import log_softmax, softmax

from sknormnet._network import _add_scaled, _softmax_cross_entropy


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


def test_add_scaled_updates_in_place():
    rng = np.random.default_rng(1)
    target, source = rng.normal(size=40), rng.normal(size=40)
    expected = target + 0.25 * source
    view = target[:30]
    _add_scaled(view, source[:30], 0.25)
    assert_allclose(target[:30], expected[:30])
    assert_allclose(target[30:], expected[30:] - 0.25 * source[30:])
