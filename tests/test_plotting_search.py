import sys

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib import ticker
from numpy.testing import assert_allclose
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import RandomizedSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state

from sknormnet.distributions import (
    layer_sizes,
    loguniform,
    loguniform_int,
    one_minus_loguniform,
)
from sknormnet.model_selection import CoarseToFineSearchCV
from sknormnet.plotting import _import_pyplot, plot_search

matplotlib.use("Agg")

X_TINY = np.arange(16, dtype=float).reshape(8, 2)


class Bowl(BaseEstimator):
    """Ignores the data; scores best at lr=1e-2, beta=0.99, 64 units, tanh, u=3."""

    def __init__(self, lr=1.0, beta=0.5, batch_size=32, act="relu", sizes=(1,), u=0.0):
        self.lr = lr
        self.beta = beta
        self.batch_size = batch_size
        self.act = act
        self.sizes = sizes
        self.u = u

    def fit(self, X, y=None):
        return self

    def score(self, X, y=None):
        return -(
            (np.log10(self.lr) + 2) ** 2
            + (np.log10(1 - self.beta) + 2) ** 2
            + (self.act != "tanh")
            + np.mean(np.abs(np.log2(self.sizes) - 6))
            + (self.u - 3) ** 2 / 10
        )


SPACE = {
    "lr": loguniform(1e-5, 1.0),
    "beta": one_minus_loguniform(0.9, 0.9999),
    "batch_size": [16, 32, 64, 128, 256],
    "act": ["relu", "tanh", "logistic"],
    "sizes": layer_sizes([1, 2, 3], loguniform_int(8, 512)),
    "u": stats.uniform(0, 10),
}


@pytest.fixture(scope="module")
def search():
    return CoarseToFineSearchCV(
        Bowl(), SPACE, n_iter=12, n_rounds=3, top_k=4, cv=2, random_state=0
    ).fit(X_TINY)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _by_label(axes):
    return {ax.get_xlabel(): ax for ax in axes}


def test_each_parameter_is_drawn_on_its_natural_scale(search):
    fig, axes = plot_search(search)
    assert isinstance(fig, matplotlib.figure.Figure)
    panels = _by_label(axes)
    assert set(panels) == {
        "lr",
        "1 - beta",
        "batch_size",
        "act",
        "sizes: number of layers",
        "sizes: mean units per layer",
        "u",
    }
    for label in ("lr", "1 - beta", "batch_size", "sizes: mean units per layer"):
        assert panels[label].get_xscale() == "log", label
    for label in ("act", "u", "sizes: number of layers"):
        assert panels[label].get_xscale() == "linear", label
    assert [t.get_text() for t in panels["act"].get_xticklabels()] == [
        "relu",
        "tanh",
        "logistic",
    ]
    assert axes[0].get_ylabel() == "mean CV score"


def test_points_are_coloured_by_round_and_placed_at_the_values(search):
    _, axes = plot_search(search, params=["lr", "beta"])
    results = search.cv_results_
    for ax, transform in zip(axes, [lambda v: v, lambda v: 1 - v]):
        rounds = [c for c in ax.collections if c.get_label().startswith("round")]
        assert [c.get_label() for c in rounds] == ["round 0", "round 1", "round 2"]
        colours = {tuple(c.get_facecolor()[0]) for c in rounds}
        assert len(colours) == 3
        name = "lr" if ax.get_xlabel() == "lr" else "beta"
        for r, collection in enumerate(rounds):
            mask = results["round"] == r
            values = [p[name] for p in np.asarray(results["params"])[mask]]
            offsets = collection.get_offsets()
            assert_allclose(offsets[:, 0], transform(np.asarray(values)))
            assert_allclose(offsets[:, 1], results["mean_test_score"][mask])
        best = [c for c in ax.collections if c.get_label() == "best"]
        assert len(best) == 1


def test_the_zoom_is_shaded_round_by_round(search):
    _, axes = plot_search(search, params=["lr"])
    spans = [p for p in axes[0].patches]
    assert len(spans) == 3
    for patch, space in zip(spans, search.search_spaces_):
        xs = patch.get_patch_transform().transform(patch.get_path().vertices)[:, 0]
        assert_allclose([xs.min(), xs.max()], space["lr"].support(), rtol=1e-9)


def test_draws_into_given_axes_and_checks_their_number(search):
    fig, given = plt.subplots(1, 2)
    returned_fig, axes = plot_search(search, params=["u", "act"], axes=given)
    assert returned_fig is fig
    assert list(axes) == list(given)
    with pytest.raises(ValueError, match="one Axes per panel"):
        plot_search(search, params=["u", "act", "lr"], axes=given)


def test_unknown_parameters_and_metrics_are_rejected(search):
    with pytest.raises(ValueError, match=r"params=\['momentum'\] were not tuned"):
        plot_search(search, params=["momentum"])
    with pytest.raises(ValueError, match="metric='accuracy' is not one of"):
        plot_search(search, metric="accuracy")


def _near(estimator, X, y=None):
    return -abs(np.log10(estimator.lr) + 2)


def _far(estimator, X, y=None):
    return -abs(np.log10(estimator.lr) + 4)


def test_multimetric_uses_the_refit_metric_or_asks_for_one():
    search = CoarseToFineSearchCV(
        Bowl(),
        {"lr": loguniform(1e-5, 1.0)},
        n_iter=5,
        n_rounds=2,
        cv=2,
        scoring={"near": _near, "far": _far},
        refit="far",
        random_state=0,
    ).fit(X_TINY)
    _, axes = plot_search(search)
    assert axes[0].get_ylabel() == "mean CV far"
    search.set_params(refit=False, n_rounds=1).fit(X_TINY)
    with pytest.raises(ValueError, match="pass metric="):
        plot_search(search)
    _, axes = plot_search(search, metric="near")
    assert axes[0].get_ylabel() == "mean CV near"


def test_plots_a_randomized_search_as_one_round():
    search = RandomizedSearchCV(
        Bowl(), {"lr": loguniform(1e-5, 1.0)}, n_iter=5, cv=2, random_state=0
    ).fit(X_TINY)
    _, axes = plot_search(search)
    assert axes[0].get_xscale() == "log"
    labels = [c.get_label() for c in axes[0].collections]
    assert labels == ["round 0", "best"]


def test_missing_matplotlib_is_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        _import_pyplot()


def test_ticks_stay_readable(search):
    fig, axes = plot_search(search)
    fig.canvas.draw()
    panels = _by_label(axes)
    # widths are integers: plain labels at powers of two, no minor labels
    widths = panels["sizes: mean units per layer"]
    labels = [t.get_text() for t in widths.get_xticklabels() if t.get_text()]
    assert labels and all(label.isdigit() for label in labels)
    assert {int(label) for label in labels} <= {2**k for k in range(12)}
    assert isinstance(widths.xaxis.get_minor_locator(), ticker.NullLocator)
    # a continuous log axis over decades labels the decades only
    assert isinstance(panels["lr"].xaxis.get_minor_formatter(), ticker.NullFormatter)
    # a category axis keeps its categories, with room for the rounds around them
    assert panels["act"].get_xlim() == (-0.5, 2.5)
    assert panels["sizes: number of layers"].get_xlim()[0] == -0.5


@pytest.mark.parametrize("step", ["ridge", "standardized_ridge_classifier"])
def test_labels_drop_the_step_prefix_and_name_the_metric(step):
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20) % 2
    pipeline = Pipeline([(step, RidgeClassifier())])
    search = CoarseToFineSearchCV(
        pipeline,
        {f"{step}__alpha": loguniform(1e-3, 1e3)},
        n_iter=2,
        cv=2,
        scoring="balanced_accuracy",
    ).fit(X, y)
    _, axes = plot_search(search)
    assert axes[0].get_xlabel() == "alpha"
    assert axes[0].get_ylabel() == "mean CV balanced_accuracy"


def _renamed(search, names):
    """The fitted ``search`` with its parameters renamed by ``names``."""
    search.cv_results_ = dict(search.cv_results_)
    search.cv_results_["params"] = [
        {names[k]: v for k, v in p.items()} for p in search.cv_results_["params"]
    ]
    search.search_spaces_ = [
        {names[k]: v for k, v in space.items()} for space in search.search_spaces_
    ]
    return search


def test_labels_keep_the_prefix_when_two_steps_share_a_parameter():
    search = CoarseToFineSearchCV(
        Bowl(),
        {"lr": loguniform(1e-5, 1.0), "u": stats.uniform(0, 10)},
        n_iter=3,
        cv=2,
        random_state=0,
    ).fit(X_TINY)
    _renamed(search, {"lr": "a__x", "u": "b__x"})
    _, axes = plot_search(search)
    assert [ax.get_xlabel() for ax in axes] == ["a__x", "b__x"]


def test_long_labels_break_after_the_parameter_name():
    search = CoarseToFineSearchCV(
        Bowl(),
        {"sizes": layer_sizes([1, 2], loguniform_int(8, 512))},
        n_iter=4,
        cv=2,
        random_state=0,
    ).fit(X_TINY)
    _renamed(search, {"sizes": "mlp__hidden_layer_sizes"})
    _, axes = plot_search(search)
    assert [ax.get_xlabel() for ax in axes] == [
        "hidden_layer_sizes:\nnumber of layers",
        "hidden_layer_sizes:\nmean units per layer",
    ]


def test_the_legend_names_the_rounds_ranges_and_stays_off_the_panels(search):
    fig, axes = plot_search(search)
    assert [ax.get_legend() for ax in axes] == [None] * len(axes)
    (legend,) = fig.legends
    texts = [text.get_text() for text in legend.get_texts()]
    assert texts == [
        "round 0",
        "round 0: range sampled",
        "round 1",
        "round 1: range sampled",
        "round 2",
        "round 2: range sampled",
        "best",
    ]
    fig.canvas.draw()
    box = legend.get_window_extent()
    for ax in axes:
        assert not box.overlaps(ax.get_window_extent()), ax.get_xlabel()


def test_the_legend_of_given_axes_is_in_the_first(search):
    fig, grid = plt.subplots(3, 3)
    _, axes = plot_search(search, axes=grid)
    assert not fig.legends
    texts = [text.get_text() for text in axes[0].get_legend().get_texts()]
    assert "round 1: range sampled" in texts and texts[-1] == "best"


class OneMinusUniform:
    """A distribution of this test's own: uniform, plotted as ``1 - x``."""

    def rvs(self, size=None, random_state=None):
        return check_random_state(random_state).uniform(0.9, 0.999, size=size)

    def support(self):
        return 0.9, 0.999

    def narrow(self, values):
        return self

    def axis_scale(self):
        return "one_minus"

    def describe(self):
        return "0.9..0.999"


def test_each_distribution_chooses_its_axis():
    search = RandomizedSearchCV(
        Bowl(),
        {
            "lr": stats.loguniform(1e-5, 1.0),
            "beta": OneMinusUniform(),
            "batch_size": [16, 32, 64],
        },
        n_iter=6,
        cv=2,
        random_state=0,
    ).fit(X_TINY)
    _, axes = plot_search(search)
    panels = _by_label(axes)
    assert panels["lr"].get_xscale() == "log"  # scipy's loguniform
    assert panels["1 - beta"].get_xscale() == "log"
    (span,) = panels["1 - beta"].patches
    xs = span.get_patch_transform().transform(span.get_path().vertices)[:, 0]
    assert_allclose([xs.min(), xs.max()], [0.001, 0.1])
    # a list of numbers spanning less than a factor of 8: linear, one tick each
    assert panels["batch_size"].get_xscale() == "linear"
    assert_allclose(panels["batch_size"].get_xticks(), [16, 32, 64])
    assert len(panels["batch_size"].patches) == 0


def test_integer_parameters_are_ticked_at_powers_of_two():
    search = CoarseToFineSearchCV(
        Bowl(),
        {"batch_size": loguniform_int(8, 512), "lr": loguniform(1e-5, 1.0)},
        n_iter=8,
        n_rounds=2,
        cv=2,
        random_state=0,
    ).fit(X_TINY)
    fig, axes = plot_search(search)
    fig.canvas.draw()
    panels = _by_label(axes)
    labels = [t.get_text() for t in panels["batch_size"].get_xticklabels()]
    labels = [label for label in labels if label]
    assert labels and {int(label) for label in labels} <= {2**k for k in range(12)}
    assert isinstance(panels["lr"].xaxis.get_major_locator(), ticker.LogLocator)
    assert not isinstance(panels["lr"].xaxis.get_minor_locator(), ticker.NullLocator)
