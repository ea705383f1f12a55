import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
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
        learning_rate="inverse_time",
        decay_rate=0.5,
        max_iter=6,
        n_iter_no_change=50,
        random_state=0,
    )
    with pytest.warns(Warning):
        pipeline = make_pipeline(StandardScaler(), model).fit(X, y)
    loss_ax, score_ax, rate_ax = plot_learning_curves(pipeline)
    labels = [line.get_label() for line in loss_ax.get_lines()]
    assert labels == [
        "training loss",
        "validation loss",
        f"best epoch ({model.best_epoch_})",
    ]
    np.testing.assert_allclose(loss_ax.get_lines()[0].get_ydata(), model.loss_curve_)
    np.testing.assert_allclose(
        score_ax.get_lines()[0].get_ydata(), model.validation_scores_
    )
    np.testing.assert_allclose(
        rate_ax.get_lines()[0].get_ydata(), model.learning_rate_curve_
    )
    assert rate_ax.get_yscale() == "log"
    assert rate_ax.get_title() == "Learning rate"
    # the monitored score is named: the negative log-loss by default
    assert score_ax.get_title() == "Validation negative log-loss"
    assert score_ax.get_ylabel() == "negative log-loss"
    np.testing.assert_allclose(
        score_ax.get_lines()[0].get_ydata(), -np.asarray(model.validation_loss_curve_)
    )
    # the best epoch is marked and named in both panels, counted from 1
    best = f"best epoch ({model.best_epoch_})"
    for ax in (loss_ax, score_ax):
        assert best in [t.get_text() for t in ax.get_legend().get_texts()]
        (line,) = [line for line in ax.get_lines() if line.get_label() == best]
        assert list(line.get_xdata()) == [model.best_epoch_] * 2


def _ticks(ax):
    ax.figure.canvas.draw()
    low, high = ax.get_xlim()
    return [tick for tick in ax.get_xticks() if low <= tick <= high]


@pytest.mark.parametrize("max_iter", [3, 7, 40])
def test_epochs_are_ticked_at_whole_numbers(small_multiclass, max_iter):
    X, y = small_multiclass
    model = MLPBatchNormClassifier(
        (4,), max_iter=max_iter, early_stopping=True, n_iter_no_change=100
    )
    with pytest.warns(Warning):  # max_iter reached
        model.fit(X, y)
    for ax in plot_learning_curves(model):
        ticks = _ticks(ax)
        assert ticks and all(float(t).is_integer() for t in ticks), ax.get_title()
        assert ax.get_xlim() == (0.5, len(model.loss_curve_) + 0.5)


def test_a_constant_learning_rate_has_no_panel_but_the_losses_title(
    small_multiclass,
):
    X, y = small_multiclass
    model = MLPBatchNormClassifier(
        (4,), max_iter=4, learning_rate_init=0.02, scoring="accuracy"
    )
    with pytest.warns(Warning):
        model.fit(X, y)
    axes = plot_learning_curves(model)
    assert len(axes) == 2
    assert axes[0].figure.get_axes() == axes
    loss_ax, score_ax = axes
    assert loss_ax.get_title() == "Loss (constant learning rate 0.02)"
    # without early stopping there is no validation score to show
    assert score_ax.get_lines() == []
    assert "no validation data" in score_ax.texts[0].get_text()


def test_a_changing_learning_rate_has_its_panel(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier(
        (4,), max_iter=4, learning_rate="exponential", decay_rate=0.5
    )
    with pytest.warns(Warning):
        model.fit(X, y)
    axes = plot_learning_curves(model)
    assert len(axes) == 3
    assert axes[0].figure.get_axes() == axes
    assert axes[0].get_title() == "Loss"
    np.testing.assert_allclose(
        axes[2].get_lines()[0].get_ydata(), model.learning_rate_curve_
    )


@pytest.mark.parametrize("constant", [True, False])
def test_given_axes_are_drawn_on_as_needed(small_multiclass, constant):
    X, y = small_multiclass
    schedule = {} if constant else {"learning_rate": "inverse_time", "decay_rate": 1}
    model = MLPBatchNormClassifier((4,), max_iter=4, **schedule)
    with pytest.warns(Warning):
        model.fit(X, y)
    fig, given = plt.subplots(1, 3)
    drawn = plot_learning_curves(model, ax=given)
    assert drawn == list(given[: 2 if constant else 3])
    # a third axes given for a constant rate is left as it was
    assert given[2].has_data() is not constant
    plt.close(fig)


def test_two_axes_for_a_changing_rate_are_refused(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier(
        (4,), max_iter=3, learning_rate="inverse_time", decay_rate=1
    )
    with pytest.warns(Warning):
        model.fit(X, y)
    fig, given = plt.subplots(1, 2)
    with pytest.raises(
        ValueError,
        match=r"^the learning rate of this MLPBatchNormClassifier changed during training, and its "
        r"panel needs a third axes: pass 3 axes as ax, or ax=None$",
    ):
        plot_learning_curves(model, ax=given)
    plt.close(fig)


def test_the_validation_panel_names_the_scoring(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier(
        (4,), max_iter=5, early_stopping=True, scoring="balanced_accuracy"
    )
    with pytest.warns(Warning):
        model.fit(X, y)
    _, score_ax = plot_learning_curves(model)
    assert score_ax.get_title() == "Validation balanced_accuracy"
    assert score_ax.get_ylabel() == "balanced_accuracy"
    labels = [t.get_text() for t in score_ax.get_legend().get_texts()]
    assert labels[0] == "validation balanced_accuracy"


def test_plot_learning_curves_without_validation(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((4,)).partial_fit(X, y, classes=[0, 1, 2])
    loss_ax, score_ax = plot_learning_curves(model)
    assert len(loss_ax.get_lines()) == 1
    assert score_ax.get_lines() == []


def test_plot_learning_curves_requires_a_fitted_model():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        plot_learning_curves(MLPBatchNormClassifier())


@pytest.mark.parametrize("pipeline", [False, True])
def test_an_unfitted_model_is_said_to_be_unfitted(pipeline):
    model = MLPBatchNormClassifier()
    if pipeline:
        model = make_pipeline(StandardScaler(), model)
    with pytest.raises(
        NotFittedError,
        match=r"^plot_learning_curves draws the histories of a fitted model, and "
        r"this MLPBatchNormClassifier is not fitted yet: call fit",
    ):
        plot_learning_curves(model)


@pytest.mark.parametrize(
    "other",
    [LogisticRegression(), MLPClassifier((4,), max_iter=3)],
    ids=["LogisticRegression", "MLPClassifier"],
)
def test_a_fitted_estimator_without_the_histories_is_said_so(other, digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        other.fit(X, y)
    with pytest.raises(
        ValueError,
        match=rf"per-epoch histories of an MLPBatchNormClassifier .*this fitted "
        rf"{type(other).__name__} does not have",
    ):
        plot_learning_curves(other)


def test_a_model_without_a_whole_epoch_is_said_to_have_no_history():
    # its first epoch diverged: the model keeps its initial weights, no epoch
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = np.arange(40) % 2
    model = MLPBatchNormClassifier((4,), learning_rate_init=1e6, random_state=0)
    with pytest.raises(ValueError, match="diverged"):
        model.fit(X, y)
    with pytest.raises(
        ValueError, match=r"has no history to draw: it trained no whole epoch"
    ):
        plot_learning_curves(model)
