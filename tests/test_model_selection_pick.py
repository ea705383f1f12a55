"""How CoarseToFineSearchCV picks its best candidate and where it zooms:
``pick="neighbourhood"`` judges a candidate by the scores around it."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import BaseEstimator

from sknormnet.distributions import loguniform
from sknormnet.model_selection import CoarseToFineSearchCV

X_TINY = np.arange(24, dtype=float).reshape(12, 2)

GRID = [round(0.05 * i, 2) for i in range(21)]


class SpikeAndPlateau(BaseEstimator):
    """Ignores the data; scores 0.95 at ``x=0.1`` alone, 0.9 on the plateau
    ``x >= 0.6`` and 0.5 elsewhere."""

    def __init__(self, x=0.0):
        self.x = x

    def fit(self, X, y=None):
        return self

    def score(self, X, y=None):
        if self.x == 0.1:
            return 0.95
        return 0.9 if self.x >= 0.6 else 0.5


def _search(pick, **params):
    defaults = dict(n_iter=80, n_rounds=1, cv=2, random_state=0)
    return CoarseToFineSearchCV(
        SpikeAndPlateau(), {"x": GRID}, pick=pick, **{**defaults, **params}
    ).fit(X_TINY)


def test_best_picks_the_lucky_spike_and_neighbourhood_the_plateau():
    best = _search("best")
    assert best.best_params_ == {"x": 0.1}
    assert best.best_score_ == 0.95
    neighbourhood = _search("neighbourhood")
    assert neighbourhood.best_params_["x"] >= 0.6
    # best_score_ stays the mean CV score of the candidate picked
    results = neighbourhood.cv_results_
    assert (
        neighbourhood.best_score_
        == results["mean_test_score"][neighbourhood.best_index_]
    )
    assert neighbourhood.best_score_ == 0.9


def test_the_neighbourhood_score_is_a_gaussian_kernel_average_with_a_prior():
    search = _search("neighbourhood")
    results = search.cv_results_
    # the values are ordered numbers: each sits at its rank / 20
    position = np.array([GRID.index(p["x"]) / 20 for p in results["params"]])
    scores = results["mean_test_score"]
    weights = np.exp(-((position[:, None] - position[None, :]) ** 2) / (2 * 0.1**2))
    # the mean of all the scores counts as one more neighbour
    smoothed = (weights @ scores + scores.mean()) / (weights.sum(axis=1) + 1)
    expected = np.flatnonzero(smoothed == smoothed.max())
    assert search.best_index_ == expected[0]
    assert_allclose(
        smoothed[position == 0.1].max(), smoothed[expected[0]] - 0.3, atol=0.1
    )


def test_the_zoom_follows_the_pick():
    spike = GRID.index(0.1)
    plateau = [GRID.index(x) for x in GRID if x >= 0.6]
    kept = 0.25 / len(GRID)  # what a value none of the top candidates has keeps
    zoom = _search("neighbourhood", n_rounds=2, top_k=5).search_spaces_[1]["x"]
    assert_allclose(zoom.p[spike], kept)
    assert_allclose(zoom.p[plateau].sum(), 1 - kept * (len(GRID) - len(plateau)))
    zoom = _search("best", n_rounds=2, top_k=5).search_spaces_[1]["x"]
    assert zoom.p[spike] >= kept + 0.75 / 5  # at least one of the top 5


class Bowl(BaseEstimator):
    """Ignores the data; a smooth peak at ``lr=1e-2``."""

    def __init__(self, lr=1.0):
        self.lr = lr

    def fit(self, X, y=None):
        return self

    def score(self, X, y=None):
        return -((np.log10(self.lr) + 2) ** 2)


@pytest.mark.parametrize("pick", ["best", "neighbourhood"])
def test_both_picks_find_a_smooth_optimum(pick):
    search = CoarseToFineSearchCV(
        Bowl(),
        {"lr": loguniform(1e-6, 1.0)},
        n_iter=20,
        n_rounds=4,
        cv=2,
        random_state=0,
        pick=pick,
    ).fit(X_TINY)
    assert abs(np.log10(search.best_params_["lr"]) + 2) < 0.2


def test_an_unknown_pick_is_rejected():
    with pytest.raises(ValueError, match="pick"):
        _search("luckiest")
