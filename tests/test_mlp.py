import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from scipy.special import expit
from scipy.special import log_softmax as scipy_log_softmax
from scipy.special import softmax as scipy_softmax
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sknormnet import MLPBatchNormClassifier
from sknormnet._layers import Dense
from sknormnet._network import StepSettings
from sknormnet._optimizers import SGD

ACTIVATIONS = ["relu", "tanh", "logistic", "identity"]
SOLVERS = ["sgd", "momentum", "rmsprop", "adam"]
ACTIVATION_FORMULAS = {
    "identity": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "logistic": expit,
}


def _quiet_fit(model, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **kwargs)


def _cross_entropy_and_gradient(model, X, y_codes, sample_weight=None):
    network = model._network
    cross_entropy, _ = network.backpropagate(X, y_codes, sample_weight)
    return cross_entropy, network.grads.copy()


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_gradients_match_finite_differences(activation, batch_norm, weighted):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 4))
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    model = MLPBatchNormClassifier(
        hidden_layer_sizes=(5, 3),
        activation=activation,
        batch_norm=batch_norm,
        alpha=0.3,
        max_iter=1,
        random_state=0,
    )
    _quiet_fit(model, X, y)
    params = model._network.params
    # Move gamma, beta and biases off their initial values so that every
    # term of the gradient is exercised.
    params += rng.normal(scale=0.3, size=params.shape)
    sample_weight = rng.uniform(0.2, 3, size=9) if weighted else None

    _, grad = _cross_entropy_and_gradient(model, X, y, sample_weight)
    n_params = 4 * 5 + 5 * 3 + 3 * 3 + 3 + (2 * (5 + 3) if batch_norm else 5 + 3)
    assert params.size == n_params
    step = 1e-6
    numeric = np.zeros_like(params)
    for index in range(params.size):
        original = params[index]
        params[index] = original + step
        plus = _cross_entropy_and_gradient(model, X, y, sample_weight)[0]
        params[index] = original - step
        minus = _cross_entropy_and_gradient(model, X, y, sample_weight)[0]
        params[index] = original
        numeric[index] = (plus - minus) / (2 * step)
    assert_allclose(grad, numeric, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("batch_norm", [True, False])
def test_input_gradients_overwrite_only_outputs_backward_does_not_read(
    activation, batch_norm, small_multiclass
):
    # The finite-difference test above fails if a layer's output is
    # overwritten when its backward pass still reads it; this one fails if the
    # saving is lost where it is safe (batch norm with relu or the identity).
    X, y = small_multiclass
    model = _quiet_fit(
        MLPBatchNormClassifier(
            (5, 4), activation=activation, batch_norm=batch_norm, max_iter=1
        ),
        X,
        y,
    )
    dense = [layer for layer in model._network.layers if isinstance(layer, Dense)]
    expected = batch_norm and activation in ("identity", "relu")
    assert [layer.input_grad_over_input for layer in dense] == [False] + [expected] * 2


def _batch_logits(model, X):
    """Logits in training mode (batch statistics), in plain NumPy."""
    activations = X
    for index, weights in enumerate(model.coefs_[:-1]):
        z = activations @ weights
        if model.gammas_:
            z = (z - z.mean(0)) / np.sqrt(z.var(0) + model.batch_norm_epsilon)
            z = model.gammas_[index] * z + model.betas_[index]
        else:
            z = z + model.intercepts_[index]
        activations = ACTIVATION_FORMULAS[model.activation](z)
    return activations @ model.coefs_[-1] + model.intercepts_[-1]


@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_train_step_is_the_penalized_loss_and_an_sgd_step(batch_norm, weighted):
    # The loss is the cross-entropy plus 0.5 * alpha * sum(W**2) / sum(s), and
    # its gradient adds alpha * W / sum(s) to the weights' gradient only.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, 3))
    y = np.arange(12) % 3
    sample_weight = rng.uniform(0.2, 3, size=12) if weighted else None
    alpha, learning_rate = 0.7, 0.05
    model = _quiet_fit(
        MLPBatchNormClassifier(
            (4, 5), batch_norm=batch_norm, alpha=alpha, max_iter=1, random_state=0
        ),
        X,
        y,
    )
    network = model._network
    model._network.params += rng.normal(scale=0.3, size=network.params.size)
    logits = _batch_logits(model, X)
    weights = np.ones(12) if sample_weight is None else sample_weight
    log_proba = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    cross_entropy = -(weights * log_proba[np.arange(12), y]).sum() / weights.sum()
    squares = sum((w**2).sum() for w in model.coefs_)
    params_before = network.params.copy()
    _, grad = _cross_entropy_and_gradient(model, X, y, sample_weight)
    network.restore((params_before, network.statistics.copy()))

    loss = network.train_step(
        X, y, sample_weight, SGD(), learning_rate, StepSettings(alpha=alpha)
    )

    assert loss == pytest.approx(
        cross_entropy + 0.5 * alpha * squares / weights.sum(), rel=1e-10
    )
    penalty_grad = np.zeros_like(params_before)
    penalty_grad[: network.n_weights] = (
        alpha / weights.sum() * params_before[: network.n_weights]
    )
    assert_allclose(
        network.params,
        params_before - learning_rate * (grad + penalty_grad),
        rtol=1e-12,
        atol=1e-15,
    )


def test_fitted_attributes_shapes(small_multiclass):
    X, y = small_multiclass
    model = _quiet_fit(MLPBatchNormClassifier((7, 5), max_iter=3), X, y)
    assert [c.shape for c in model.coefs_] == [(6, 7), (7, 5), (5, 3)]
    assert model.intercepts_[:2] == [None, None]
    assert model.intercepts_[2].shape == (3,)
    for attribute in ["gammas_", "betas_", "running_means_", "running_vars_"]:
        assert [a.shape for a in getattr(model, attribute)] == [(7,), (5,)]
    assert model.n_layers_ == 4
    assert model.n_outputs_ == 3
    assert model.out_activation_ == "softmax"
    assert len(model.loss_curve_) == model.n_iter_ == 3
    assert model.loss_ == model.loss_curve_[-1]
    assert model.best_loss_ == min(model.loss_curve_)
    assert model.t_ == 3 * X.shape[0]
    assert_array_equal(model.classes_, [0, 1, 2])

    plain = _quiet_fit(MLPBatchNormClassifier((7,), batch_norm=False, max_iter=2), X, y)
    assert plain.gammas_ == plain.betas_ == []
    assert plain.running_means_ == plain.running_vars_ == []
    assert plain.intercepts_[0].shape == (7,)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("batch_norm", [True, False])
def test_predictions_match_a_plain_numpy_reference(
    activation, batch_norm, small_multiclass
):
    X, y = small_multiclass
    model = _quiet_fit(
        MLPBatchNormClassifier(
            (8, 6),
            activation=activation,
            batch_norm=batch_norm,
            max_iter=5,
            random_state=0,
        ),
        X,
        y,
    )
    # Unfolded, at test time: the running statistics replace the batch's.
    activations = X
    for index, weights in enumerate(model.coefs_[:-1]):
        z = activations @ weights
        if batch_norm:
            z_norm = (z - model.running_means_[index]) / np.sqrt(
                model.running_vars_[index] + model.batch_norm_epsilon
            )
            z = model.gammas_[index] * z_norm + model.betas_[index]
        else:
            z = z + model.intercepts_[index]
        activations = ACTIVATION_FORMULAS[activation](z)
    logits = activations @ model.coefs_[-1] + model.intercepts_[-1]
    assert_allclose(
        model.predict_proba(X), scipy_softmax(logits, axis=1), rtol=1e-10, atol=1e-14
    )
    assert_allclose(
        model.predict_log_proba(X),
        scipy_log_softmax(logits, axis=1),
        rtol=1e-10,
        atol=1e-12,
    )
    assert_array_equal(model.predict(X), model.classes_[logits.argmax(1)])


def test_a_row_is_predicted_independently_of_its_batch(small_multiclass):
    X, y = small_multiclass
    model = _quiet_fit(MLPBatchNormClassifier((8,), max_iter=5, random_state=0), X, y)
    together = model.predict_proba(X)
    for row in [0, 17, 119]:
        alone = model.predict_proba(X[row : row + 1])
        assert_allclose(alone[0], together[row], rtol=1e-12, atol=1e-15)


def test_predict_is_chunked_without_changing_results(small_multiclass, monkeypatch):
    X, y = small_multiclass
    model = _quiet_fit(MLPBatchNormClassifier((8,), max_iter=3, random_state=0), X, y)
    whole = model.predict_proba(X)
    monkeypatch.setattr("sknormnet._network.PREDICT_CHUNK_ELEMENTS", 8 * 7)
    assert_allclose(model.predict_proba(X), whole, rtol=1e-13)


def test_predict_methods_agree(small_multiclass):
    X, y = small_multiclass
    model = _quiet_fit(MLPBatchNormClassifier((8,), max_iter=5, random_state=0), X, y)
    proba = model.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1)
    assert_allclose(np.exp(model.predict_log_proba(X)), proba)
    assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])


# class codes 0, 1 and 2 to labels; code 3 is a label the model never saw
LABELINGS = {
    "integers": lambda codes: codes,
    "strings": lambda codes: np.array(["ant", "bee", "cat", "dog"])[codes],
    "objects": lambda codes: np.array(["ant", "bee", "cat", "dog"], object)[codes],
    "floats": lambda codes: codes.astype(float),
    "booleans": lambda codes: codes >= 1,
}


@pytest.mark.parametrize("labeling", LABELINGS)
@pytest.mark.parametrize("container", ["array", "series", "list"])
@pytest.mark.parametrize("weighted", [False, True])
def test_score_is_the_accuracy_score(labeling, container, weighted, small_multiclass):
    X, codes = small_multiclass
    # a model that errs on some rows, so that the accuracy is not 1
    model = MLPBatchNormClassifier((2,), max_iter=1, random_state=0)
    _quiet_fit(model, X, LABELINGS[labeling](codes))
    unseen = np.roll(codes, 7)
    unseen[::5] = 3
    sample_weight = np.arange(codes.size) % 4 if weighted else None
    for truth in (codes, np.roll(codes, 7), unseen):
        y = LABELINGS[labeling](truth)
        y = {"array": y, "series": pd.Series(y), "list": list(y)}[container]
        expected = accuracy_score(y, model.predict(X), sample_weight=sample_weight)
        assert 0 < expected < 1
        assert model.score(X, y, sample_weight=sample_weight) == expected


def test_score_reports_what_accuracy_score_reports(small_multiclass):
    X, y = small_multiclass
    model = _quiet_fit(MLPBatchNormClassifier((8,), max_iter=5, random_state=0), X, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        model.score(X, y[:-1])
    with pytest.raises(ValueError, match="continuous"):
        model.score(X, y + 0.5)


def test_predict_log_proba_is_finite_for_extreme_inputs(small_multiclass):
    X, y = small_multiclass
    model = _quiet_fit(MLPBatchNormClassifier((8,), max_iter=5, random_state=0), X, y)
    log_proba = model.predict_log_proba(X * 1e6)
    assert np.all(np.isfinite(log_proba))
    assert np.any(log_proba < -1000)


def test_learns_digits_to_97_percent():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    model = make_pipeline(StandardScaler(), MLPBatchNormClassifier(random_state=0))
    _quiet_fit(model, X_train, y_train)
    assert model.score(X_test, y_test) >= 0.97


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("batch_norm", [True, False])
def test_every_solver_learns(solver, batch_norm, small_multiclass):
    X, y = small_multiclass
    learning_rate = 0.1 if solver in ("sgd", "momentum") else 0.01
    model = MLPBatchNormClassifier(
        (10,),
        solver=solver,
        batch_norm=batch_norm,
        learning_rate_init=learning_rate,
        batch_size=16,
        max_iter=30,
        random_state=0,
    )
    _quiet_fit(model, X, y)
    assert model.loss_curve_[-1] < 0.5 * model.loss_curve_[0]
    assert model.score(X, y) > 0.95


def test_same_random_state_gives_same_model(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((8,), max_iter=4, random_state=3)
    first = _quiet_fit(clone(model), X, y)
    second = _quiet_fit(clone(model), X, y)
    for a, b in zip(
        [first._network.params, first._network.statistics],
        [second._network.params, second._network.statistics],
    ):
        assert_array_equal(a, b)
    assert first.loss_curve_ == second.loss_curve_
    other = _quiet_fit(clone(model).set_params(random_state=4), X, y)
    assert not np.array_equal(first.coefs_[0], other.coefs_[0])


def test_refit_without_warm_start_starts_over(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((8,), max_iter=4, random_state=3)
    first_curve = list(_quiet_fit(model, X, y).loss_curve_)
    assert _quiet_fit(model, X, y).loss_curve_ == first_curve


def test_pickle_round_trip_gives_identical_predictions(small_multiclass):
    X, y = small_multiclass
    model = _quiet_fit(MLPBatchNormClassifier((8,), max_iter=4, random_state=0), X, y)
    restored = pickle.loads(pickle.dumps(model))
    assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    # The restored model keeps training from the same state.
    model.partial_fit(X, y)
    restored.partial_fit(X, y)
    assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trains_and_predicts_in_input_dtype(dtype, small_multiclass):
    X, y = small_multiclass
    model = _quiet_fit(MLPBatchNormClassifier((8,), max_iter=3), X.astype(dtype), y)
    for array in [model._network.params, model._network.statistics]:
        assert array.dtype == dtype
    assert model.predict_proba(X.astype(dtype)).dtype == dtype
    for state in model._optimizer.moments[0]:
        assert state.dtype == dtype


def test_float32_training_matches_float64(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((8,), max_iter=3, random_state=0, shuffle=False)
    single = _quiet_fit(clone(model), X.astype(np.float32), y)
    double = _quiet_fit(clone(model), X, y)
    assert_allclose(single.loss_curve_, double.loss_curve_, rtol=1e-4)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_matches_dense(fmt, small_multiclass):
    X, y = small_multiclass
    X = np.where(np.abs(X) > 1, X, 0)
    model = MLPBatchNormClassifier((8,), max_iter=3, random_state=0)
    dense = _quiet_fit(clone(model), X, y)
    sparse_model = _quiet_fit(clone(model), sparse.csr_matrix(X).asformat(fmt), y)
    assert_allclose(sparse_model.loss_curve_, dense.loss_curve_, rtol=1e-10)
    assert_allclose(
        sparse_model.predict_proba(sparse.csr_matrix(X).asformat(fmt)),
        dense.predict_proba(X),
        rtol=1e-9,
    )


def test_dataframe_input_records_feature_names(small_multiclass):
    X, y = small_multiclass
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    model = _quiet_fit(MLPBatchNormClassifier((8,), max_iter=2), frame, pd.Series(y))
    assert_array_equal(model.feature_names_in_, frame.columns)
    renamed = frame.rename(columns={"f0": "other"})
    with pytest.raises(ValueError, match="feature names"):
        model.predict(renamed)


@pytest.mark.parametrize(
    "labels", [np.array(["cat", "dog"]), np.array([-1, 1]), np.array([True, False])]
)
def test_binary_labels_of_any_type(labels):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = labels[(X[:, 0] > 0).astype(int)]
    model = MLPBatchNormClassifier(
        (6,), learning_rate_init=0.05, max_iter=20, random_state=0
    )
    _quiet_fit(model, X, y)
    assert model.n_outputs_ == 2
    assert model.predict_proba(X).shape == (60, 2)
    assert set(model.predict(X)) <= set(labels)
    assert model.score(X, y) > 0.9


def test_string_multiclass_labels(small_multiclass):
    X, y = small_multiclass
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = MLPBatchNormClassifier(
        (8,), learning_rate_init=0.05, max_iter=10, random_state=0
    )
    _quiet_fit(model, X, names)
    assert_array_equal(model.classes_, ["setosa", "versicolor", "virginica"])
    assert model.score(X, names) > 0.9


def test_remainder_batch_of_one_row_joins_previous_batch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(11, 3))
    y = np.arange(11) % 2
    model = _quiet_fit(MLPBatchNormClassifier((4,), batch_size=5, max_iter=1), X, y)
    slices = model._batch_slices(11)
    assert [(s.start, s.stop) for s in slices] == [(0, 5), (5, 11)]
    assert np.all(np.isfinite(model.coefs_[0]))
    no_norm = MLPBatchNormClassifier((4,), batch_norm=False, batch_size=5)
    _quiet_fit(no_norm.set_params(max_iter=1), X, y)
    assert len(no_norm._batch_slices(11)) == 3


def test_batch_size_larger_than_data_is_clipped_with_warning(small_multiclass):
    X, y = small_multiclass
    with pytest.warns(UserWarning, match="batch_size=1000 is larger"):
        _quiet_fit(MLPBatchNormClassifier((4,), batch_size=1000, max_iter=1), X, y)


def test_intercepts_of_batch_normalized_layers_stay_none(small_multiclass):
    X, y = small_multiclass
    model = _quiet_fit(MLPBatchNormClassifier((4, 4), max_iter=2), X, y)
    assert model.intercepts_[0] is None and model.intercepts_[1] is None
    layers = model._network.layers
    dense_layers = [layer for layer in layers if isinstance(layer, Dense)]
    assert [layer.bias is None for layer in dense_layers] == [True, True, False]


def test_no_hidden_layer_is_softmax_regression(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier(
        (), learning_rate_init=0.05, max_iter=50, random_state=0
    )
    _quiet_fit(model, X, y)
    assert [c.shape for c in model.coefs_] == [(6, 3)]
    assert model.gammas_ == []
    assert model.score(X, y) > 0.95


# ---------------------------------------------------------------- errors


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        MLPBatchNormClassifier().predict(np.zeros((2, 3)))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_rejected(bad, small_multiclass):
    X, y = small_multiclass
    X = X.copy()
    X[3, 2] = bad
    with pytest.raises(ValueError, match=r"Input X contains (NaN|infinity)"):
        MLPBatchNormClassifier().fit(X, y)


def test_empty_input_is_rejected():
    with pytest.raises(ValueError, match="0 sample"):
        MLPBatchNormClassifier().fit(np.empty((0, 3)), np.empty(0))


def test_wrong_number_of_features_at_predict(small_multiclass):
    X, y = small_multiclass
    model = _quiet_fit(MLPBatchNormClassifier((4,), max_iter=1), X, y)
    with pytest.raises(ValueError, match=r"X has 5 features, but .* is expecting 6"):
        model.predict(X[:, :5])


def test_single_class_is_rejected():
    with pytest.raises(ValueError, match=r"at least 2 classes.*only one class"):
        MLPBatchNormClassifier().fit(np.ones((5, 2)), np.zeros(5))


def test_continuous_target_is_rejected():
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        MLPBatchNormClassifier().fit(np.ones((5, 2)), np.linspace(0, 1, 5))


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
@pytest.mark.parametrize(
    "new_y", [[0, 1, 3], [0.0, 0.5, 1.0]], ids=["new", "continuous"]
)
def test_labels_outside_a_fitted_models_classes_are_rejected(
    how, new_y, small_multiclass
):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((4,), max_iter=2, warm_start=how == "warm_start")
    model.partial_fit(X, y, classes=[0, 1, 2])
    coefs = [c.copy() for c in model.coefs_]
    labels = np.resize(np.asarray(new_y), y.size)
    train = model.partial_fit if how == "partial_fit" else model.fit
    with pytest.raises(ValueError, match=r"y has labels .* the model was not fitted"):
        train(X, labels)
    for got, want in zip(model.coefs_, coefs):
        assert_array_equal(got, want)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (10, -3)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (10.5,)}, "hidden_layer_sizes"),
        ({"solver": "lbfgs"}, "solver"),
        ({"batch_norm_momentum": 1.5}, "batch_norm_momentum"),
        ({"activation": "softplus"}, "activation"),
        ({"learning_rate": "step"}, "learning_rate"),
        ({"dropout": 1.0}, "dropout"),
        ({"label_smoothing": -0.1}, "label_smoothing"),
        ({"weight_decay": -1.0}, "weight_decay"),
        ({"warmup_epochs": 1.5}, "warmup_epochs"),
        ({"learning_rate_init": 0.0}, "learning_rate_init"),
        ({"beta_2": 1.0}, "beta_2"),
        ({"batch_size": 0}, "batch_size"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
    ],
)
def test_invalid_hyperparameters_name_the_parameter(params, name, small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier(**params)
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter"):
        model.fit(X, y)
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter"):
        model.partial_fit(X, y, classes=[0, 1, 2])


def test_diverging_training_raises_and_keeps_finite_weights(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier(
        (8, 8),
        activation="identity",
        batch_norm=False,
        solver="sgd",
        learning_rate_init=1e8,
        batch_size=16,
        random_state=0,
    )
    with pytest.raises(ValueError, match=r"learning_rate_init=100000000\.0 .*epoch 1"):
        model.fit(X * 1e3, y)
    for array in [model._network.params, model._network.statistics]:
        assert np.all(np.isfinite(array))
    with pytest.raises(ValueError, match="Lower learning_rate_init"):
        model.fit(X * 1e3, y)


def test_divergence_restores_the_optimizer_moments(small_multiclass):
    # The moments take in every batch's gradient before the loss is checked;
    # after the error they must be those of the epoch's start, so that
    # training resumes at a lower learning rate as if the epoch never ran.
    X, y = small_multiclass
    X = X * 1e3
    model = MLPBatchNormClassifier(
        (8, 8),
        activation="identity",
        batch_norm=False,
        solver="momentum",
        learning_rate_init=1e-6,
        batch_size=16,
        random_state=0,
    )
    model.partial_fit(X, y, classes=[0, 1, 2])
    velocities = [v.copy() for v in model._optimizer.moments[0]]
    assert any(np.any(v != 0) for v in velocities)
    model.set_params(learning_rate_init=1e8)
    with pytest.raises(ValueError, match="non-finite at epoch 2"):
        model.partial_fit(X, y)
    for got, want in zip(model._optimizer.moments[0], velocities):
        assert_array_equal(got, want)
    model.set_params(learning_rate_init=1e-6)
    model.partial_fit(X, y)
    assert all(
        np.isfinite(array).all()
        for array in [model._network.params, model._network.statistics]
    )


def test_divergence_in_the_last_update_of_an_epoch_is_caught(small_multiclass):
    # One batch per epoch: the only update is the last one, and it overflows.
    X, y = small_multiclass
    model = MLPBatchNormClassifier(
        (), batch_norm=False, solver="sgd", learning_rate_init=1e308, max_iter=1
    )
    with pytest.raises(ValueError, match="non-finite at epoch 1"):
        model.fit(X * 1e3, y)
    assert all(
        np.isfinite(array).all()
        for array in [model._network.params, model._network.statistics]
    )


def test_max_iter_reached_warns(small_multiclass):
    X, y = small_multiclass
    with pytest.warns(ConvergenceWarning, match="maximum iterations \\(2\\)"):
        model = MLPBatchNormClassifier((4,), max_iter=2, warm_start=True).fit(X, y)
    # a warm-started fit says how many epochs the model has trained in all
    with pytest.warns(ConvergenceWarning, match="\\(2\\) .*\\(4 epochs in all"):
        model.fit(X, y)


def test_converges_without_warning_when_loss_stops_improving(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((4,), max_iter=500, tol=1e-2, n_iter_no_change=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.fit(X, y)
    assert model.n_iter_ < 500


def test_class_weight_with_unknown_label_is_rejected(small_multiclass):
    X, y = small_multiclass
    with pytest.raises(ValueError, match="class_weight has labels \\[7\\]"):
        MLPBatchNormClassifier(class_weight={7: 2.0}).fit(X, y)


def test_warm_start_with_changed_architecture_is_rejected(small_multiclass):
    X, y = small_multiclass
    model = _quiet_fit(MLPBatchNormClassifier((4,), max_iter=1, warm_start=True), X, y)
    model.set_params(hidden_layer_sizes=(5,))
    with pytest.raises(ValueError, match="do not match the fitted network"):
        model.fit(X, y)


def test_new_label_after_fit_is_rejected(small_multiclass):
    X, y = small_multiclass
    model = _quiet_fit(MLPBatchNormClassifier((4,), max_iter=1), X, y)
    with pytest.raises(ValueError, match="labels \\[5\\] the model was not fitted"):
        model.partial_fit(X[:4], [0, 1, 5, 2])


def test_one_training_row_with_batch_norm_is_rejected():
    model = MLPBatchNormClassifier((4,))
    with pytest.raises(ValueError, match="at least 2 rows"):
        model.partial_fit(np.ones((1, 3)), [0], classes=[0, 1])


# ------------------------------------------------- faults and bad input


def test_a_warm_started_fit_does_its_own_early_stopping(small_multiclass):
    # The first fit's best score and weights must not stop the second fit or
    # replace its weights.
    X, y = small_multiclass
    y_other = (y + 1) % 3
    model = MLPBatchNormClassifier(
        (8,), early_stopping=True, warm_start=True, max_iter=200, random_state=0
    )
    _quiet_fit(model, X, y)
    n_first = len(model.validation_scores_)
    _quiet_fit(model, X, y_other)
    assert model.best_epoch_ > n_first  # numbered from 1 in the curves
    assert model.best_validation_score_ == max(model.validation_scores_[n_first:])
    assert model.score(X, y_other) > 0.9


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("max_iter", [5, 40])
def test_a_finite_divergence_is_an_error_naming_the_learning_rate(
    solver, batch_norm, max_iter, small_multiclass
):
    X, y = small_multiclass
    model = MLPBatchNormClassifier(
        (16,),
        solver=solver,
        batch_norm=batch_norm,
        learning_rate_init=1e6,
        max_iter=max_iter,
        random_state=0,
    )
    # One batch per epoch: its update blows up, and the epoch's own check of
    # the loss after its last update catches it.
    with pytest.raises(
        ValueError, match=r"learning_rate_init=1000000\.0 .* at epoch 1 .*diverged"
    ):
        model.fit(X, y)
    # the epoch that blew up is undone: the initial weights are kept
    assert model.loss_curve_ == [] and model.t_ == 0 and model.n_iter_ == 0
    assert np.isfinite(model._network.params).all()


def test_the_convergence_warning_never_advises_a_larger_learning_rate(
    small_multiclass,
):
    X, y = small_multiclass
    with pytest.warns(ConvergenceWarning) as record:
        MLPBatchNormClassifier((4,), max_iter=2).fit(X, y)
    message = str(record[0].message)
    assert "increase max_iter" in message
    assert "learning_rate_init" not in message


@pytest.mark.parametrize(("dtype", "scale"), [(np.float32, 1e19), (np.float64, 1e154)])
def test_batch_norm_beyond_the_dtypes_range_is_a_clear_error(
    dtype, scale, small_multiclass
):
    X, y = small_multiclass
    huge = (X * scale).astype(dtype)
    with pytest.raises(ValueError, match=r"variance overflows .*scale them"):
        MLPBatchNormClassifier((8,), max_iter=3).fit(huge, y)
    # A fitted model meeting such data is left as it was.
    model = _quiet_fit(MLPBatchNormClassifier((8,), max_iter=3), X.astype(dtype), y)
    before = model.predict_proba(X.astype(dtype))
    with pytest.raises(ValueError, match="variance overflows"):
        model.partial_fit(huge, y)
    assert np.isfinite(model._network.statistics).all()
    assert_array_equal(model.predict_proba(X.astype(dtype)), before)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_predictions_are_finite_or_a_clear_error_at_extreme_input(
    batch_norm, small_multiclass
):
    X, y = small_multiclass
    model = _quiet_fit(
        MLPBatchNormClassifier((8,), batch_norm=batch_norm, max_iter=3, random_state=0),
        X,
        y,
    )
    extreme = np.full((2, 6), 1e308)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow notes
        try:
            log_proba = model.predict_log_proba(extreme)
        except ValueError as error:
            assert "overflow float64" in str(error)
        else:
            assert np.isfinite(log_proba).all()


@pytest.mark.parametrize(
    "class_weight",
    [
        {0: -1, 1: 1},
        {0: 0, 1: 0, 2: 0},
        {0: 1e308},
        {0: np.nan},
        {0: np.inf},
        {0: 1e-300},
        {0: "a"},
        {0: True},
        {7: 1.0},
    ],
    ids=repr,
)
def test_bad_class_weights_are_errors_naming_class_weight(
    class_weight, small_multiclass
):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((4,), class_weight=class_weight, max_iter=2)
    with pytest.raises(ValueError, match="class_weight"):
        model.fit(X, y)


def test_zero_weight_for_some_classes_still_trains(small_multiclass):
    X, y = small_multiclass
    model = _quiet_fit(
        MLPBatchNormClassifier((4,), class_weight={0: 0, 1: 1}, max_iter=3), X, y
    )
    assert np.isfinite(model.loss_curve_).all()


def test_balanced_class_weight_is_refused_by_partial_fit(small_multiclass):
    X, y = small_multiclass
    model = MLPBatchNormClassifier((4,), class_weight="balanced")
    with pytest.raises(ValueError, match=r"class_weight=.balanced.*partial_fit"):
        model.partial_fit(X, y, classes=[0, 1, 2])


@pytest.mark.parametrize("sizes", [(10**9,), (2**63,)], ids=["1e9", "2**63"])
def test_hidden_layers_too_large_for_memory_are_a_clear_error(sizes, small_multiclass):
    X, y = small_multiclass
    with pytest.raises(ValueError, match=r"hidden_layer_sizes=.*needs about .* GiB"):
        MLPBatchNormClassifier(sizes).fit(X, y)


def test_a_failed_allocation_names_hidden_layer_sizes(small_multiclass, monkeypatch):
    X, y = small_multiclass

    def allocation_fails(*args, **kwargs):
        raise MemoryError("Unable to allocate 4.47 GiB")

    monkeypatch.setattr("sknormnet._mlp.Network.initialized", allocation_fails)
    with pytest.raises(MemoryError, match=r"hidden_layer_sizes=\(8,\) needs about"):
        MLPBatchNormClassifier((8,)).fit(X, y)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, None, 1] * 40, dtype=object),
        np.array([0, pd.NA, 1] * 40, dtype=object),
        pd.Series([0, pd.NA, 1] * 40, dtype="Int64"),
        np.array(["a", np.nan, "b"] * 40, dtype=object),
    ],
    ids=["None", "pd.NA", "Int64 NA", "NaN among strings"],
)
def test_missing_labels_are_a_clear_error(labels, small_multiclass):
    X, _ = small_multiclass
    with pytest.raises(ValueError, match="y contains missing labels"):
        MLPBatchNormClassifier((4,), max_iter=1).fit(X, labels)


def test_mixed_type_labels_are_a_clear_error(small_multiclass):
    X, _ = small_multiclass
    mixed = np.array(["a", 1, "b"] * 40, dtype=object)
    with pytest.raises(ValueError, match="y contains mixed-type labels"):
        MLPBatchNormClassifier((4,), max_iter=1).fit(X, mixed)
    fitted = _quiet_fit(
        MLPBatchNormClassifier((4,), max_iter=1), X, np.repeat(["a", "b", "c"], 40)
    )
    with pytest.raises(ValueError, match="y contains mixed-type labels"):
        fitted.partial_fit(X, mixed)


def test_nan_is_refused_as_a_class(small_multiclass):
    X, y = small_multiclass
    with pytest.raises(ValueError, match="classes contains missing labels"):
        MLPBatchNormClassifier((4,)).partial_fit(X, y, classes=[0, 1, 2, np.nan])


@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_folded_weights_give_the_models_probabilities(
    batch_norm, dtype, small_multiclass
):
    X, y = small_multiclass
    model = _quiet_fit(
        MLPBatchNormClassifier(
            (7, 5), activation="tanh", batch_norm=batch_norm, max_iter=4, random_state=0
        ),
        X,
        y,
    )
    layers = model.folded_weights(dtype)
    assert all(w.dtype == dtype and b.dtype == dtype for w, b in layers)
    activations = X.astype(dtype)
    for weights, bias in layers[:-1]:
        activations = np.tanh(activations @ weights + bias)
    logits = activations @ layers[-1][0] + layers[-1][1]
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(
        scipy_softmax(logits, axis=1),
        model.predict_proba(X.astype(dtype)),
        rtol=tolerance,
        atol=tolerance,
    )
    # copies: changing them leaves the model alone
    layers[0][0][...] = 0
    assert np.any(model.coefs_[0] != 0)
