import itertools
import os
import pickle
import re
import signal
import threading
import warnings

import numpy as np
import pytest
from joblib import cpu_count, parallel_config
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import (
    KFold,
    ParameterSampler,
    ShuffleSplit,
    StratifiedKFold,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sknormnet import MLPBatchNormClassifier
from sknormnet.distributions import (
    as_distribution,
    categorical,
    layer_sizes,
    loguniform,
    loguniform_int,
    one_minus_loguniform,
    quantile_window,
)
from sknormnet.model_selection import CoarseToFineSearchCV, tuning_space

X_TINY = np.arange(24, dtype=float).reshape(12, 2)

OPTIMUM = {"lr": 1e-2, "beta": 0.99, "units": 64, "act": "tanh", "shift": 3.0}


class Peak(BaseEstimator):
    """Ignores the data; its score peaks at ``OPTIMUM``, on each sampling scale."""

    def __init__(self, lr=1.0, beta=0.5, units=1, act="relu", shift=0.0):
        self.lr = lr
        self.beta = beta
        self.units = units
        self.act = act
        self.shift = shift

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def score(self, X, y=None):
        return -(
            (np.log10(self.lr) + 2) ** 2
            + (np.log10(1 - self.beta) + 2) ** 2
            + (np.log2(self.units) - 6) ** 2 / 4
            + 4 * (self.act != "tanh")
            + (self.shift - 3) ** 2 / 4
        )


PEAK_SPACE = {
    "lr": loguniform(1e-6, 1.0),
    "beta": one_minus_loguniform(0.5, 0.9999),
    "units": loguniform_int(1, 1024),
    "act": ["relu", "tanh", "logistic", "identity"],
    "shift": stats.uniform(0, 10),
}


def _sampling_scale(name, values):
    values = np.asarray(values, dtype=float)
    if name == "beta":
        return np.log10(1 - values)
    if name in ("lr", "units"):
        return np.log10(values)
    return values


def _inside(entry, value):
    if isinstance(entry, layer_sizes):
        (low, high) = entry.support()
        return len(low) <= len(value) <= len(high) and all(
            low[0] <= v <= high[0] for v in value
        )
    if isinstance(entry, categorical):
        return value in entry.values
    if not hasattr(entry, "rvs"):
        return value in entry
    low, high = entry.support()
    return low <= value <= high


@pytest.fixture(scope="module")
def peak_search():
    return CoarseToFineSearchCV(
        Peak(),
        PEAK_SPACE,
        n_iter=25,
        n_rounds=4,
        top_k=5,
        cv=2,
        random_state=0,
    ).fit(X_TINY)


def test_round_column_and_spaces(peak_search):
    results = peak_search.cv_results_
    assert_array_equal(results["round"], np.repeat([0, 1, 2, 3], 25))
    assert peak_search.n_rounds_ == 4
    assert peak_search.n_candidates_ == [25] * 4
    assert len(peak_search.search_spaces_) == 4
    assert peak_search.search_spaces_[0] == PEAK_SPACE
    assert isinstance(peak_search.search_spaces_[1]["act"], categorical)
    assert isinstance(peak_search.search_spaces_[1]["shift"], quantile_window)
    best = np.argmax(results["mean_test_score"])
    assert peak_search.best_index_ == best
    assert peak_search.best_params_ == results["params"][best]


def test_every_candidate_lies_inside_its_round_space(peak_search):
    results = peak_search.cv_results_
    for params, round_ in zip(results["params"], results["round"]):
        space = peak_search.search_spaces_[round_]
        for name, value in params.items():
            assert _inside(space[name], value), (round_, name, value)


@pytest.mark.parametrize("name", ["lr", "beta", "units", "shift"])
def test_numeric_spaces_shrink_and_keep_the_optimum(peak_search, name):
    spaces = peak_search.search_spaces_
    widths = [np.ptp(_sampling_scale(name, s[name].support())) for s in spaces]
    assert all(later <= earlier for earlier, later in itertools.pairwise(widths))
    assert widths[-1] < 0.5 * widths[0]
    original_low, original_high = spaces[0][name].support()
    for space in spaces[1:]:
        low, high = space[name].support()
        assert original_low <= low <= OPTIMUM[name] <= high <= original_high


@pytest.mark.parametrize("name", ["lr", "beta", "units", "shift"])
def test_later_rounds_concentrate_near_the_optimum(peak_search, name):
    results = peak_search.cv_results_
    values = [params[name] for params in results["params"]]
    distance = np.abs(
        _sampling_scale(name, values) - _sampling_scale(name, [OPTIMUM[name]])
    )
    first = np.median(distance[results["round"] == 0])
    last = np.median(distance[results["round"] == 3])
    assert last < 0.5 * first
    best = peak_search.best_params_[name]
    assert abs(_sampling_scale(name, [best]) - _sampling_scale(name, [OPTIMUM[name]]))[
        0
    ] < 0.25 * np.ptp(_sampling_scale(name, PEAK_SPACE[name].support()))


def test_lists_are_reweighted_and_every_value_keeps_a_chance(peak_search):
    results = peak_search.cv_results_
    final = peak_search.search_spaces_[-1]["act"]
    assert final.values == PEAK_SPACE["act"]
    assert np.all(final.p > 0)
    assert final.values[int(np.argmax(final.p))] == "tanh"
    share = [
        np.mean(
            [
                p["act"] == "tanh"
                for p, r in zip(results["params"], results["round"])
                if r == k
            ]
        )
        for k in (0, 3)
    ]
    assert share[1] > share[0]
    # a list is still sampled from all its values after zooming
    draws = final.rvs(size=4000, random_state=0)
    assert set(draws.tolist()) == set(PEAK_SPACE["act"])


def test_scipy_distributions_zoom_on_their_quantiles():
    search = CoarseToFineSearchCV(
        Peak(),
        {"shift": stats.norm(5, 3), "units": stats.randint(1, 200)},
        n_iter=20,
        n_rounds=3,
        top_k=4,
        cv=2,
        random_state=0,
    ).fit(X_TINY)
    for round_, space in enumerate(search.search_spaces_[1:], start=1):
        previous = search.search_spaces_[round_ - 1]
        for name in ("shift", "units"):
            assert isinstance(space[name], quantile_window)
            old = (
                (0.0, 1.0)
                if round_ == 1
                else (previous[name].q_low, previous[name].q_high)
            )
            assert old[0] <= space[name].q_low < space[name].q_high <= old[1]
        low, high = space["shift"].support()
        assert low < 3 < high
    results = search.cv_results_
    for params, round_ in zip(results["params"], results["round"]):
        for name, value in params.items():
            assert _inside(search.search_spaces_[round_][name], value)
    last = search.search_spaces_[-1]["shift"]
    assert last.q_high - last.q_low < 0.5


def test_layer_sizes_zoom_component_wise():
    class Layers(BaseEstimator):
        def __init__(self, hidden_layer_sizes=(1,)):
            self.hidden_layer_sizes = hidden_layer_sizes

        def fit(self, X, y=None):
            return self

        def score(self, X, y=None):
            sizes = self.hidden_layer_sizes
            return -abs(len(sizes) - 3) - np.mean([abs(np.log2(s) - 5) for s in sizes])

    space = {"hidden_layer_sizes": layer_sizes([1, 2, 3, 4], loguniform_int(4, 512))}
    search = CoarseToFineSearchCV(
        Layers(), space, n_iter=30, n_rounds=3, top_k=5, cv=2, random_state=0
    ).fit(X_TINY)
    final = search.search_spaces_[-1]["hidden_layer_sizes"]
    assert isinstance(final, layer_sizes)
    assert final.n_layers.values == [1, 2, 3, 4]
    assert final.n_layers.values[int(np.argmax(final.n_layers.p))] == 3
    assert 4 <= final.n_units.low <= 32 <= final.n_units.high <= 512
    assert final.n_units.high - final.n_units.low < 512 - 4


def test_n_iter_per_round():
    search = CoarseToFineSearchCV(
        Peak(), PEAK_SPACE, n_iter=[6, 3, 2], n_rounds=3, cv=2, random_state=0
    ).fit(X_TINY)
    assert_array_equal(search.cv_results_["round"], [0] * 6 + [1] * 3 + [2] * 2)
    assert search.n_candidates_ == [6, 3, 2]


def test_a_single_round_is_a_randomized_search():
    search = CoarseToFineSearchCV(
        Peak(), PEAK_SPACE, n_iter=5, n_rounds=1, cv=2, random_state=0
    ).fit(X_TINY)
    assert_array_equal(search.cv_results_["round"], [0] * 5)
    assert search.search_spaces_ == [PEAK_SPACE]


def test_deterministic_and_independent_of_n_jobs():
    def run(n_jobs):
        return CoarseToFineSearchCV(
            Peak(),
            PEAK_SPACE,
            n_iter=6,
            n_rounds=3,
            cv=3,
            random_state=42,
            n_jobs=n_jobs,
        ).fit(X_TINY)

    first, again, parallel = run(1), run(1), run(2)
    for other in (again, parallel):
        assert other.cv_results_["params"] == first.cv_results_["params"]
        assert_array_equal(other.cv_results_["round"], first.cv_results_["round"])
        assert_array_equal(
            other.cv_results_["mean_test_score"], first.cv_results_["mean_test_score"]
        )
        assert repr(other.search_spaces_) == repr(first.search_spaces_)
        assert other.best_params_ == first.best_params_
    different = clone(first).set_params(random_state=43).fit(X_TINY)
    assert different.cv_results_["params"] != first.cv_results_["params"]


class FoldFingerprint(BaseEstimator):
    """Scores the sum of the test rows of ``X``, whatever ``c``, to fingerprint folds."""

    def __init__(self, c=1.0):
        self.c = c

    def fit(self, X, y=None):
        return self

    def score(self, X, y=None):
        return float(np.sum(X))


class OneShotSplitter:
    """Draws random folds, and refuses to split a second time."""

    def __init__(self):
        self._rng = np.random.RandomState(0)
        self._used = False

    def get_n_splits(self, X=None, y=None, groups=None):
        return 3

    def split(self, X, y=None, groups=None):
        if self._used:
            raise RuntimeError("split called twice")
        self._used = True
        order = self._rng.permutation(len(X))
        for test in np.array_split(order, 3):
            yield np.setdiff1d(order, test), test


@pytest.mark.parametrize(
    "cv",
    [
        OneShotSplitter(),
        KFold(3, shuffle=True, random_state=0),
        KFold(3, shuffle=True),
        ShuffleSplit(3, random_state=np.random.RandomState(0)),
        3,
        list(KFold(3).split(X_TINY)),
    ],
    ids=["one-shot", "seeded", "unseeded", "RandomState", "int", "list"],
)
def test_every_round_uses_the_same_splits(cv):
    search = CoarseToFineSearchCV(
        FoldFingerprint(),
        {"c": loguniform(1e-3, 1e3)},
        n_iter=3,
        n_rounds=3,
        cv=cv,
        random_state=0,
    ).fit(X_TINY)
    assert_array_equal(search.cv_results_["round"], np.repeat([0, 1, 2], 3))
    for split in range(3):
        scores = search.cv_results_[f"split{split}_test_score"]
        assert np.all(scores == scores[0])


class FingerprintClassifier(ClassifierMixin, BaseEstimator):
    """A classifier scoring the sum of the test rows of ``X``."""

    def __init__(self, c=1.0):
        self.c = c

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def score(self, X, y=None):
        return float(np.sum(X))


def test_an_int_cv_splits_a_classifier_stratified():
    y = np.repeat([0, 1], 6)
    search = CoarseToFineSearchCV(
        FingerprintClassifier(),
        {"c": loguniform(1e-3, 1e3)},
        n_iter=2,
        n_rounds=2,
        cv=3,
    ).fit(X_TINY, y)
    stratified = StratifiedKFold(3).split(X_TINY, y)
    for split, (_, test) in enumerate(stratified):
        scores = search.cv_results_[f"split{split}_test_score"]
        assert_array_equal(scores, X_TINY[test].sum())
    assert not np.array_equal(
        [test for _, test in KFold(3).split(X_TINY)],
        [test for _, test in StratifiedKFold(3).split(X_TINY, y)],
    )


def test_an_iterator_of_splits_is_rejected():
    search = CoarseToFineSearchCV(
        FoldFingerprint(),
        {"c": loguniform(1e-3, 1e3)},
        cv=iter(list(KFold(3).split(X_TINY))),
    )
    with pytest.raises(ValueError, match=r"iterator.*cv=list\(cv\)"):
        search.fit(X_TINY)


@pytest.fixture(scope="module")
def classification():
    return make_classification(
        n_samples=90, n_features=6, n_informative=4, random_state=0
    )


def test_works_on_a_pipeline(classification):
    X, y = classification
    pipe = Pipeline([("scale", StandardScaler()), ("clf", RidgeClassifier())])
    search = CoarseToFineSearchCV(
        pipe,
        {"clf__alpha": loguniform(1e-3, 1e3), "clf__fit_intercept": [True, False]},
        n_iter=4,
        n_rounds=2,
        cv=3,
        random_state=0,
    ).fit(X, y)
    assert set(search.best_params_) == {"clf__alpha", "clf__fit_intercept"}
    assert (
        search.best_estimator_.named_steps["clf"].alpha
        == (search.best_params_["clf__alpha"])
    )
    assert search.predict(X).shape == y.shape
    assert isinstance(search.search_spaces_[1]["clf__fit_intercept"], categorical)


def _near_low(estimator, X, y=None):
    return -((np.log10(estimator.lr) + 4) ** 2)


def _near_high(estimator, X, y=None):
    return -((np.log10(estimator.lr) + 1) ** 2)


@pytest.mark.parametrize("refit, optimum", [("low", -4), ("high", -1)])
def test_multimetric_zooms_on_the_refit_metric(refit, optimum):
    search = CoarseToFineSearchCV(
        Peak(),
        {"lr": loguniform(1e-6, 1.0)},
        n_iter=10,
        n_rounds=3,
        top_k=3,
        scoring={"low": _near_low, "high": _near_high},
        refit=refit,
        cv=2,
        random_state=0,
    ).fit(X_TINY)
    low, high = np.log10(search.search_spaces_[-1]["lr"].support())
    assert low - 0.1 <= optimum <= high + 0.1
    assert high - low < 3
    assert search.best_score_ == np.max(search.cv_results_[f"mean_test_{refit}"])
    assert abs(np.log10(search.best_params_["lr"]) - optimum) < 0.5


@pytest.mark.parametrize("refit", [False, _near_low.__call__])
def test_multimetric_without_a_refit_name_must_choose_a_metric(refit):
    search = CoarseToFineSearchCV(
        Peak(),
        {"lr": loguniform(1e-6, 1.0)},
        scoring={"low": _near_low, "high": _near_high},
        refit=refit,
        cv=2,
        random_state=0,
    )
    with pytest.raises(ValueError, match="set refit to a scorer's name"):
        search.fit(X_TINY)
    # a single round needs no ranking
    search.set_params(n_rounds=1, refit=False).fit(X_TINY)
    assert not hasattr(search, "best_params_")


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_candidates_that_fail_do_not_define_the_zoom():
    class FailsAboveOne(Peak):
        def fit(self, X, y=None):
            if self.lr > 1e-1:
                raise ValueError("diverged")
            return self

    search = CoarseToFineSearchCV(
        FailsAboveOne(),
        {"lr": loguniform(1e-6, 1e3)},
        n_iter=10,
        n_rounds=2,
        top_k=0.9,
        cv=2,
        random_state=0,
    )
    with pytest.warns(FitFailedWarning, match="fits failed"):
        search.fit(X_TINY)
    assert np.any(np.isnan(search.cv_results_["mean_test_score"]))
    assert search.search_spaces_[1]["lr"].high <= 1e-1 * 10 ** (0.1 * 9)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_rounds": 0}, "n_rounds"),
        ({"n_rounds": 1.5}, "n_rounds"),
        ({"top_k": 0}, "top_k"),
        ({"top_k": 1.5}, "top_k"),
        ({"n_iter": 0}, "n_iter"),
    ],
)
def test_invalid_parameters_raise(params, match):
    search = CoarseToFineSearchCV(Peak(), PEAK_SPACE, cv=2, **params)
    with pytest.raises(InvalidParameterError, match=match):
        search.fit(X_TINY)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_iter": [5, 5], "n_rounds": 3}, r"n_iter=\[5, 5\].*n_rounds=3"),
        (
            {"param_distributions": {"lr": 0.1}},
            r"param_distributions\['lr'\]: expected a distribution .* got 0.1",
        ),
        ({"param_distributions": {"act": "tanh"}}, "a fixed value"),
        ({"param_distributions": {"act": []}}, "empty list"),
        ({"param_distributions": []}, "empty"),
    ],
)
def test_invalid_spaces_and_n_iter_raise(params, match):
    search = CoarseToFineSearchCV(Peak(), PEAK_SPACE, cv=2).set_params(**params)
    with pytest.raises((ValueError, TypeError), match=match):
        search.fit(X_TINY)


def test_a_list_of_spaces_zooms_each_space_on_its_own_candidates():
    spaces = [
        {"lr": loguniform(1e-6, 1.0), "act": ["tanh"]},
        {"shift": stats.uniform(0, 10), "act": ["relu"]},
    ]
    search = CoarseToFineSearchCV(
        Peak(), spaces, n_iter=20, n_rounds=3, top_k=4, cv=2, random_state=0
    ).fit(X_TINY)
    assert all(len(space) == 2 for space in search.search_spaces_)
    results = search.cv_results_
    for params, round_ in zip(results["params"], results["round"]):
        space = search.search_spaces_[round_][0 if params["act"] == "tanh" else 1]
        assert set(params) == set(space)
        for name, value in params.items():
            assert _inside(space[name], value)
    # the tanh space holds the best candidates (scores up to 0 against -4), so
    # it narrows and is drawn more often
    last = search.search_spaces_[-1][0]["lr"]
    assert np.log10(last.high / last.low) < 6
    tanh_share = [
        np.mean(
            [
                p["act"] == "tanh"
                for p in np.array(results["params"])[results["round"] == r]
            ]
        )
        for r in (0, 2)
    ]
    assert tanh_share[1] > tanh_share[0]


def test_tuning_space_by_priority():
    assert list(tuning_space(1)) == ["learning_rate_init"]
    assert set(tuning_space(2)) == {
        "learning_rate_init",
        "beta_1",
        "batch_size",
        "hidden_layer_sizes",
    }
    assert set(tuning_space(3, solver="momentum")) == {
        "learning_rate_init",
        "momentum",
        "batch_size",
        "hidden_layer_sizes",
        "learning_rate",
        "decay_rate",
    }
    assert tuning_space(3)["learning_rate"] == ["inverse_time"]
    assert "beta_1" not in tuning_space(3, solver="sgd")
    space = tuning_space(3, prefix="mlp__")
    assert all(name.startswith("mlp__") for name in space)
    assert repr(space["mlp__beta_1"]) == "one_minus_loguniform(low=0.9, high=0.999)"
    assert space["mlp__batch_size"] == [32, 64, 128, 256, 512]
    with pytest.raises(ValueError, match="priority=4"):
        tuning_space(4)
    with pytest.raises(ValueError, match="solver='lbfgs'"):
        tuning_space(2, solver="lbfgs")


@pytest.mark.parametrize("priority", [1, 2, 3])
@pytest.mark.parametrize("solver", ["sgd", "momentum", "rmsprop", "adam"])
def test_tuning_space_draws_valid_classifier_parameters(priority, solver):
    pipe = Pipeline([("mlp", MLPBatchNormClassifier(solver=solver))])
    for params in ParameterSampler(
        tuning_space(priority, solver=solver, prefix="mlp__"), 20, random_state=0
    ):
        pipe.set_params(**params)
        pipe.named_steps["mlp"]._validate_params()


def test_tuning_space_tunes_the_classifier(classification):
    X, y = classification
    search = CoarseToFineSearchCV(
        MLPBatchNormClassifier(max_iter=3, random_state=0),
        tuning_space(3),
        n_iter=3,
        n_rounds=2,
        cv=2,
        random_state=0,
    )
    with pytest.warns(UserWarning):  # 3 epochs do not converge
        search.fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.predict(X).shape == y.shape


class BlasThreads(BaseEstimator):
    """Scores the number of BLAS threads available where it is fitted."""

    def __init__(self, c=1.0):
        self.c = c

    def fit(self, X, y=None):
        from threadpoolctl import threadpool_info

        self.threads_ = max(
            info["num_threads"]
            for info in threadpool_info()
            if info["user_api"] == "blas"
        )
        return self

    def score(self, X, y=None):
        return float(self.threads_)


def test_parallel_workers_limit_their_blas_threads():
    search = CoarseToFineSearchCV(
        BlasThreads(), {"c": loguniform(1e-3, 1e3)}, n_iter=2, n_rounds=2, cv=2
    )
    parallel = clone(search).set_params(n_jobs=2).fit(X_TINY)
    default = max(cpu_count() // 2, 1)
    expected = int(os.environ.get("OPENBLAS_NUM_THREADS", default))
    assert_array_equal(parallel.cv_results_["mean_test_score"], expected)
    with parallel_config(backend="loky", inner_max_num_threads=1):
        limited = clone(search).set_params(n_jobs=2).fit(X_TINY)
    assert_array_equal(limited.cv_results_["mean_test_score"], 1)


@pytest.mark.extra("dask")
def test_dask_cluster_gives_the_same_results_as_a_local_run(classification):
    import distributed
    from threadpoolctl import threadpool_info

    X, y = classification
    search = CoarseToFineSearchCV(
        RidgeClassifier(),
        {"alpha": loguniform(1e-3, 1e3), "fit_intercept": [True, False]},
        n_iter=4,
        n_rounds=2,
        cv=3,
        random_state=0,
    )
    local = clone(search).fit(X, y)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with parallel_config(backend="dask"):
            remote = clone(search).set_params(n_jobs=-1).fit(X, y)
        workers = client.run(threadpool_info)
    assert len(workers) == 2
    for infos in workers.values():
        assert all(i["num_threads"] == 1 for i in infos if i["user_api"] == "blas")
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    for key in ("round", "mean_test_score", "split0_test_score", "rank_test_score"):
        assert_allclose(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_


class CountingCallback:
    """Records the task names of the hooks; can stop the search after a round."""

    def __init__(self, stop_after_round=False):
        self.stop_after_round = stop_after_round
        self.begun = []
        self.ended = []

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(
        self,
        estimator,
        context,
        *,
        X=None,
        y=None,
        metadata=None,
        fitted_estimator=None,
    ):
        self.begun.append(context.task_name)

    def on_fit_task_end(
        self,
        estimator,
        context,
        *,
        X=None,
        y=None,
        metadata=None,
        fitted_estimator=None,
    ):
        self.ended.append(context.task_name)
        return self.stop_after_round and context.task_name == "coarse-to-fine-round"

    def teardown(self, estimator, context):
        pass


def _has_callbacks():
    try:
        import sklearn.callback  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _has_callbacks(), reason="callbacks need scikit-learn>=1.9")
@pytest.mark.parametrize("refit", [True, False])
def test_callbacks_see_each_round(refit):
    callback = CountingCallback()
    search = CoarseToFineSearchCV(
        Peak(), PEAK_SPACE, n_iter=[4, 3, 2], n_rounds=3, cv=2, refit=refit
    )
    search.set_callbacks(callback).fit(X_TINY)
    # the fit, the search, 3 rounds of one rung each, their fits, the refit
    expected = 1 + 1 + 3 * 2 + (4 + 3 + 2) * 2 + refit
    assert len(callback.begun) == len(callback.ended) == expected
    assert callback.begun.count("coarse-to-fine-round") == 3
    assert callback.begun.count("rung") == 3
    assert callback.begun.count("search") == 1


class FitRoots(CountingCallback):
    """Records, for each fit task, the estimator at the root of its tree."""

    def __init__(self):
        super().__init__()
        self.roots = []

    def on_fit_task_begin(self, estimator, context, **hook):
        if context.task_name == "fit":
            while context.parent is not None:
                context = context.parent
            self.roots.append(context.estimator_name)


@pytest.mark.skipif(not _has_callbacks(), reason="callbacks need scikit-learn>=1.9")
def test_a_callback_of_a_step_joins_the_search_task_tree():
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    callback = FitRoots()
    network = MLPBatchNormClassifier((4,), max_iter=2).set_callbacks(callback)
    search = CoarseToFineSearchCV(
        Pipeline([("scale", StandardScaler()), ("mlp", network)]),
        {"mlp__learning_rate_init": loguniform(1e-3, 1e-1)},
        n_iter=2,
        n_rounds=2,
        cv=2,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    # 2 rounds x 2 candidates x 2 folds, and the refit
    assert callback.roots == ["CoarseToFineSearchCV"] * 9


class SearchSizes(CountingCallback):
    """Records the pickled size of the search that each fit's hooks receive,
    but for scikit-learn's callback state (which holds the task tree)."""

    def __init__(self):
        super().__init__()
        self.sizes = []

    def on_fit_task_begin(self, estimator, context, **hook):
        if context.task_name == "candidate-split-evaluation":
            state = {
                name: value
                for name, value in vars(estimator).items()
                if not name.startswith(("_skl_callbacks", "_callback"))
            }
            self.sizes.append(len(pickle.dumps(state)))


@pytest.mark.skipif(not _has_callbacks(), reason="callbacks need scikit-learn>=1.9")
def test_the_search_sent_with_each_fit_does_not_grow_with_the_rounds():
    callback = SearchSizes()
    search = CoarseToFineSearchCV(Peak(), PEAK_SPACE, n_iter=6, n_rounds=3, cv=2)
    search.set_callbacks(callback).fit(X_TINY)
    first_round, last_round = callback.sizes[:12], callback.sizes[-12:]
    # the spaces of the rounds so far, not the results of every fit
    growth = len(pickle.dumps(search.search_spaces_[1:]))
    assert max(last_round) - min(first_round) <= growth


@pytest.mark.skipif(not _has_callbacks(), reason="callbacks need scikit-learn>=1.9")
def test_a_callback_can_stop_the_search_after_a_round():
    search = CoarseToFineSearchCV(Peak(), PEAK_SPACE, n_iter=4, n_rounds=3, cv=2)
    search.set_callbacks(CountingCallback(stop_after_round=True)).fit(X_TINY)
    assert search.n_rounds_ == 1
    assert_array_equal(search.cv_results_["round"], [0] * 4)
    assert len(search.search_spaces_) == 1


ROUND_LINE = re.compile(
    r"^round (\d) of (\d): (\d+) candidates, best CV (\w+) so far (\S+), \d+ s$"
)


def test_verbose_prints_what_it_fits_then_each_round_once_it_is_scored(capsys):
    space = {"lr": loguniform(1e-6, 1.0), "act": ["relu", "tanh"]}
    search = CoarseToFineSearchCV(
        Peak(), space, n_iter=[4, 3, 2], n_rounds=3, top_k=2, cv=2, random_state=0
    )
    search.fit(X_TINY)
    assert capsys.readouterr().out == ""

    search.set_params(verbose=1).fit(X_TINY)
    lines = capsys.readouterr().out.splitlines()
    # the sizes of the rounds in their order
    assert lines[0] == "CoarseToFineSearchCV: 3 rounds x 4/3/2 candidates x 2 folds"
    at = [i for i, line in enumerate(lines) if ROUND_LINE.match(line)]
    assert len(at) == 3
    rounds = [ROUND_LINE.match(lines[i]).groups() for i in at]
    assert [r[:4] for r in rounds] == [
        ("1", "3", "4", "score"),
        ("2", "3", "3", "score"),
        ("3", "3", "2", "score"),
    ]
    scores = search.cv_results_["mean_test_score"]
    for done, (_, _, _, _, best), i, space in zip(
        np.cumsum([4, 3, 2]), rounds, at, search.search_spaces_
    ):
        assert best == f"{scores[:done].max():.4f}"
        assert lines[i + 1] == (
            f"  lr {as_distribution(space['lr']).describe()}; "
            f"act {as_distribution(space['act']).describe()}"
        )
    assert lines[at[0] + 1] == "  lr 1e-06..1; act relu, tanh (equally likely)"


def test_verbose_names_the_ranking_metric_and_each_space(capsys):
    spaces = [{"lr": loguniform(1e-6, 1.0)}, {"shift": stats.uniform(0, 10)}]
    CoarseToFineSearchCV(
        Peak(),
        spaces,
        n_iter=4,
        n_rounds=2,
        scoring={"low": _near_low, "high": _near_high},
        refit="high",
        cv=2,
        random_state=0,
        verbose=1,
    ).fit(X_TINY)
    lines = capsys.readouterr().out.splitlines()
    rounds = [i for i, line in enumerate(lines) if ROUND_LINE.match(line)]
    assert len(rounds) == 2
    assert "best CV high so far " in lines[rounds[0]]
    assert lines[rounds[0] + 1] == "  lr 1e-06..1 | shift 0..10"


@pytest.mark.parametrize("columns", [40, 80])
def test_verbose_lines_fit_the_terminal_and_keep_each_range_whole(
    capsys, monkeypatch, columns
):
    monkeypatch.setenv("COLUMNS", str(columns))
    step = "a_step_with_a_long_name"
    space = {
        f"{step}__lr": loguniform(1e-6, 1.0),
        f"{step}__beta": one_minus_loguniform(0.5, 0.9999),
        f"{step}__act": ["relu", "tanh", "logistic"],
    }
    CoarseToFineSearchCV(
        Pipeline([(step, Peak())]),
        space,
        n_iter=3,
        n_rounds=2,
        cv=2,
        random_state=0,
        verbose=1,
    ).fit(X_TINY)
    lines = capsys.readouterr().out.splitlines()
    ours = [line for line in lines if not line.startswith("Fitting ")]
    assert all(len(line) <= columns for line in ours), ours
    text = "\n".join(ours)
    # a range is never broken inside; it follows its name, on the next line
    # when the two are too wide for one
    for name in space:
        assert re.search(rf"{name}\s+\S", text)
    assert not re.search(r"\.\.\n|\n\s*\.\.|\d\n\s*\d", text)
    assert re.search(r"\d\.\.\d", text)
    # the ranges' lines start at 2 spaces, their continuations at 4
    assert all(re.match(r"(\S|  \S|    \S)", line) for line in ours), ours
    assert text.count("round 2 of 2: 3 candidates") == 1


# ------------------------------------------------------------------ Ctrl-C


class PressesCtrlC(BaseEstimator):
    """Presses Ctrl-C, in the process ``pid``, from inside its fit when
    ``press`` is True; scores like ``Peak`` on ``lr``.

    In a worker process the fit then waits for the search's process to stop
    it, as it stops the round's fits; the wait only bounds a failure."""

    def __init__(self, lr=1.0, press=False, pid=None):
        self.lr = lr
        self.press = press
        self.pid = pid

    def fit(self, X, y=None):
        if self.press:
            os.kill(self.pid, signal.SIGINT)
            if self.pid != os.getpid():
                threading.Event().wait(60)
        self.fitted_ = True
        return self

    def score(self, X, y=None):
        return -abs(np.log10(self.lr) + 2)


class TrueOnDraw:
    """Draws False, but True on the draws numbered in ``draws`` (from 1)."""

    def __init__(self, *draws):
        self.draws = set(draws)
        self.n_draws = 0

    def rvs(self, size=None, random_state=None):
        self.n_draws += 1
        return self.n_draws in self.draws

    def narrow(self, values):
        return self

    def axis_scale(self):
        return "linear"

    def describe(self):
        return "False, or True on a given draw"


def _search_pressing_ctrl_c(n_jobs, *draws, n_iter=4):
    return CoarseToFineSearchCV(
        PressesCtrlC(pid=os.getpid()),
        {"lr": loguniform(1e-4, 1.0), "press": TrueOnDraw(*draws)},
        n_iter=n_iter,
        n_rounds=3,
        cv=2,
        n_jobs=n_jobs,
        random_state=0,
    )


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_ctrl_c_stops_the_search_and_keeps_the_finished_rounds(n_jobs):
    # the second candidate of round 2 presses Ctrl-C amid its fits
    search = _search_pressing_ctrl_c(n_jobs, 4 + 2)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.warns(UserWarning, match="Ctrl-C stopped the search in round 2 of 3"):
        search.fit(X_TINY)
    assert signal.getsignal(signal.SIGINT) is handler
    assert search.interrupted_
    assert search.n_rounds_ == 1 and search.n_candidates_ == [4]
    assert len(search.search_spaces_) == 1
    # only the first round's rows, every one from a fit that finished
    assert_array_equal(search.cv_results_["round"], [0] * 4)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.fitted_


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_ctrl_c_in_the_first_round_is_a_clean_keyboard_interrupt(n_jobs):
    search = _search_pressing_ctrl_c(n_jobs, 3)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        search.fit(X_TINY)
    assert signal.getsignal(signal.SIGINT) is handler
    assert not hasattr(search, "cv_results_")


class PressesCtrlCWhenDrawn(TrueOnDraw):
    """Presses Ctrl-C while the search draws a given candidate, between the
    evaluations of two rounds."""

    def rvs(self, size=None, random_state=None):
        if super().rvs():
            os.kill(os.getpid(), signal.SIGINT)
        return 1.0


def test_ctrl_c_between_rounds_stops_before_the_next_round():
    search = CoarseToFineSearchCV(
        Peak(),
        {"lr": loguniform(1e-4, 1.0), "shift": PressesCtrlCWhenDrawn(4 + 4 + 1)},
        n_iter=4,
        n_rounds=3,
        cv=2,
        random_state=0,
    )
    with pytest.warns(UserWarning, match="Ctrl-C stopped the search in round 3 of 3"):
        search.fit(X_TINY)
    assert search.interrupted_ and search.n_rounds_ == 2
    assert_array_equal(search.cv_results_["round"], [0] * 4 + [1] * 4)
    assert len(search.search_spaces_) == len(search.n_candidates_) == 2


def test_a_network_interrupted_inside_the_search_is_not_scored():
    # the network's own handling of Ctrl-C would stop at the end of a batch
    # and return a fitted model; inside a search it must give way instead
    def press_ctrl_c_in_round_2(estimator, X, y):
        if estimator.learning_rate_init == 0.0123:
            os.kill(os.getpid(), signal.SIGINT)
        return 0.0

    X, y = make_classification(n_samples=120, n_features=6, random_state=0)
    rates = [0.001, 0.01, 0.002, 0.02, 0.0123]
    network = MLPBatchNormClassifier(
        (4,),
        max_iter=5,
        early_stopping=True,
        validation_fraction=0.3,
        scoring=press_ctrl_c_in_round_2,
        random_state=0,
    )
    search = CoarseToFineSearchCV(
        network,
        {"learning_rate_init": _Listed(rates)},
        n_iter=[4, 1],
        n_rounds=2,
        cv=2,
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        search.fit(X, y)
    messages = [str(warning.message) for warning in record]
    assert any("Ctrl-C stopped the search in round 2 of 2" in m for m in messages)
    assert not any("training interrupted" in m for m in messages)
    assert search.n_rounds_ == 1
    assert [p["learning_rate_init"] for p in search.cv_results_["params"]] == rates[:4]


class _Listed(TrueOnDraw):
    """Draws the given values in turn."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def rvs(self, size=None, random_state=None):
        super().rvs()
        return self.values[self.n_draws - 1]


class FailsWhen(Peak):
    def __init__(self, lr=1.0, fail=False):
        super().__init__(lr=lr)
        self.fail = fail

    def fit(self, X, y=None):
        if self.fail:
            raise ValueError("this candidate cannot be fitted")
        return super().fit(X, y)


def test_a_round_whose_fits_all_fail_ends_the_search_and_keeps_the_rounds_before():
    search = CoarseToFineSearchCV(
        FailsWhen(),
        {"lr": loguniform(1e-4, 1.0), "fail": TrueOnDraw(5, 6, 7)},
        n_iter=[4, 3, 3],
        n_rounds=3,
        cv=2,
        random_state=0,
    )
    with pytest.warns(UserWarning, match="every fit failed in round 2 of 3") as record:
        search.fit(X_TINY)
    assert any("this candidate cannot be fitted" in str(w.message) for w in record)
    assert search.n_rounds_ == 1 and not search.interrupted_
    assert_array_equal(search.cv_results_["round"], [0] * 4)
    assert search.best_index_ == np.argmax(search.cv_results_["mean_test_score"])
    assert not search.best_estimator_.fail
    # in the first round there is nothing to keep: scikit-learn's error
    search.set_params(param_distributions={"lr": [1.0], "fail": [True]})
    with pytest.raises(ValueError, match="All the 8 fits failed"):
        search.fit(X_TINY)


def test_a_rung_whose_fits_all_fail_ends_the_search_and_keeps_the_rounds_before():
    class FailsWithBudget(FailsWhen):
        def __init__(self, lr=1.0, fail=False, max_iter=9):
            super().__init__(lr=lr, fail=fail)
            self.max_iter = max_iter

        def fit(self, X, y=None):
            if self.fail and self.max_iter > 1:
                raise ValueError("this candidate cannot be fitted")
            return Peak.fit(self, X, y)

    search = CoarseToFineSearchCV(
        FailsWithBudget(),
        {"lr": loguniform(1e-4, 1.0), "fail": TrueOnDraw(4, 5, 6)},
        n_iter=3,
        n_rounds=3,
        resource="max_iter",
        cv=2,
        random_state=0,
    )
    with pytest.warns(UserWarning, match="every fit failed in round 2 of 3"):
        search.fit(X_TINY)
    results = search.cv_results_
    # round 2's first rung stays in the results, but no candidate of it is
    # fitted with the full budget, so none can be picked
    assert_array_equal(results["round"], [0, 0, 0, 0, 0, 1, 1, 1])
    assert search.n_rounds_ == 1 and len(search.search_spaces_) == 2
    assert results["round"][search.best_index_] == 0
    assert results["n_resources"][search.best_index_] == 9


# ------------------------------------------------------------- time budget


class Clock:
    """A stand-in for time.perf_counter that advances only when told."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class TakesSeconds(Peak):
    """Each fit advances ``clock`` by ``seconds``."""

    clock = None

    def __init__(self, lr=1.0, seconds=1.0):
        super().__init__(lr=lr)
        self.seconds = seconds

    def fit(self, X, y=None):
        type(self).clock.now += self.seconds
        return super().fit(X, y)


@pytest.mark.parametrize(
    "budget, n_iter, n_rounds",
    [
        # each round: 4 candidates x 2 folds x 1 s = 8 s
        (None, 4, 5),
        (100.0, 4, 5),
        (23.9, 4, 2),  # after 2 rounds, 16 s spent + 8 s of a third > 23.9
        (24.0, 4, 3),
        (1.0, 4, 1),  # the first round always runs
        # a round of 2 candidates after one of 4: 4 s, as its 2 s a candidate say
        (12.0, [4, 2, 2, 2, 2], 2),
        (11.9, [4, 2, 2, 2, 2], 1),
    ],
)
def test_no_round_starts_that_would_overrun_the_time_budget(
    monkeypatch, budget, n_iter, n_rounds
):
    clock = TakesSeconds.clock = Clock()
    monkeypatch.setattr("sknormnet.model_selection.time.perf_counter", clock)
    search = CoarseToFineSearchCV(
        TakesSeconds(),
        {"lr": loguniform(1e-4, 1.0)},
        n_iter=n_iter,
        n_rounds=5,
        time_budget=budget,
        cv=2,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reaching the budget is no surprise
        search.fit(X_TINY)
    assert search.n_rounds_ == n_rounds == len(search.search_spaces_)
    sizes = [n_iter] * 5 if isinstance(n_iter, int) else n_iter
    assert_array_equal(
        search.cv_results_["round"], np.repeat(range(n_rounds), sizes[:n_rounds])
    )
    assert search.best_index_ == np.argmax(search.cv_results_["mean_test_score"])


def test_verbose_says_a_budget_bounds_the_rounds(monkeypatch, capsys):
    clock = TakesSeconds.clock = Clock()
    monkeypatch.setattr("sknormnet.model_selection.time.perf_counter", clock)
    search = CoarseToFineSearchCV(
        TakesSeconds(seconds=1.0),
        {"lr": loguniform(1e-4, 1.0)},
        n_iter=[4, 2, 2],
        n_rounds=3,
        time_budget=30.0,
        cv=2,
        verbose=1,
        random_state=0,
    ).fit(X_TINY)
    lines = capsys.readouterr().out.splitlines()
    expected = "CoarseToFineSearchCV: up to 3 rounds x 4/2 candidates x 2 folds"
    assert lines[0] == f"{expected}, within 30 s"
    # how many rounds the budget allows is not known in advance: no "of 3"
    rounds = [line for line in lines if line.startswith("round ")]
    assert [line.split(":")[0] for line in rounds] == ["round 1", "round 2", "round 3"]
    assert search.n_rounds_ == 3


def test_the_time_budget_is_checked():
    search = CoarseToFineSearchCV(Peak(), PEAK_SPACE, time_budget=0.0)
    with pytest.raises(InvalidParameterError, match="time_budget"):
        search.fit(X_TINY)
