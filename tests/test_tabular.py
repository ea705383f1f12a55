"""TunedMLPClassifier: one call on a table builds, searches and ensembles."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import QuantileTransformer, StandardScaler

from sknormnet.tabular import TunedMLPClassifier, tabular_pipeline

QUICK = {"time_budget": None, "training_steps": 20, "n_jobs": 1}


def _table(n_rows=90, seed=0):
    """Numeric columns with gaps, a text column and a boolean one; the label
    depends on two of them."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "income": rng.lognormal(3, 1, n_rows),
            "age": rng.integers(18, 80, n_rows).astype(float),
            "plan": rng.choice(["basic", "pro", "team"], n_rows),
            "member": rng.choice([True, False], n_rows),
        }
    )
    y = np.where((X["age"] > 45) ^ (X["plan"] == "pro"), "yes", "no")
    X.loc[rng.choice(n_rows, 9, replace=False), "income"] = np.nan
    return X, pd.Series(y, name="outcome")


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def test_one_call_on_a_table_fits_and_predicts_its_labels():
    X, y = _table()
    model = _fit(TunedMLPClassifier(n_candidates=4, random_state=0, **QUICK), X, y)
    assert_array_equal(model.classes_, ["no", "yes"])
    assert set(model.predict(X)) <= {"no", "yes"}
    proba = model.predict_proba(X)
    assert proba.shape == (90, 2)
    assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert list(model.feature_names_in_) == list(X.columns)
    assert model.n_features_in_ == 4
    assert model.fit_time_ > 0
    # what the search searched: the network's parameters, not the scaling
    space = model.search_.search_spaces_[0]
    assert {
        "mlp__learning_rate_init",
        "mlp__hidden_layer_sizes",
        "mlp__dropout",
        "mlp__weight_decay",
        "mlp__label_smoothing",
    } == set(space)
    scaler = model.estimator_.estimators_[0]["preprocess"].named_transformers_
    assert isinstance(scaler["numeric"]["scale"], StandardScaler)


def test_scaling_search_lets_the_search_choose_the_scaler():
    X, y = _table()
    model = TunedMLPClassifier(
        scaling="search", n_candidates=4, random_state=0, **QUICK
    )
    _fit(model, X, y)
    choices = model.search_.search_spaces_[0]["preprocess__numeric__scale"]
    assert [type(scaler) for scaler in choices] == [
        StandardScaler,
        QuantileTransformer,
    ]


@pytest.mark.parametrize("ensemble_size", [1, 3])
def test_the_ensemble_averages_the_best_candidates_refitted(ensemble_size):
    X, y = _table()
    model = _fit(
        TunedMLPClassifier(
            n_candidates=5, ensemble_size=ensemble_size, random_state=0, **QUICK
        ),
        X,
        y,
    )
    results = model.search_.cv_results_
    best = np.argsort(-results["mean_test_score"], kind="stable")[:ensemble_size]
    if ensemble_size == 1:
        assert isinstance(model.estimator_, Pipeline)
        members = [model.estimator_]
    else:
        assert isinstance(model.estimator_, VotingClassifier)
        assert model.estimator_.voting == "soft"
        members = model.estimator_.estimators_
    assert len(members) == ensemble_size
    for member, row in zip(members, best):
        params = results["params"][row]
        assert member["mlp"].learning_rate_init == params["mlp__learning_rate_init"]
    # the members differ in their initialisation, and the ensemble averages
    seeds = {member["mlp"].random_state for member in members}
    assert len(seeds) == ensemble_size
    if ensemble_size > 1:
        mean = np.mean([m.predict_proba(X) for m in members], axis=0)
        assert_allclose(model.predict_proba(X), mean, rtol=1e-6)


@pytest.mark.parametrize("n_candidates", [1, 7, 11])
def test_n_candidates_is_the_size_of_the_search(n_candidates):
    X, y = _table()
    model = TunedMLPClassifier(
        n_candidates=n_candidates, ensemble_size=1, random_state=0, **QUICK
    )
    _fit(model, X, y)
    assert len(model.search_.cv_results_["params"]) == n_candidates


def test_the_same_seed_gives_the_same_model_and_another_seed_another():
    X, y = _table()
    params = dict(n_candidates=3, ensemble_size=2, **QUICK)
    first = _fit(TunedMLPClassifier(random_state=3, **params), X, y)
    second = _fit(TunedMLPClassifier(random_state=3, **params), X, y)
    other = _fit(TunedMLPClassifier(random_state=4, **params), X, y)
    assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    assert not np.allclose(first.predict_proba(X), other.predict_proba(X))


@pytest.mark.parametrize(
    "scaling, scalers",
    [("standard", [StandardScaler]), ("quantile", [QuantileTransformer])],
)
def test_a_fixed_scaling_is_not_searched(scaling, scalers):
    X, y = _table()
    model = _fit(
        TunedMLPClassifier(scaling=scaling, n_candidates=2, random_state=0, **QUICK),
        X,
        y,
    )
    assert "preprocess__numeric__scale" not in model.search_.search_spaces_[0]
    for member in model.estimator_.estimators_:
        scaler = member["preprocess"].named_transformers_["numeric"]["scale"]
        assert [type(scaler)] == scalers


def test_a_class_of_two_rows_gets_fewer_folds_and_a_model():
    X, y = _table(60)
    y = y.copy()
    y.iloc[:2] = "rare"
    model = TunedMLPClassifier(n_candidates=2, random_state=0, **QUICK)
    with pytest.warns(UserWarning, match="a class has 2 rows, fewer than the 3 folds"):
        _fit(model, X, y)
    assert model.search_.n_splits_ == 2
    assert "rare" in model.classes_


def test_many_rows_are_scored_on_one_held_out_fifth(monkeypatch):
    monkeypatch.setattr("sknormnet.tabular.HOLDOUT_ABOVE", 50)
    X, y = _table(90)
    model = _fit(TunedMLPClassifier(n_candidates=2, random_state=0, **QUICK), X, y)
    assert model.search_.n_splits_ == 1
    assert len(model.search_.cv_results_["split0_test_score"]) == 2


class Clock:
    """A stand-in for time.perf_counter: each read of the search's clock, at
    the start of its rounds, is ``step`` seconds after the last."""

    def __init__(self, step):
        self.now = 0.0
        self.step = step

    def __call__(self):
        self.now += self.step
        return self.now


def test_a_short_time_budget_stops_the_search_and_shrinks_the_ensemble(monkeypatch):
    X, y = _table()
    monkeypatch.setattr("sknormnet.tabular.time.perf_counter", Clock(step=10.0))
    model = TunedMLPClassifier(
        time_budget=15.0, training_steps=20, n_jobs=1, random_state=0
    )
    _fit(model, X, y)
    # one round only, then no time left for more than one member
    assert model.search_.n_rounds_ == 1
    assert isinstance(model.estimator_, Pipeline)


def test_the_auto_time_budget_grows_with_the_rows():
    model = TunedMLPClassifier()
    assert model._time_budget(500) == 45
    assert model._time_budget(7500) == 45
    assert model._time_budget(12500) == pytest.approx(95)
    assert model._time_budget(58000) == 100
    assert TunedMLPClassifier(time_budget=7)._time_budget(10**6) == 7


def test_it_clones_and_validates_its_parameters():
    model = TunedMLPClassifier(ensemble_size=3, scaling="quantile")
    assert clone(model).get_params() == model.get_params()
    X, y = _table()
    with pytest.raises(ValueError, match="ensemble_size"):
        TunedMLPClassifier(ensemble_size=0).fit(X, y)
    with pytest.raises(ValueError, match="scaling"):
        TunedMLPClassifier(scaling="minmax").fit(X, y)


def test_tabular_pipeline_encodes_each_kind_of_column():
    X, _ = _table()
    pipeline = tabular_pipeline(X, scaling="quantile")
    numeric, categorical = pipeline["preprocess"].transformers
    assert numeric[2] == ["income", "age"] and categorical[2] == ["plan", "member"]
    Xt = pipeline["preprocess"].fit_transform(X)
    # two scaled columns, three plans, two booleans
    assert Xt.shape == (90, 2 + 3 + 2)
    assert np.isfinite(Xt).all()


def test_the_network_trains_in_float32():
    X, y = _table()
    model = _fit(
        TunedMLPClassifier(n_candidates=1, ensemble_size=1, random_state=0, **QUICK),
        X,
        y,
    )
    assert model.estimator_["mlp"].coefs_[0].dtype == np.float32


def test_each_fit_trains_about_training_steps_on_all_its_rows():
    # 3 folds of 90 rows train on 60: batches of 16 (the least), 4 a epoch, so
    # 200 steps are 50 epochs; the refit on all 90 rows takes 6 batches a
    # epoch, 33 epochs
    X, y = _table()
    model = TunedMLPClassifier(
        n_candidates=2,
        ensemble_size=2,
        random_state=0,
        **{**QUICK, "training_steps": 200},
    )
    _fit(model, X, y)
    searched = model.search_.estimator["mlp"]
    assert (searched.batch_size, searched.max_iter) == (16, 50)
    assert searched.learning_rate == "cosine" and searched.warmup_epochs == 2
    for member in model.estimator_.estimators_:
        network = member["mlp"]
        assert (network.batch_size, network.max_iter) == (16, 33)
        # no rows held out, no epoch picked: the schedule runs to its end
        assert not network.early_stopping
        assert network.n_iter_ == len(network.loss_curve_) == 33


def test_space_replaces_and_adds_entries_of_the_search_space():
    X, y = _table()
    space = {"mlp__dropout": [0.0], "mlp__batch_size": [8, 32]}
    model = _fit(
        TunedMLPClassifier(space=space, n_candidates=4, random_state=0, **QUICK),
        X,
        y,
    )
    params = model.search_.cv_results_["params"]
    assert {candidate["mlp__dropout"] for candidate in params} == {0.0}
    assert {candidate["mlp__batch_size"] for candidate in params} <= {8, 32}
    assert "mlp__learning_rate_init" in params[0]  # the rest stays
    for member in model.estimator_.estimators_:
        assert member["mlp"].dropout == 0.0


def test_space_naming_no_parameter_fails_before_the_search():
    X, y = _table()
    model = TunedMLPClassifier(space={"mlp__dropuot": [0.0]}, **QUICK)
    with pytest.raises(
        ValueError,
        match="'mlp__dropuot' is not a parameter of the pipeline; did you mean 'mlp__dropout'",
    ):
        model.fit(X, y)
    assert not hasattr(model, "search_")
