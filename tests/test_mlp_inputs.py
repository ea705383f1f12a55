"""Inputs the classifier refuses, each with an error that names the value and
the fix, and that leaves the model as it was before the call."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from sknormnet import MLPBatchNormClassifier


def _quiet_fit(model, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **kwargs)


def _state(model):
    """What a refused call must leave as it was."""
    return {
        "params": model._network.params.copy(),
        "statistics": model._network.statistics.copy(),
        "classes_": model.classes_.copy(),
        "n_features_in_": model.n_features_in_,
        "loss_curve_": list(model.loss_curve_),
        "t_": model.t_,
    }


def _assert_unchanged(model, before):
    after = _state(model)
    for name, value in before.items():
        if isinstance(value, np.ndarray):
            assert_array_equal(after[name], value, err_msg=name)
        else:
            assert after[name] == value, name


# ------------------------------------------------------- hidden_layer_sizes


@pytest.mark.parametrize(
    "sizes",
    [True, (True,), (8, False), np.array([True, True]), {8: 4}, {8}, "88"],
    ids=["True", "(True,)", "(8, False)", "bool array", "dict", "set", "str"],
)
def test_hidden_layer_sizes_refuses_bools_and_containers_without_order(
    sizes, small_multiclass
):
    X, y = small_multiclass
    model = MLPBatchNormClassifier(sizes, max_iter=1)
    with pytest.raises(InvalidParameterError, match="'hidden_layer_sizes' parameter"):
        model.fit(X, y)
    with pytest.raises(InvalidParameterError, match="'hidden_layer_sizes' parameter"):
        model.partial_fit(X, y, classes=[0, 1, 2])


@pytest.mark.parametrize(
    "sizes, widths",
    [(5, [5]), ((5, 3), [5, 3]), ([4], [4]), (np.array([6, 2]), [6, 2]), ((), [])],
)
def test_hidden_layer_sizes_takes_an_int_or_a_sequence_of_ints(
    sizes, widths, small_multiclass
):
    X, y = small_multiclass
    model = _quiet_fit(MLPBatchNormClassifier(sizes, max_iter=1), X, y)
    assert [coef.shape[1] for coef in model.coefs_[:-1]] == widths


# ------------------------------------------------------------ sample_weight


@pytest.mark.parametrize(
    "weights, match",
    [
        (np.full(120, 1e308), r"sum to more than 1\.8e\+308.*Divide the weights"),
        (np.full(120, 1e300), r"sum to 1\.2e\+302.*alpha by the same factor"),
        (1e307, r"sum to more than 1\.8e\+308"),
        (np.r_[np.ones(119), np.inf], r"1 non-finite .*row 119: inf.*finite weight"),
        (np.r_[np.nan, np.ones(119)], r"1 non-finite .*row 0: nan"),
        (np.r_[np.ones(60), -np.ones(60)], r"60 negative .*row 60: -1\.0.*0 or more"),
        (np.zeros(120), r"weights are zero for every row.*positive weight"),
    ],
    ids=["1e308", "sum 1.2e302", "scalar", "inf", "nan", "negative", "zeros"],
)
@pytest.mark.parametrize("how", ["fit", "partial_fit"])
def test_sample_weight_is_checked(weights, match, how, small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((4,), max_iter=2)
    with pytest.raises(ValueError, match=match):
        if how == "fit":
            model.fit(X, y, sample_weight=weights)
        else:
            model.partial_fit(X, y, classes=[0, 1, 2], sample_weight=weights)


def test_float32_training_takes_smaller_weight_totals(small_multiclass):
    # 1e30 per row is a float32, but 120 of them are more than the weighted
    # loss can carry in float32 (at most max * eps, about 4e31).
    X, y = small_multiclass
    model = MLPBatchNormClassifier((4,), max_iter=1)
    with pytest.raises(ValueError, match=r"sum to 1\.2e\+32, .* in float32"):
        model.fit(X.astype(np.float32), y, sample_weight=np.full(120, 1e30))
    # beyond float32's range, counted before the weights are cast to it
    with pytest.raises(ValueError, match=r"sum to 1\.2e\+41, .* in float32"):
        model.fit(X.astype(np.float32), y, sample_weight=np.full(120, 1e39))


def test_large_weights_within_the_bound_train_as_their_rescaled_version(
    small_multiclass,
):
    # The loss is a weighted mean: weights c times larger train the same
    # network when alpha is c times larger too (the penalty is divided by the
    # sum of the weights). c is a power of two, so that both are exact.
    X, y = small_multiclass
    weights = np.random.default_rng(0).uniform(0.5, 2.0, size=y.size)
    params = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    scale = 2.0**900
    plain = _quiet_fit(MLPBatchNormClassifier(**params), X, y, sample_weight=weights)
    scaled = _quiet_fit(
        MLPBatchNormClassifier(alpha=1e-4 * scale, **params),
        X,
        y,
        sample_weight=weights * scale,
    )
    assert np.isfinite(scaled.loss_curve_).all()
    np.testing.assert_allclose(scaled._network.params, plain._network.params)
    np.testing.assert_allclose(scaled.loss_curve_, plain.loss_curve_)


def test_weights_of_zero_for_every_class_present_are_refused(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((4,), class_weight={0: 0.0}, max_iter=1)
    with pytest.raises(
        ValueError, match="sample weights times class_weight are zero for every row"
    ):
        model.fit(X, y, sample_weight=np.where(y == 0, 1.0, 0.0))


def test_weights_left_to_train_on_after_the_validation_split_must_not_all_be_zero():
    X = np.random.default_rng(0).normal(size=(40, 2))
    y = np.arange(40) % 2
    weights = np.zeros(40)
    weights[[0, 1]] = 1.0  # two rows, which the 0.5 split may hold out
    found = False
    for seed in range(20):
        model = MLPBatchNormClassifier(
            (4,), early_stopping=True, validation_fraction=0.5, random_state=seed
        )
        try:
            _quiet_fit(model, X, y, sample_weight=weights)
        except ValueError as error:
            assert "zero for every row left to train on" in str(error)
            assert "validation_fraction=0.5" in str(error)
            found = True
            break
    assert found


# ------------------------------------------------------- validation_fraction


@pytest.mark.parametrize("fraction, n_train", [(0.99, 1), (0.999, 0)])
def test_a_validation_fraction_leaving_too_few_rows_is_named(fraction, n_train):
    X = np.random.default_rng(0).normal(size=(100, 3))
    y = np.arange(100) % 2
    model = MLPBatchNormClassifier(
        (4,), early_stopping=True, validation_fraction=fraction
    )
    with pytest.raises(ValueError) as error:
        model.fit(X, y)
    message = str(error.value)
    assert f"validation_fraction={fraction}" in message
    assert f"leaves {n_train} to train on, fewer than the 2 classes" in message
    assert "lower validation_fraction (to at most 0.98)" in message
    assert "test_size" not in message and "train_size" not in message


# ------------------------------------------------------------ multilabel y


@pytest.mark.parametrize("container", ["array", "sparse", "list"])
@pytest.mark.parametrize("how", ["fit", "partial_fit"])
def test_a_multilabel_target_is_refused_with_the_way_to_fit_it(
    container, how, small_multiclass
):
    X, y = small_multiclass
    indicator = np.eye(3, dtype=int)[y]
    indicator[::7, 0] = 1  # some rows have two labels
    Y = {
        "array": indicator,
        "sparse": sparse.csr_matrix(indicator),
        "list": indicator.tolist(),
    }[container]
    model = MLPBatchNormClassifier((4,), max_iter=1)
    with pytest.raises(ValueError) as error:
        if how == "fit":
            model.fit(X, Y)
        else:
            model.partial_fit(X, Y, classes=[0, 1, 2])
    message = str(error.value)
    assert "y has shape (120, 3)" in message
    assert "softmax classifier" in message
    assert "MultiOutputClassifier" in message


# ---------------------------------------- a refused call changes nothing


def _refusals(X, y):
    """Calls that fail their checks, each on the model fitted to ``X, y``."""
    wider = np.c_[X, X[:, :2]]
    return {
        "sample_weight": lambda model: model.fit(
            wider, y, sample_weight=np.full(y.size, 1e308)
        ),
        "class_weight": lambda model: model.set_params(class_weight={7: 1.0}).fit(
            wider, y
        ),
        "validation_fraction": lambda model: model.set_params(
            early_stopping=True, validation_fraction=0.999
        ).fit(wider, y),
        "partial_fit classes": lambda model: model.partial_fit(
            X, y, classes=[0, 1, 2, 3]
        ),
        "warm_start classes": lambda model: model.set_params(warm_start=True).fit(
            X, np.minimum(y, 1)
        ),
        "multilabel": lambda model: model.fit(wider, np.eye(3)[y]),
    }


@pytest.mark.parametrize(
    "refusal", list(_refusals(np.zeros((1, 2)), np.zeros(1, dtype=int)))
)
def test_a_refused_call_leaves_the_model_as_it_was(refusal, small_multiclass):
    X, y = small_multiclass
    model = _quiet_fit(MLPBatchNormClassifier((4,), max_iter=2, random_state=0), X, y)
    before = _state(model)
    proba = model.predict_proba(X)
    with pytest.raises(ValueError):
        _refusals(X, y)[refusal](model)
    _assert_unchanged(model, before)
    assert_array_equal(model.predict_proba(X), proba)
