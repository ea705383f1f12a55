"""scikit-learn's MLPClassifier conventions, with MLPClassifier as the reference:
the classes of later calls, the early-stopping attributes, n_iter_no_change.

Each test runs the same calls on both estimators and expects the same outcome."""

import io
import re
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sknormnet import MLPBatchNormClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _both(**params):
    """This classifier and scikit-learn's, with the parameters they share."""
    return [
        MLPBatchNormClassifier((4,), random_state=0, **params),
        MLPClassifier((4,), solver="adam", random_state=0, **params),
    ]


def _outcome(method, *args, **kwargs):
    """The outcome of ``method(*args, **kwargs)``: "ok" or the error type."""
    try:
        method(*args, **kwargs)
    except Exception as error:  # the outcome is compared, whatever it is
        return type(error).__name__
    return "ok"


# ------------------------------------------------------------------ classes


@pytest.mark.parametrize(
    "classes, outcome",
    [
        ([0, 1, 2], "ok"),
        ([2, 0, 1], "ok"),  # the same classes, in another order
        (None, "ok"),
        ([0, 1], "ValueError"),
        ([0, 1, 2, 3], "ValueError"),
        ([1, 2, 3], "ValueError"),
    ],
)
def test_partial_fit_takes_the_classes_of_its_first_call_only(
    classes, outcome, small_multiclass
):
    X, y = small_multiclass
    for model in _both():
        model.partial_fit(X, y, classes=[0, 1, 2])
        coefs = [coef.copy() for coef in model.coefs_]
        assert _outcome(model.partial_fit, X, y, classes=classes) == outcome
        if outcome != "ok":
            assert_array_equal(model.classes_, [0, 1, 2])
            for got, want in zip(model.coefs_, coefs):
                assert_array_equal(got, want)


def test_the_error_for_other_classes_names_both(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((4,)).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(
        ValueError,
        match=r"classes=\[1, 2, 3\] is not the same as the model's classes, "
        r"\[0, 1, 2\].*Pass the same classes",
    ):
        model.partial_fit(X, y, classes=[1, 2, 3])


@pytest.mark.parametrize(
    "labels, outcome",
    [
        ([0, 1, 2], "ok"),
        ([2, 1, 0], "ok"),
        ([0, 1], "ValueError"),  # a class missing
        ([0, 1, 2, 3], "ValueError"),  # a new class
        ([0, 1, 3], "ValueError"),
    ],
)
def test_a_warm_started_fit_needs_the_same_classes(labels, outcome, small_multiclass):
    X, _ = small_multiclass
    y = np.arange(120) % 3
    y_new = np.resize(np.asarray(labels), 120)
    for model in _both(warm_start=True, max_iter=2):
        model.fit(X, y)
        assert _outcome(model.fit, X, y_new) == outcome
        assert_array_equal(model.classes_, [0, 1, 2])


def test_a_warm_started_fit_missing_a_class_says_which(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((4,), warm_start=True, max_iter=2).fit(X, y)
    with pytest.raises(
        ValueError, match=r"warm_start=True .* but y has no sample of \[2\].*"
    ):
        model.fit(X[y < 2], y[y < 2])
    # without warm_start, a fit learns the classes of its y
    model.set_params(warm_start=False).fit(X[y < 2], y[y < 2])
    assert_array_equal(model.classes_, [0, 1])


# ------------------------------------------------- early-stopping attributes


@pytest.mark.parametrize("early_stopping", [True, False])
def test_best_loss_and_validation_scores_are_those_of_mlpclassifier(
    early_stopping, digits
):
    X, y = digits
    for model in _both(early_stopping=early_stopping, max_iter=8):
        model.fit(X, y)
        if early_stopping:
            assert model.best_loss_ is None
            assert isinstance(model.validation_scores_, list)
            assert len(model.validation_scores_) == model.n_iter_
            assert model.best_validation_score_ == max(model.validation_scores_)
        else:
            assert model.best_loss_ == min(model.loss_curve_)
            assert model.validation_scores_ is None
            assert model.best_validation_score_ is None


def test_the_attributes_follow_early_stopping_from_one_fit_to_the_next(
    small_multiclass,
):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((4,), max_iter=3, warm_start=True)
    model.set_params(early_stopping=True).fit(X, y)
    assert model.best_loss_ is None and len(model.validation_scores_) == 3
    model.partial_fit(X, y)  # never holds data out
    assert model.best_loss_ is None and len(model.validation_scores_) == 3
    model.set_params(early_stopping=False).fit(X, y)
    assert model.best_loss_ == min(model.loss_curve_[-3:])
    assert model.validation_scores_ is None and model.best_epoch_ is None
    model.partial_fit(X, y)
    assert model.best_loss_ == min(model.loss_curve_[-4:])
    model.set_params(early_stopping=True).fit(X, y)
    assert model.best_loss_ is None and len(model.validation_scores_) == 3


def test_best_epoch_is_numbered_from_1_as_the_verbose_output(digits):
    X, y = digits
    model = MLPBatchNormClassifier(
        (16,),
        learning_rate_init=0.05,
        early_stopping=True,
        n_iter_no_change=2,
        verbose=1,
        random_state=0,
    )
    output = io.StringIO()
    with redirect_stdout(output):
        model.fit(X, y)
    lines = output.getvalue().splitlines()
    scores = {
        int(match[1]): float(match[2])
        for line in lines
        if (match := re.match(r"Epoch (\d+), .*validation score=(\S+),", line))
    }
    assert list(scores) == list(range(1, model.n_iter_ + 1))
    best = max(scores, key=scores.get)
    assert model.best_epoch_ == best
    assert model.validation_scores_[model.best_epoch_ - 1] == pytest.approx(
        model.best_validation_score_
    )
    assert 1 <= model.best_epoch_ < model.n_iter_


# ---------------------------------------------------------- n_iter_no_change


@pytest.mark.parametrize("early_stopping", [False, True])
def test_n_iter_no_change_inf_never_stops_early(early_stopping, small_multiclass):
    # A tolerance no epoch can beat: every epoch counts as no improvement.
    X, y = small_multiclass
    for model in _both(
        tol=1e9, n_iter_no_change=np.inf, max_iter=15, early_stopping=early_stopping
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(X, y)
        assert model.n_iter_ == 15
        assert any("maximum iterations" in str(w.message).lower() for w in caught)
    # a finite n_iter_no_change stops after it
    model = MLPBatchNormClassifier((4,), tol=1e9, n_iter_no_change=3, max_iter=15)
    assert model.fit(X, y).n_iter_ == 5
