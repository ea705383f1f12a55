import matplotlib
import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknormnet import MLPBatchNormClassifier
from sknormnet.plotting import plot_learning_curves

matplotlib.use("Agg")


def test_plot_learning_curves_draws_every_history(digits):
    X, y = digits
    model = MLPBatchNormClassifier(
        (8,),
        early_stopping=True,
        learning_rate_init=0.05,
        decay_rate=0.5,
        max_iter=6,
        n_iter_no_change=50,
        random_state=0,
    )
    with pytest.warns(Warning):
        pipeline = make_pipeline(StandardScaler(), model).fit(X, y)
    loss_ax, score_ax, rate_ax = plot_learning_curves(pipeline)
    labels = [line.get_label() for line in loss_ax.get_lines()]
    assert labels == ["training loss", "validation loss"]
    np.testing.assert_allclose(loss_ax.get_lines()[0].get_ydata(), model.loss_curve_)
    np.testing.assert_allclose(
        score_ax.get_lines()[0].get_ydata(), model.validation_scores_
    )
    np.testing.assert_allclose(
        rate_ax.get_lines()[0].get_ydata(), model.learning_rate_curve_
    )
    assert rate_ax.get_yscale() == "log"


def test_plot_learning_curves_without_validation(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((4,)).partial_fit(X, y, classes=[0, 1, 2])
    loss_ax, score_ax, _ = plot_learning_curves(model)
    assert len(loss_ax.get_lines()) == 1
    assert score_ax.get_lines() == []


def test_plot_learning_curves_requires_a_fitted_model():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        plot_learning_curves(MLPBatchNormClassifier())
