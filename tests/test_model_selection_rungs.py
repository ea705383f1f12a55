"""Multi-fidelity rounds of CoarseToFineSearchCV: the rungs, the promotions,
the fresh fit of each rung, the new cv_results_ columns, and where they run."""

import math

import numpy as np
import pytest
from joblib import parallel_config
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, clone
from sklearn.datasets import load_digits
from sklearn.metrics import get_scorer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sknormnet import MLPBatchNormClassifier
from sknormnet.distributions import loguniform
from sknormnet.model_selection import CoarseToFineSearchCV

X_TINY = np.arange(24, dtype=float).reshape(12, 2)


class Epochs(BaseEstimator):
    """Ignores the data; trains ``max_iter`` epochs per fit. Its score peaks
    at ``lr=1e-2`` and rises with the epochs trained, and ``n_fits`` counts
    its fits."""

    n_fits = 0

    def __init__(self, lr=1.0, max_iter=20):
        self.lr = lr
        self.max_iter = max_iter

    def fit(self, X, y=None):
        type(self).n_fits += 1
        self.epochs_ = self.max_iter
        return self

    def score(self, X, y=None):
        return -abs(np.log10(self.lr) + 2) - 1.0 / self.epochs_


def _search(**params):
    defaults = dict(
        n_iter=10,
        n_rounds=2,
        resource="max_iter",
        factor=3,
        cv=2,
        random_state=0,
    )
    return CoarseToFineSearchCV(
        Epochs(max_iter=20), {"lr": loguniform(1e-5, 1.0)}, **{**defaults, **params}
    )


@pytest.mark.parametrize(
    "full, min_resources, factor, expected",
    [
        # min_resources * factor**k, and the last step to the full epochs
        # between sqrt(factor) and factor**1.5
        (20, 1, 3, [1, 3, 9, 20]),
        (27, 1, 3, [1, 3, 9, 27]),
        (16, 1, 3, [1, 3, 9, 16]),
        (15, 1, 3, [1, 3, 15]),
        (9, 1, 3, [1, 3, 9]),
        (20, 2, 3, [2, 6, 20]),
        (10, 2, 2, [2, 4, 10]),
        (20, 20, 3, [20]),
        (5, 1, 10, [1, 5]),
        (3, 1, 10, [3]),
        (2, 1, 1.5, [1, 2]),  # round(1.5) is the full 2: no second rung of 2
    ],
)
def test_rung_schedule_starts_at_min_resources_and_ends_at_the_full_epochs(
    full, min_resources, factor, expected
):
    search = _search(
        n_rounds=1, n_iter=30, min_resources=min_resources, factor=factor
    ).set_params(estimator=Epochs(max_iter=full))
    results = search.fit(X_TINY).cv_results_
    epochs = sorted(set(results["n_resources"].tolist()))
    assert epochs == expected
    # each rung keeps the best ceil(n / factor) of the rung before it
    counts = [int(np.sum(results["n_resources"] == e)) for e in expected]
    expected_counts = [30]
    for _ in expected[1:]:
        expected_counts.append(math.ceil(expected_counts[-1] / factor))
    assert counts == expected_counts
    assert_array_equal(
        results["iter"], np.repeat(np.arange(len(expected)), expected_counts)
    )


def test_each_rung_promotes_the_best_of_the_rung_before():
    results = _search(n_iter=12, n_rounds=3).fit(X_TINY).cv_results_
    lr = np.array([p["lr"] for p in results["params"]])
    for round_ in range(3):
        for rung in (1, 2, 3):
            before = (results["round"] == round_) & (results["iter"] == rung - 1)
            after = (results["round"] == round_) & (results["iter"] == rung)
            scores = results["mean_test_score"][before]
            n_kept = int(after.sum())
            assert n_kept == math.ceil(before.sum() / 3)
            kept = np.sort(lr[before][np.argsort(-scores, kind="stable")[:n_kept]])
            assert_array_equal(np.sort(lr[after]), kept)


def test_each_rung_fits_its_candidates_anew_with_its_budget():
    Epochs.n_fits = 0
    search = _search(n_iter=12, n_rounds=2).fit(X_TINY)
    results = search.cv_results_
    # every row is one fit per split, plus the refit
    assert Epochs.n_fits == len(results["params"]) * 2 + 1
    # the score shows the epochs of the row's own fit: 1, 3, 9, then 20
    for row, params in enumerate(results["params"]):
        expected = -abs(np.log10(params["lr"]) + 2) - 1 / results["n_resources"][row]
        assert_allclose(results["split0_test_score"][row], expected)
        assert params["max_iter"] == results["n_resources"][row]


def test_cv_results_columns_and_best_at_the_full_resource():
    search = _search(n_iter=9, n_rounds=2).fit(X_TINY)
    results = search.cv_results_
    n_rows = 2 * (9 + 3 + 1 + 1)  # rungs of 1, 3, 9 and 20 epochs
    for column in ("round", "iter", "n_resources", "param_max_iter"):
        assert len(results[column]) == n_rows
    assert_array_equal(results["round"], np.repeat([0, 1], 14))
    assert_array_equal(results["param_max_iter"], results["n_resources"])
    # a low rung scores lower (fewer epochs), so the best must be chosen among
    # the rows at the full resource only
    full = results["n_resources"] == 20
    assert results["n_resources"][search.best_index_] == 20
    assert search.best_score_ == results["mean_test_score"][full].max()
    assert search.best_params_["max_iter"] == 20
    assert search.best_estimator_.epochs_ == 20
    assert search.n_candidates_ == [9, 9]


def test_the_zoom_uses_the_full_resource_rows_only():
    search = _search(n_iter=9, n_rounds=2, top_k=1).fit(X_TINY)
    results = search.cv_results_
    first = (results["round"] == 0) & (results["n_resources"] == 20)
    best_lr = results["param_lr"][first][np.argmax(results["mean_test_score"][first])]
    space = search.search_spaces_[1]["lr"]
    assert space.low <= best_lr <= space.high
    # narrowed around one value: a tenth of the 5 decades on each side
    assert_allclose(np.log10(space.high / space.low), 1.0)


@pytest.mark.parametrize(
    "resource, estimator, match",
    [
        ("epochs", Epochs(), "is not a parameter of the estimator Epochs"),
        ("lr", Epochs(), "must be an integer budget.*lr is 1.0"),
        ("max_iter", Epochs(max_iter=2.5), "must be an integer budget"),
        ("max_iter", Epochs(max_iter=None), "must be an integer budget"),
        ("max_iter", Epochs(max_iter=True), "must be an integer budget"),
        ("mlp__max_iter", Pipeline([("mlp", Epochs(max_iter=0))]), "is 0"),
    ],
)
def test_a_resource_that_is_not_an_integer_budget_is_rejected(
    resource, estimator, match
):
    space = {"mlp__lr" if isinstance(estimator, Pipeline) else "lr": [1.0]}
    search = CoarseToFineSearchCV(estimator, space, resource=resource)
    with pytest.raises(ValueError, match=match):
        search.fit(X_TINY)


def test_a_resource_needs_a_valid_range_and_stays_out_of_the_space():
    with pytest.raises(ValueError, match="also searched by param_distributions"):
        _search().set_params(param_distributions={"max_iter": [5, 10]}).fit(X_TINY)
    with pytest.raises(ValueError, match="min_resources=30 is more than"):
        _search(min_resources=30).fit(X_TINY)


def test_rungs_work_with_early_stopping():
    # each rung's fit is fresh, so it may hold out its own validation share
    X, y = load_digits(return_X_y=True)
    mlp = MLPBatchNormClassifier((8,), max_iter=9, early_stopping=True, random_state=0)
    search = CoarseToFineSearchCV(
        mlp,
        {"learning_rate_init": loguniform(1e-3, 1e-1)},
        n_iter=4,
        n_rounds=1,
        resource="max_iter",
        cv=2,
        random_state=0,
    ).fit(X[:300], y[:300])
    assert sorted(set(search.cv_results_["n_resources"])) == [1, 3, 9]
    assert search.best_estimator_.best_epoch_ is not None


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600]


def _mlp_search(**params):
    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),
            ("mlp", MLPBatchNormClassifier((16,), max_iter=9, random_state=0)),
        ]
    )
    defaults = dict(
        n_iter=6,
        n_rounds=2,
        resource="mlp__max_iter",
        factor=3,
        scoring="neg_log_loss",
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        random_state=0,
    )
    return CoarseToFineSearchCV(
        pipeline,
        {"mlp__learning_rate_init": loguniform(1e-3, 1e-1)},
        **{**defaults, **params},
    )


def test_each_row_scores_the_model_fitted_with_its_parameters(digits):
    X, y = digits
    search = _mlp_search().fit(X, y)
    results = search.cv_results_
    splits = list(search.cv.split(X, y))
    scorer = get_scorer("neg_log_loss")
    checked = 0
    for row in np.flatnonzero(results["iter"] > 0):
        straight = clone(search.estimator).set_params(**results["params"][row])
        for split, (train, test) in enumerate(splits):
            straight.fit(X[train], y[train])
            assert_allclose(
                results[f"split{split}_test_score"][row],
                scorer(straight, X[test], y[test]),
                rtol=1e-9,
            )
            checked += 1
    assert checked == 2 * (2 + 1) * 3  # 2 and 1 candidates after the first rung


def test_a_backend_without_generators_gives_the_same_results():
    # joblib's multiprocessing backend returns all the results at once
    sequential = _search(n_iter=6).fit(X_TINY)
    with parallel_config(backend="multiprocessing", n_jobs=2):
        parallel = _search(n_iter=6, n_jobs=2).fit(X_TINY)
    assert parallel.cv_results_["params"] == sequential.cv_results_["params"]
    assert_array_equal(
        parallel.cv_results_["mean_test_score"],
        sequential.cv_results_["mean_test_score"],
    )


@pytest.mark.parametrize(
    "n_jobs", [2, pytest.param("dask", marks=pytest.mark.extra("dask"))]
)
def test_rungs_are_the_same_with_n_jobs_and_dask(digits, n_jobs):
    X, y = digits
    sequential = _mlp_search().fit(X, y)
    if n_jobs == "dask":
        import distributed

        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, dashboard_address=":0"
            ) as cluster,
            distributed.Client(cluster),
            parallel_config(backend="dask"),
        ):
            parallel = _mlp_search(n_jobs=-1).fit(X, y)
    else:
        parallel = _mlp_search(n_jobs=n_jobs).fit(X, y)
    assert parallel.cv_results_["params"] == sequential.cv_results_["params"]
    for key in ("round", "iter", "n_resources", "split0_test_score", "rank_test_score"):
        assert_array_equal(parallel.cv_results_[key], sequential.cv_results_[key])
    assert parallel.best_params_ == sequential.best_params_


class RecordingCallback:
    """Records the task names of scikit-learn's callback hooks."""

    def __init__(self):
        self.begun = []
        self.ended = []

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, **kwargs):
        self.begun.append(context.task_name)

    def on_fit_task_end(self, estimator, context, **kwargs):
        self.ended.append(context.task_name)

    def teardown(self, estimator, context):
        pass


def test_callbacks_see_every_fit_of_every_rung():
    pytest.importorskip("sklearn.callback", reason="callbacks need scikit-learn>=1.9")
    callback = RecordingCallback()
    search = _search(n_iter=9, n_rounds=2).set_callbacks(callback).fit(X_TINY)
    n_fits = len(search.cv_results_["params"]) * 2
    assert callback.begun.count("candidate-split-evaluation") == n_fits
    assert callback.begun.count("coarse-to-fine-round") == 2
    assert callback.begun.count("rung") == 2 * 4  # rungs of 1, 3, 9, 20 epochs
    assert callback.begun.count("search") == 1
    assert callback.begun.count("refit-with-best-params") == 1
    assert sorted(callback.begun) == sorted(callback.ended)


def test_verbose_counts_each_rung(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    _search(n_iter=9, n_rounds=1, verbose=1).fit(X_TINY)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "CoarseToFineSearchCV: 1 rounds x 9 candidates x 2 folds; rungs of "
        "max_iter 1, 3, 9, 20, 1/3 promoted"
    )
    rounds = [line for line in lines if line.startswith("round ")]
    assert len(rounds) == 1
    assert rounds[0].startswith(
        "round 1 of 1: 9 candidates (9/3/1/1 with max_iter 1/3/9/20), best CV "
        "score so far "
    )
