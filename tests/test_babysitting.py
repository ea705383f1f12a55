"""Training one model epoch by epoch: partial_fit, warm start, early stopping,
weights, callbacks, progress output and interruption."""

import os
import signal
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, recall_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sknormnet._mlp
from sknormnet import MLPBatchNormClassifier

try:
    from sklearn.callback import ProgressBar, ScoringMonitor
except ImportError:  # scikit-learn < 1.9 has no callbacks
    ProgressBar = ScoringMonitor = None

# Training works without callbacks; these tests need ``set_callbacks`` (the
# interrupt tests use a callback to press Ctrl-C at a given epoch).
needs_callbacks = pytest.mark.skipif(
    ProgressBar is None, reason="callbacks need scikit-learn 1.9 or newer"
)


def _quiet_fit(model, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **kwargs)


def _capture_validation_split(model, monkeypatch):
    """Record the validation data that ``model`` holds out when fitting."""
    captured = {}
    original = type(model)._validation_split

    def recording_split(self, X, y_codes, sample_weight):
        result = original(self, X, y_codes, sample_weight)
        captured["X_train"], captured["y_train"], captured["w_train"] = result[:3]
        captured["X_val"], captured["y_val"], captured["w_val"] = result[3:]
        return result

    monkeypatch.setattr(type(model), "_validation_split", recording_split)
    return captured


class RecordingCallback:
    """Records every hook call; asks to stop at ``stop_at_epoch``."""

    def __init__(self, stop_at_epoch=None, raise_at_epoch=None, on_epoch_begin=None):
        self.stop_at_epoch = stop_at_epoch
        self.raise_at_epoch = raise_at_epoch
        self.on_epoch_begin = on_epoch_begin
        self.events = []
        self.fitted = []

    def setup(self, estimator, context):
        self.events.append("setup")

    def teardown(self, estimator, context):
        self.events.append("teardown")

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None):
        self.events.append(("begin", context.task_name))
        epochs_begun = sum(1 for e in self.events if e == ("begin", "epoch"))
        if context.task_name == "epoch" and self.on_epoch_begin is not None:
            self.on_epoch_begin(epochs_begun)

    def on_fit_task_end(
        self, estimator, context, *, X=None, y=None, fitted_estimator=None
    ):
        self.events.append(("end", context.task_name))
        if context.task_name != "epoch":
            return False
        self.fitted.append(fitted_estimator)
        epoch = len(self.fitted)
        if epoch == self.raise_at_epoch:
            raise KeyboardInterrupt
        return epoch == self.stop_at_epoch


# ------------------------------------------------------------- partial_fit


def test_partial_fit_runs_one_epoch_per_call(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((8,), batch_size=16, random_state=0)
    for call in range(1, 4):
        model.partial_fit(X, y, classes=[0, 1, 2])
        assert len(model.loss_curve_) == call
        assert len(model.learning_rate_curve_) == call
        assert model.n_iter_ == call
        assert model.t_ == call * X.shape[0]
        assert model._optimizer.t == call * 8  # 120 rows in batches of 16


def test_partial_fit_epochs_equal_fit_epochs(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((8,), batch_size=32, max_iter=3, random_state=0)
    fitted = _quiet_fit(clone(model), X, y)
    stepped = clone(model)
    for _ in range(3):
        stepped.partial_fit(X, y, classes=np.unique(y))
    for a, b in zip(
        [fitted._network.params, fitted._network.statistics],
        [stepped._network.params, stepped._network.statistics],
    ):
        assert_array_equal(a, b)
    assert fitted.loss_curve_ == stepped.loss_curve_


def test_partial_fit_requires_classes_on_first_call_only(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((4,))
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X, y)
    model.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert_array_equal(model.classes_, [0, 1, 2])
    model.partial_fit(X, y)


def test_partial_fit_rejects_labels_outside_classes(small_multiclass):
    X, y = small_multiclass
    with pytest.raises(ValueError, match=r"labels \[2\] that are not in classes"):
        MLPBatchNormClassifier((4,)).partial_fit(X, y, classes=[0, 1])


def test_tiny_learning_rate_midway_freezes_weights_but_not_statistics(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((8,), batch_size=16, random_state=0)
    model.partial_fit(X, y, classes=[0, 1, 2])
    model.partial_fit(X, y)
    optimizer = model._optimizer
    moments_before = [m.copy() for m in optimizer.moments[0]]
    weights_before = [w.copy() for w in model.coefs_]
    means_before = [m.copy() for m in model.running_means_]

    model.set_params(learning_rate_init=1e-12)
    model.partial_fit(X + 1.0, y)

    assert model._optimizer is optimizer, "the optimizer state was reset"
    assert optimizer.t == 3 * 8
    assert model.learning_rate_curve_ == [1e-3, 1e-3, 1e-12]
    for before, after in zip(weights_before, model.coefs_):
        assert_allclose(after, before, rtol=0, atol=1e-10)
    for before, after in zip(moments_before, optimizer.moments[0]):
        assert not np.allclose(before, after)
    # The running means follow the shifted data although the weights stand still.
    for before, after in zip(means_before, model.running_means_):
        assert not np.allclose(before, after)


def test_set_params_changes_optimizer_hyperparameters_in_place(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((8,), random_state=0)
    model.partial_fit(X, y, classes=[0, 1, 2])
    optimizer = model._optimizer
    second_moments = optimizer.moments[1]
    model.set_params(beta_1=0.5, beta_2=0.9, epsilon=1e-6)
    model.partial_fit(X, y)
    assert model._optimizer is optimizer
    assert optimizer.moments[1] is second_moments
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (0.5, 0.9, 1e-6)
    model.set_params(solver="momentum", momentum=0.8)
    model.partial_fit(X, y)
    assert model._optimizer.momentum == 0.8
    assert model.learning_rate_curve_[-1] == model.learning_rate_init


def test_decay_continues_across_partial_fit_calls(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier(
        (4,), learning_rate_init=0.1, decay_rate=0.5, learning_rate="inverse_time"
    )
    for _ in range(4):
        model.partial_fit(X, y, classes=[0, 1, 2])
    assert_allclose(model.learning_rate_curve_, [0.1 / (1 + 0.5 * e) for e in range(4)])
    model.set_params(learning_rate="exponential")
    model.partial_fit(X, y)
    assert model.learning_rate_curve_[-1] == pytest.approx(0.1 * np.exp(-0.5 * 4))


@pytest.mark.parametrize("warmup_epochs", [0, 3])
def test_the_cosine_schedule_falls_to_zero_over_max_iter_after_its_warmup(
    small_multiclass, warmup_epochs
):
    X, y = small_multiclass
    model = MLPBatchNormClassifier(
        (4,),
        learning_rate_init=0.1,
        learning_rate="cosine",
        warmup_epochs=warmup_epochs,
        max_iter=10,
        tol=0.0,
        n_iter_no_change=100,
        random_state=0,
    )
    # the schedule ends the training at max_iter by design: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.fit(X, y)
    expected = [
        0.1 * 0.5 * (1 + np.cos(np.pi * e / 10)) * min(1, (e + 1) / (warmup_epochs + 1))
        for e in range(10)
    ]
    assert_allclose(model.learning_rate_curve_, expected)
    with pytest.warns(ConvergenceWarning, match=r"maximum iterations \(10\)"):
        model.set_params(learning_rate="constant").fit(X, y)


def test_invscaling_divides_by_the_rows_seen_as_scikit_learn_does(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier(
        (4,), solver="sgd", learning_rate="invscaling", power_t=0.25
    )
    for _ in range(3):
        model.partial_fit(X, y, classes=[0, 1, 2])
    n = len(y)
    assert_allclose(
        model.learning_rate_curve_,
        [1e-3 / (seen + 1) ** 0.25 for seen in (0, n, 2 * n)],
    )


def test_adaptive_divides_the_rate_by_5_at_each_stall_until_1e_6():
    # a loss that cannot improve by tol=1e9: every epoch is a stall
    X = np.random.default_rng(0).normal(size=(60, 3))
    y = np.arange(60) % 2
    model = MLPBatchNormClassifier(
        (4,),
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.01,
        tol=1e9,
        n_iter_no_change=2,
        max_iter=100,
        random_state=0,
    )
    model.fit(X, y)
    rates = np.asarray(model.learning_rate_curve_)
    # the first epoch improves on no loss at all; then three epochs at each
    # rate (the count must exceed n_iter_no_change), 0.01 / 5**k, until the
    # rate is at most 1e-6: then training stops
    n_rates = 1 + int(np.ceil(np.log(0.01 / 1e-6) / np.log(5)))
    expected = [0.01, *np.repeat(0.01 / 5.0 ** np.arange(n_rates), 3)]
    assert_allclose(rates, expected)
    assert model.n_iter_ == len(expected) < 100


def test_dropout_is_reproducible_and_leaves_prediction_deterministic(
    small_multiclass,
):
    X, y = small_multiclass
    params = {"dropout": 0.3, "max_iter": 5, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = MLPBatchNormClassifier((8,), **params).fit(X, y)
        second = MLPBatchNormClassifier((8,), **params).fit(X, y)
        plain = MLPBatchNormClassifier((8,), **{**params, "dropout": 0.0}).fit(X, y)
    assert_array_equal(first._network.params, second._network.params)
    assert not np.allclose(first._network.params, plain._network.params)
    assert_array_equal(first.predict_proba(X), first.predict_proba(X))


# -------------------------------------------------------------- warm start


def test_warm_start_continues_training(small_multiclass):
    X, y = small_multiclass
    params = dict(hidden_layer_sizes=(8,), batch_size=32, tol=0.0, random_state=0)
    straight = _quiet_fit(MLPBatchNormClassifier(max_iter=5, **params), X, y)
    resumed = MLPBatchNormClassifier(max_iter=3, warm_start=True, **params)
    _quiet_fit(resumed, X, y)
    optimizer = resumed._optimizer
    _quiet_fit(resumed.set_params(max_iter=2), X, y)
    assert resumed._optimizer is optimizer
    assert resumed.n_iter_ == 2
    assert len(resumed.loss_curve_) == 5
    assert_allclose(resumed.loss_curve_, straight.loss_curve_, rtol=1e-12)
    for a, b in zip(
        [resumed._network.params, resumed._network.statistics],
        [straight._network.params, straight._network.statistics],
    ):
        assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------- early stopping


def test_early_stopping_restores_the_best_epoch_exactly(digits, monkeypatch):
    X, y = digits
    model = MLPBatchNormClassifier(
        (32,),
        learning_rate_init=0.05,
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=200,
        random_state=0,
    )
    split = _capture_validation_split(model, monkeypatch)
    model.fit(X, y)

    assert model.n_iter_ < 200
    # epochs are numbered from 1: the best is the curves' entry best - 1
    best = model.best_epoch_ - 1
    assert best == int(np.argmax(model.validation_scores_))
    assert model.n_iter_ == model.best_epoch_ + model.n_iter_no_change + 1
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_validation_score_ == -model.validation_loss_curve_[best]
    log_proba = model.predict_log_proba(split["X_val"])
    codes = np.searchsorted(model.classes_, split["y_val"])
    restored_loss = -log_proba[np.arange(codes.size), codes].mean()
    assert restored_loss == pytest.approx(model.validation_loss_curve_[best], rel=1e-12)
    last_loss = model.validation_loss_curve_[-1]
    assert restored_loss < last_loss


def test_early_stopping_split_is_stratified(monkeypatch):
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2, 3], [200, 100, 60, 40])
    X = rng.normal(size=(y.size, 3)) + y[:, None]
    model = MLPBatchNormClassifier(
        (4,), early_stopping=True, validation_fraction=0.2, max_iter=2, random_state=0
    )
    split = _capture_validation_split(model, monkeypatch)
    _quiet_fit(model, X, y)
    assert_array_equal(np.bincount(split["y_val"]), [40, 20, 12, 8])
    assert split["X_train"].shape[0] == 320


def test_early_stopping_with_a_scorer(digits):
    X, y = digits
    model = MLPBatchNormClassifier(
        (16,),
        learning_rate_init=0.05,
        early_stopping=True,
        scoring="accuracy",
        max_iter=15,
        random_state=0,
    )
    _quiet_fit(model, X, y)
    scores = np.array(model.validation_scores_)
    assert np.all((scores >= 0) & (scores <= 1))
    assert scores.max() > 0.8
    assert len(model.validation_loss_curve_) == len(scores) == model.n_iter_

    calls = []

    def balanced_accuracy(estimator, X_val, y_val):
        calls.append(X_val.shape[0])
        return accuracy_score(y_val, estimator.predict(X_val))

    callable_model = clone(model).set_params(scoring=balanced_accuracy)
    _quiet_fit(callable_model, X, y)
    assert calls == [180] * callable_model.n_iter_
    assert_allclose(callable_model.validation_scores_, model.validation_scores_)


def test_early_stopping_scorer_on_dataframe_raises_no_feature_name_warning(digits):
    X, y = digits
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])])
    model = MLPBatchNormClassifier(
        (8,), early_stopping=True, scoring="accuracy", max_iter=2, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(frame, y)


def test_a_class_of_one_row_stays_in_training_and_the_split_says_so():
    X = np.random.default_rng(0).normal(size=(30, 2))
    y = np.array([0] * 29 + [1])
    model = MLPBatchNormClassifier(
        (4,), early_stopping=True, validation_fraction=0.2, max_iter=3
    )
    captured = {}
    original = model._validation_split

    def recording_split(*args):
        captured["split"] = original(*args)
        return captured["split"]

    model._validation_split = recording_split
    with pytest.warns(UserWarning, match="cannot stratify its validation split"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
    y_train, y_val = captured["split"][1], captured["split"][4]
    assert (y_train == 1).sum() == 1 and (y_val == 1).sum() == 0
    assert len(y_val) == 6 and len(y_train) == 24
    assert model.predict(X).shape == (30,)


def test_a_validation_split_too_small_for_every_class_is_not_stratified():
    # 10 validation rows cannot hold 12 classes: a random split, with a note
    X = np.random.default_rng(1).normal(size=(96, 3))
    y = np.arange(96) % 12
    model = MLPBatchNormClassifier((4,), early_stopping=True, max_iter=2)
    with pytest.warns(UserWarning, match="10 validation rows for 12 classes"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
    assert len(model.validation_scores_) == 2


def test_a_stratified_split_says_nothing():
    X = np.random.default_rng(2).normal(size=(40, 2))
    y = np.arange(40) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPBatchNormClassifier((4,), early_stopping=True, max_iter=2).fit(X, y)


def test_partial_fit_does_not_hold_data_out(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((4,), early_stopping=True)
    model.partial_fit(X, y, classes=[0, 1, 2])
    assert model.t_ == X.shape[0]
    assert model.validation_scores_ == []


# ------------------------------------------------------------------ weights


def _imbalanced(seed=0):
    rng = np.random.default_rng(seed)
    y = np.array([0] * 950 + [1] * 50)
    X = rng.normal(size=(1000, 2))
    X[y == 1] += 1.2
    return X, y


def test_balanced_class_weight_raises_minority_recall():
    X, y = _imbalanced()
    params = dict(
        hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=50, random_state=0
    )
    plain = _quiet_fit(MLPBatchNormClassifier(**params), X, y)
    balanced = _quiet_fit(
        MLPBatchNormClassifier(class_weight="balanced", **params), X, y
    )
    plain_recall = recall_score(y, plain.predict(X))
    balanced_recall = recall_score(y, balanced.predict(X))
    assert balanced_recall > plain_recall + 0.3


def test_class_weight_equals_matching_sample_weight():
    X, y = _imbalanced()
    params = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    by_class = _quiet_fit(MLPBatchNormClassifier(class_weight={1: 7.0}, **params), X, y)
    by_sample = _quiet_fit(
        MLPBatchNormClassifier(**params), X, y, sample_weight=np.where(y == 1, 7.0, 1.0)
    )
    for a, b in zip(
        [by_class._network.params, by_class._network.statistics],
        [by_sample._network.params, by_sample._network.statistics],
    ):
        assert_allclose(a, b, rtol=1e-12)
    balanced = _quiet_fit(
        MLPBatchNormClassifier(class_weight="balanced", **params), X, y
    )
    by_balanced_sample = _quiet_fit(
        MLPBatchNormClassifier(**params),
        X,
        y,
        sample_weight=np.where(y == 1, 1000 / (2 * 50), 1000 / (2 * 950)),
    )
    assert_allclose(balanced.coefs_[0], by_balanced_sample.coefs_[0], rtol=1e-12)


def test_sample_weight_weights_the_validation_loss(monkeypatch):
    X, y = _imbalanced(1)
    weights = np.random.default_rng(2).uniform(0.1, 5, size=y.size)
    model = MLPBatchNormClassifier(
        (8,), early_stopping=True, max_iter=3, random_state=0, n_iter_no_change=50
    )
    split = _capture_validation_split(model, monkeypatch)
    _quiet_fit(model, X, y, sample_weight=weights)
    log_proba = model.predict_log_proba(split["X_val"])
    losses = -log_proba[np.arange(split["y_val"].size), split["y_val"]]
    weighted = np.average(losses, weights=split["w_val"])
    assert weighted == pytest.approx(model.validation_loss_curve_[-1], rel=1e-12)
    assert not weighted == pytest.approx(losses.mean(), rel=1e-6)


def test_zero_sample_weight_rows_do_not_train(small_multiclass):
    X, y = small_multiclass
    weights = np.where(y == 2, 0.0, 1.0)
    params = dict(hidden_layer_sizes=(), batch_norm=False, max_iter=2, random_state=0)
    weighted = _quiet_fit(MLPBatchNormClassifier(**params), X, y, sample_weight=weights)
    # Without batch norm, zero-weight rows contribute nothing to the gradient.
    X_shifted = X.copy()
    X_shifted[y == 2] += 100.0
    shifted = _quiet_fit(
        MLPBatchNormClassifier(**params),
        X_shifted,
        y,
        sample_weight=weights,
    )
    assert_allclose(weighted.coefs_[0], shifted.coefs_[0], rtol=1e-12)


# ---------------------------------------------------------------- callbacks


@needs_callbacks
def test_callbacks_see_every_epoch_with_a_fitted_estimator(small_multiclass):
    X, y = small_multiclass
    callback = RecordingCallback()
    model = MLPBatchNormClassifier((8,), max_iter=4, random_state=0)
    model.set_callbacks(callback)
    _quiet_fit(model, X, y)
    assert callback.events == [
        "setup",
        ("begin", "fit"),
        *[event for _ in range(4) for event in (("begin", "epoch"), ("end", "epoch"))],
        ("end", "fit"),
        "teardown",
    ]
    for epoch, fitted in enumerate(callback.fitted, start=1):
        assert len(fitted.loss_curve_) == epoch
        assert fitted.predict_proba(X).shape == (120, 3)
    # Each fitted estimator is a snapshot, not a view of the live weights.
    assert not np.array_equal(callback.fitted[0].coefs_[0], model.coefs_[0])
    assert_array_equal(callback.fitted[-1].predict_proba(X), model.predict_proba(X))


@needs_callbacks
def test_callback_can_stop_training(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((8,), max_iter=50, random_state=0)
    model.set_callbacks(RecordingCallback(stop_at_epoch=3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.fit(X, y)
    assert model.n_iter_ == 3


@needs_callbacks
def test_partial_fit_is_a_fit_task_with_one_epoch(small_multiclass):
    X, y = small_multiclass
    callback = RecordingCallback()
    model = MLPBatchNormClassifier((8,)).set_callbacks(callback)
    model.partial_fit(X, y, classes=[0, 1, 2])
    assert callback.events.count(("end", "epoch")) == 1


@needs_callbacks
def test_scoring_monitor_logs_a_score_per_epoch(small_multiclass):
    X, y = small_multiclass
    monitor = ScoringMonitor(scoring="accuracy")
    model = MLPBatchNormClassifier((8,), max_iter=5, random_state=0)
    model.set_callbacks(monitor)
    _quiet_fit(model, X, y)
    log = monitor.get_logs().data_as_pandas
    epochs = log[log["task_name"] == "epoch"]
    assert len(epochs) == 5
    assert epochs["accuracy"].iloc[-1] == pytest.approx(model.score(X, y))


@needs_callbacks
def test_callbacks_propagate_through_pipeline_and_search(small_multiclass, capsys):
    X, y = small_multiclass
    pipeline = make_pipeline(
        StandardScaler(), MLPBatchNormClassifier((4,), max_iter=3, random_state=0)
    )
    search = GridSearchCV(
        pipeline, {"mlpbatchnormclassifier__alpha": [1e-4, 1e-2]}, cv=2
    )
    search.set_callbacks(ProgressBar(max_propagation_depth=None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert search.best_estimator_[-1].n_iter_ == 3
    assert "MLPBatchNormClassifier" in capsys.readouterr().out


def test_training_works_without_callback_support(small_multiclass, monkeypatch):
    X, y = small_multiclass
    monkeypatch.setattr(sknormnet._mlp, "_CALLBACKS_AVAILABLE", False)
    model = _quiet_fit(MLPBatchNormClassifier((4,), max_iter=2), X, y)
    assert model.n_iter_ == 2


# ---------------------------------------------------------- verbose output


def test_verbose_prints_one_line_per_epoch(digits, capsys):
    X, y = digits
    model = MLPBatchNormClassifier((8,), early_stopping=True, max_iter=3, verbose=1)
    _quiet_fit(model, X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        assert line.startswith(f"Epoch {epoch}, loss=")
        assert "validation loss=" in line and "validation score=" in line
        assert "learning rate=0.001" in line and line.endswith("s")


# ------------------------------------------------------------- interrupting


@needs_callbacks
def test_keyboard_interrupt_from_a_callback_leaves_a_usable_model(digits):
    X, y = digits
    model = MLPBatchNormClassifier(
        (8,), learning_rate_init=0.05, max_iter=20, random_state=0
    )
    model.set_callbacks(RecordingCallback(raise_at_epoch=4))
    with pytest.warns(UserWarning, match="training interrupted after 4 epochs"):
        model.fit(X, y)
    assert model.n_iter_ == 4
    assert np.all(np.isfinite(model.predict_proba(X)))
    assert model.score(X, y) > 0.5


@needs_callbacks
def test_keyboard_interrupt_with_early_stopping_keeps_the_best_epoch(digits):
    X, y = digits
    model = MLPBatchNormClassifier(
        (8,), learning_rate_init=0.3, early_stopping=True, max_iter=30, random_state=0
    )
    model.set_callbacks(RecordingCallback(raise_at_epoch=12))
    with pytest.warns(UserWarning, match="best epoch restored"):
        model.fit(X, y)
    snapshot = model._network.snapshot()
    best_state = model._best_state
    for a, b in zip(snapshot, best_state):
        assert_array_equal(a, b)


@needs_callbacks
def test_ctrl_c_stops_at_the_end_of_the_current_batch(small_multiclass):
    X, y = small_multiclass
    handler_before = signal.getsignal(signal.SIGINT)

    def press_ctrl_c(epoch):
        if epoch == 3:
            os.kill(os.getpid(), signal.SIGINT)

    model = MLPBatchNormClassifier((8,), batch_size=16, max_iter=20, random_state=0)
    model.set_callbacks(RecordingCallback(on_epoch_begin=press_ctrl_c))
    with pytest.warns(UserWarning, match="training interrupted after 3 epochs"):
        model.fit(X, y)
    # Two full epochs of 8 batches, then one batch of the third.
    assert model._optimizer.t == 2 * 8 + 1
    assert model.t_ == 2 * 120 + 16
    assert signal.getsignal(signal.SIGINT) is handler_before
    assert np.all(np.isfinite(model.predict_proba(X)))


@needs_callbacks
def test_second_ctrl_c_stops_at_once_and_keeps_a_consistent_model(small_multiclass):
    X, y = small_multiclass

    def press_ctrl_c_twice(epoch):
        if epoch == 2:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)

    model = MLPBatchNormClassifier((8,), batch_size=16, max_iter=20, random_state=0)
    model.set_callbacks(RecordingCallback(on_epoch_begin=press_ctrl_c_twice))
    with pytest.warns(UserWarning, match="training interrupted after 1 epochs"):
        model.fit(X, y)
    assert model._optimizer.t == 8
    assert np.all(np.isfinite(model.predict_proba(X)))


@needs_callbacks
def test_ctrl_c_is_left_to_an_application_that_handles_it(small_multiclass):
    # Under a handler of its own (a search's, a program's), Ctrl-C must stop
    # the caller, not return a cut-short model as if it were finished.
    X, y = small_multiclass

    def application_handler(signum, frame):
        raise KeyboardInterrupt

    def press_ctrl_c(epoch):
        if epoch == 3:
            os.kill(os.getpid(), signal.SIGINT)

    model = MLPBatchNormClassifier((8,), batch_size=16, max_iter=20, random_state=0)
    model.set_callbacks(RecordingCallback(on_epoch_begin=press_ctrl_c))
    previous = signal.signal(signal.SIGINT, application_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(X, y)
        assert signal.getsignal(signal.SIGINT) is application_handler
    finally:
        signal.signal(signal.SIGINT, previous)
    # Back at the start of the epoch the interrupt cut short: two whole ones.
    assert model._optimizer.t == 2 * 8
    assert model.t_ == 2 * 120
    assert np.isfinite(model._network.params).all()


@needs_callbacks
def test_a_process_that_ignores_ctrl_c_keeps_ignoring_it(small_multiclass):
    # started with nohup or in the background: SIGINT is ignored, and must
    # stay so, not become a request to stop
    X, y = small_multiclass

    def press_ctrl_c(epoch):
        if epoch == 3:
            os.kill(os.getpid(), signal.SIGINT)

    model = MLPBatchNormClassifier((8,), batch_size=16, max_iter=6, random_state=0)
    model.set_callbacks(RecordingCallback(on_epoch_begin=press_ctrl_c))
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            _quiet_fit(model, X, y)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    assert model.n_iter_ == 6


@needs_callbacks
def test_one_ctrl_c_stops_a_partial_fit_loop(small_multiclass):
    X, y = small_multiclass
    handler_before = signal.getsignal(signal.SIGINT)

    def press_ctrl_c(epoch):
        if epoch == 3:
            os.kill(os.getpid(), signal.SIGINT)

    model = MLPBatchNormClassifier((8,), batch_size=16, random_state=0)
    model.set_callbacks(RecordingCallback(on_epoch_begin=press_ctrl_c))
    calls = 0
    with pytest.raises(KeyboardInterrupt, match="training interrupted after 3 epochs"):
        for calls in range(1, 11):  # noqa: B007
            model.partial_fit(X, y, classes=[0, 1, 2])
    assert calls == 3
    assert signal.getsignal(signal.SIGINT) is handler_before
    # two whole epochs of 8 batches and the batch Ctrl-C came in: a usable model
    assert model._optimizer.t == 2 * 8 + 1
    assert len(model.loss_curve_) == 3
    assert np.all(np.isfinite(model.predict_proba(X)))
    model.partial_fit(X, y)  # and the next call trains on
    assert len(model.loss_curve_) == 4
