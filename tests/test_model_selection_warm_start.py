"""Extending a fitted CoarseToFineSearchCV with warm_start and more rounds."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator

from sknormnet.distributions import loguniform
from sknormnet.model_selection import CoarseToFineSearchCV

X_TINY = np.arange(24, dtype=float).reshape(12, 2)


class Counted(BaseEstimator):
    """Ignores the data; its score peaks at ``lr=1e-2``; counts its fits."""

    n_fits = 0

    def __init__(self, lr=1.0, max_iter=9, warm_start=False):
        self.lr = lr
        self.max_iter = max_iter
        self.warm_start = warm_start

    def fit(self, X, y=None):
        type(self).n_fits += 1
        self.epochs_ = self.max_iter + (
            self.epochs_ if self.warm_start and hasattr(self, "epochs_") else 0
        )
        return self

    def score(self, X, y=None):
        return -abs(np.log10(self.lr) + 2) - 1.0 / self.epochs_


SPACE = {"lr": loguniform(1e-6, 1.0)}


def _search(**params):
    defaults = dict(n_iter=5, n_rounds=2, cv=3, random_state=0, pick="best")
    return CoarseToFineSearchCV(Counted(), SPACE, **{**defaults, **params})


@pytest.mark.parametrize("resource", [None, "max_iter"])
def test_more_rounds_continue_the_search(resource):
    search = _search(warm_start=True, resource=resource).fit(X_TINY)
    before = {key: np.copy(value) for key, value in search.cv_results_.items()}
    n_rows = len(before["params"])

    Counted.n_fits = 0
    search.set_params(n_rounds=4).fit(X_TINY)
    results = search.cv_results_
    per_round = n_rows // 2
    # only the rows of the two new rounds were fitted, on each of the 3 splits,
    # and the best is refitted once
    assert Counted.n_fits == 2 * per_round * 3 + 1
    assert_array_equal(results["round"], np.repeat([0, 1, 2, 3], per_round))
    for key, value in before.items():
        if key.startswith("rank_"):
            continue  # ranks are over all the rows
        assert_array_equal(results[key][:n_rows], value, err_msg=key)
    assert search.n_rounds_ == 4
    assert len(search.search_spaces_) == 4
    # best_* covers all the rounds
    full = results["n_resources"] == 9 if resource else np.ones(4 * per_round, bool)
    assert search.best_score_ == results["mean_test_score"][full].max()

    # the same as running the four rounds at once
    straight = _search(n_rounds=4, resource=resource).fit(X_TINY)
    assert straight.cv_results_["params"] == results["params"]
    assert_array_equal(
        straight.cv_results_["mean_test_score"], results["mean_test_score"]
    )


def test_without_warm_start_a_new_fit_starts_over():
    search = _search().fit(X_TINY)
    first = search.cv_results_["params"]
    search.set_params(n_rounds=3).fit(X_TINY)
    assert search.cv_results_["params"][: len(first)] == first
    assert len(search.cv_results_["params"]) == 3 * 5
    assert search.n_rounds_ == 3


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda s, X: (s, X + 1), "the data changed"),
        (
            lambda s, X: (s.set_params(param_distributions={"lr": [0.1]}), X),
            "param_distributions changed",
        ),
        (lambda s, X: (s.set_params(cv=4), X), "cv changed"),
        (lambda s, X: (s.set_params(estimator=Counted(max_iter=3)), X), "estimator"),
    ],
)
def test_continuing_on_other_data_or_another_space_is_an_error(change, match):
    search = _search(warm_start=True).fit(X_TINY)
    rows = list(search.cv_results_["params"])
    search, X = change(search.set_params(n_rounds=3), X_TINY)
    with pytest.raises(ValueError, match=match + ".*warm_start=False"):
        search.fit(X)
    # the fitted search is left as it was
    assert search.cv_results_["params"] == rows
    assert search.n_rounds_ == 2


def test_warm_start_without_more_rounds_warns_and_keeps_the_search():
    search = _search(warm_start=True).fit(X_TINY)
    rows = list(search.cv_results_["params"])
    Counted.n_fits = 0
    with pytest.warns(UserWarning, match="already ran 2 rounds; raise n_rounds"):
        search.fit(X_TINY)
    assert Counted.n_fits == 0
    assert search.cv_results_["params"] == rows
