"""Divergence is caught at any level and blamed on the call that caused it,
without false alarms on training that goes as it should."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy.stats import entropy
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning

from sknormnet import MLPBatchNormClassifier

SOLVERS = ["sgd", "momentum", "rmsprop", "adam"]
# Learning rates at which each solver trains the scaled digits well.
SENSIBLE_LEARNING_RATES = {"sgd": 0.1, "momentum": 0.2, "rmsprop": 1e-3, "adam": 1e-2}
DIVERGED = "no lower than"


def _fit_recording(model, X, y):
    """Fit; return the divergence warnings and the error, if any."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(X, y)
        except ValueError as error:
            return [], error
    return [w for w in caught if DIVERGED in str(w.message)], None


def _priors_loss(y):
    """The cross-entropy of predicting the class frequencies, in nats."""
    return entropy(np.unique(y, return_counts=True)[1])


# ---------------------------------------------- a fit that ends at chance


@pytest.mark.parametrize("seed", range(16))
def test_no_fit_ends_no_better_than_the_priors_in_silence(seed):
    # Unscaled features and learning_rate_init=1.0 without batch norm: each
    # fit either blows up (the error), or rises and falls back to a network
    # whose probabilities are those of a constant (the warning), or learns.
    X, y = load_wine(return_X_y=True)
    model = MLPBatchNormClassifier(
        learning_rate_init=1.0, batch_norm=False, random_state=seed
    )
    diverged, error = _fit_recording(model, X, y)
    if error is not None:
        assert "learning_rate_init=1.0" in str(error)
        return
    priors = _priors_loss(y)
    curve = np.asarray(model.loss_curve_)
    rose = curve.max() > 10 * max(model._initial_loss, priors)
    assert bool(diverged) == (rose and curve[-1] >= priors)
    if not diverged:
        assert curve[-1] < priors
        return
    (warning,) = diverged
    assert issubclass(warning.category, ConvergenceWarning)
    message = str(warning.message)
    assert message.startswith("learning_rate_init=1.0 made the training loss rise")
    assert f"no lower than the {priors:.3g} of predicting the class" in message
    assert "Lower learning_rate_init, scale the features" in message
    # the warning is no false alarm: the model predicts at chance
    assert model.score(X, y) < 0.5


def test_some_fits_of_that_setting_warn():
    X, y = load_wine(return_X_y=True)
    warned = 0
    for seed in range(16):
        model = MLPBatchNormClassifier(
            learning_rate_init=1.0, batch_norm=False, random_state=seed
        )
        warned += bool(_fit_recording(model, X, y)[0])
    assert warned >= 1


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("solver", SOLVERS)
def test_normal_training_never_warns_of_divergence(
    solver, batch_norm, early_stopping, digits
):
    X, y = digits
    model = MLPBatchNormClassifier(
        (32,),
        solver=solver,
        learning_rate_init=SENSIBLE_LEARNING_RATES[solver],
        batch_norm=batch_norm,
        early_stopping=early_stopping,
        max_iter=15,
        random_state=0,
    )
    diverged, error = _fit_recording(model, X, y)
    assert error is None
    assert diverged == []
    assert model.loss_curve_[-1] < _priors_loss(y)
    assert model.score(X, y) > 0.9


@pytest.mark.parametrize("max_iter", [1, 2])
@pytest.mark.parametrize("learning_rate_init", [1e-5, 1e-4])
def test_a_short_or_slow_fit_above_the_priors_is_not_divergence(
    learning_rate_init, max_iter, digits
):
    # Still above the priors' loss because it has barely begun: no warning.
    X, y = digits
    model = MLPBatchNormClassifier(
        (32,), learning_rate_init=learning_rate_init, max_iter=max_iter, random_state=0
    )
    diverged, error = _fit_recording(model, X, y)
    assert error is None and diverged == []
    assert model.loss_curve_[-1] > _priors_loss(y)


# -------------------------------------------- blame on the call that did it


@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("solver", SOLVERS)
def test_partial_fit_that_diverges_raises_itself_and_changes_nothing(
    solver, batch_norm, small_multiclass
):
    # One batch per call: the call's only update is its last, which no batch
    # of that call measures. The call at 1e6 must raise, not the next one.
    X, y = small_multiclass
    model = MLPBatchNormClassifier(
        (16,), solver=solver, batch_norm=batch_norm, random_state=0
    )
    model.partial_fit(X, y, classes=[0, 1, 2])
    params = model._network.params.copy()
    statistics = model._network.statistics.copy()
    curve = list(model.loss_curve_)
    model.set_params(learning_rate_init=1e6)
    with pytest.raises(
        ValueError, match=r"learning_rate_init=1000000\.0 .* at epoch 2 .*diverged"
    ):
        model.partial_fit(X, y)
    assert_array_equal(model._network.params, params)
    assert_array_equal(model._network.statistics, statistics)
    assert model.loss_curve_ == curve
    # the next call, at a sane learning rate, trains from the weights of before
    model.set_params(learning_rate_init=1e-3)
    model.partial_fit(X, y)
    assert model.loss_curve_[-1] < 2 * curve[-1]


def test_the_first_partial_fit_call_that_diverges_raises_too(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((16,), learning_rate_init=1e6, random_state=0)
    with pytest.raises(ValueError, match=r"learning_rate_init=1000000\.0 .*epoch 1"):
        model.partial_fit(X, y, classes=[0, 1, 2])
    assert np.isfinite(model._network.params).all()


@pytest.mark.parametrize("batch_norm", [True, False])
def test_a_fit_whose_last_update_diverges_raises(batch_norm, small_multiclass):
    # One batch per epoch and a single epoch: the error names this fit.
    X, y = small_multiclass
    model = MLPBatchNormClassifier(
        (16,), batch_norm=batch_norm, learning_rate_init=1e6, max_iter=1
    )
    with pytest.raises(ValueError, match=r"learning_rate_init=1000000\.0 .*epoch 1"):
        model.fit(X, y)
