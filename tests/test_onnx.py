"""The ONNX export: onnxruntime predicts what the estimator predicts.

The onnx extra's packages are imported where they are used, so that without
them the module is collected and its tests skipped.
"""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sknormnet import MLPBatchNormClassifier

pytestmark = [
    pytest.mark.extra("onnx"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

ACTIVATIONS = ["relu", "tanh", "logistic", "identity"]
ACTIVATION_OPS = {"relu": ["Relu"], "tanh": ["Tanh"], "logistic": ["Sigmoid"]}
LABELS = {"int": np.array([3, 7, 11]), "str": np.array(["cat", "dog", "owl"])}
# Largest absolute difference of the probabilities: float32 as asked of the
# export, float64 near its rounding. ZipMap's values are float32 always.
ATOL = {np.float32: 1e-5, np.float64: 1e-12}


def _data(labels, dtype, n_samples=90):
    """Rows whose label is the arg-max of their first features."""
    X = 2 * np.random.default_rng(0).normal(size=(n_samples, 5))
    return X.astype(dtype), labels[np.argmax(X[:, : labels.size], axis=1)]


def _classifier(**params):
    params = {
        "hidden_layer_sizes": (7, 5),
        "learning_rate_init": 0.05,
        "max_iter": 10,
        "random_state": 0,
        **params,
    }
    return MLPBatchNormClassifier(**params)


def _export(model, X, zipmap):
    from skl2onnx import to_onnx

    import sknormnet.onnx  # noqa: F401  (registers the converter)

    return to_onnx(model, X[:1], options={MLPBatchNormClassifier: {"zipmap": zipmap}})


def _run(onx, X):
    """onnxruntime's labels and probabilities (a list of dicts with zipmap),
    after onnx's checker has passed the model."""
    import onnx
    import onnxruntime

    onnx.checker.check_model(onx, full_check=True)
    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    if isinstance(X, pd.DataFrame):
        feeds = {name: X[[name]].to_numpy() for name in X.columns}
    else:
        feeds = {session.get_inputs()[0].name: X}
    return session.run(None, feeds)


def _assert_same_predictions(model, onx, X, zipmap, dtype):
    labels, probabilities = _run(onx, X)
    if zipmap:
        classes = model.classes_
        probabilities = np.array(
            [[row[label] for label in classes] for row in probabilities]
        )
        atol = ATOL[np.float32]
    else:
        assert probabilities.dtype == dtype
        atol = ATOL[dtype]
    assert_allclose(probabilities, model.predict_proba(X), rtol=0, atol=atol)
    assert_array_equal(labels, model.predict(X))


@pytest.mark.parametrize("labels", list(LABELS))
@pytest.mark.parametrize("zipmap", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_onnxruntime_predicts_as_the_classifier(
    activation, batch_norm, dtype, zipmap, labels
):
    X, y = _data(LABELS[labels], dtype)
    model = _classifier(activation=activation, batch_norm=batch_norm).fit(X, y)
    _assert_same_predictions(model, _export(model, X, zipmap), X, zipmap, dtype)


@pytest.mark.parametrize("zipmap", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_binary_problem_has_a_probability_per_class(dtype, zipmap):
    X, y = _data(np.array([False, True]), dtype)
    model = _classifier().fit(X, y)
    onx = _export(model, X, zipmap)
    _assert_same_predictions(model, onx, X, zipmap, dtype)
    if not zipmap:
        assert _run(onx, X)[1].shape == (X.shape[0], 2)


@pytest.mark.parametrize("labels", list(LABELS))
@pytest.mark.parametrize("zipmap", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_onnxruntime_predicts_as_a_pipeline(dtype, zipmap, labels):
    X, y = _data(LABELS[labels], dtype)
    X = 10 * X + 3
    model = make_pipeline(StandardScaler(), _classifier()).fit(X, y)
    _assert_same_predictions(model, _export(model, X, zipmap), X, zipmap, dtype)


@pytest.mark.parametrize("zipmap", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_onnxruntime_predicts_as_a_pipeline_on_a_dataframe(dtype, zipmap):
    X, y = _data(LABELS["str"], dtype)
    frame = pd.DataFrame(
        {"a": X[:, 0], "b": X[:, 1], "c": np.array(list("pqrs"))[np.arange(y.size) % 4]}
    )
    preprocess = ColumnTransformer(
        [("num", StandardScaler(), ["a", "b"]), ("cat", OneHotEncoder(), ["c"])]
    )
    model = make_pipeline(preprocess, _classifier()).fit(frame, y)
    onx = _export(model, frame, zipmap)
    # The one-hot columns come out of scikit-learn in float64, whatever the
    # numbers' dtype; the graph computes in the numbers' dtype.
    _assert_same_predictions(model, onx, frame, zipmap, dtype)


def test_integer_features_are_cast_to_float32():
    X, y = _data(LABELS["int"], np.float64)
    X = np.round(X).astype(np.int64)
    model = _classifier().fit(X, y)
    labels, probabilities = _run(_export(model, X, zipmap=False), X)
    assert probabilities.dtype == np.float32
    assert_allclose(probabilities, model.predict_proba(X), rtol=0, atol=1e-5)
    assert_array_equal(labels, model.predict(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden_layer_sizes", [(7, 5), ()])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_graph_is_the_folded_network(activation, hidden_layer_sizes, dtype):
    from onnx import TensorProto

    X, y = _data(LABELS["int"], dtype)
    model = _classifier(activation=activation, hidden_layer_sizes=hidden_layer_sizes)
    onx = _export(model.fit(X, y), X, zipmap=False)
    layer = ["MatMul", "Add"]
    hidden = [*layer, *ACTIVATION_OPS.get(activation, [])]
    expected = [
        *hidden * len(hidden_layer_sizes),
        *layer,
        "Softmax",
        "ArgMax",
        "Gather",
    ]
    assert [node.op_type for node in onx.graph.node] == expected
    float_type = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    weights = [
        tensor
        for tensor in onx.graph.initializer
        if tensor.data_type != TensorProto.INT64
    ]
    assert len(weights) == 2 * (len(hidden_layer_sizes) + 1)
    assert all(tensor.data_type == float_type for tensor in weights)


@pytest.mark.parametrize("zipmap", [False, True])
def test_an_unfitted_classifier_is_not_exported(zipmap):
    X = np.zeros((1, 3), dtype=np.float32)
    with pytest.raises(
        NotFittedError, match="MLPBatchNormClassifier instance is not fitted"
    ):
        _export(MLPBatchNormClassifier(), X, zipmap)


# Labels of every kind ONNX holds, exported exactly: their values, with the
# dtype of the label output. int64 holds booleans and the other integers.
EXACT_LABELS = {
    "uint64 beyond int64": (
        np.array([2**63 + 1, 2**63 + 5, 2**64 - 1], np.uint64),
        np.uint64,
    ),
    "uint8": (np.array([0, 7, 255], np.uint8), np.int64),
    "int8": (np.array([-128, 0, 127], np.int8), np.int64),
    "bool": (np.array([False, True]), np.int64),
    "str": (np.array(["cat", "dog", "owl"]), object),
    "object str": (np.array(["cat", "dög", "owl"], dtype=object), object),
    "float64": (np.array([-1.0, 0.0, 2.0]), np.float64),
    "float32": (np.array([-1.0, 0.0, 2.0], np.float32), np.float32),
}


@pytest.mark.parametrize("labels", list(EXACT_LABELS))
def test_labels_are_exported_exactly(labels):
    classes, label_dtype = EXACT_LABELS[labels]
    X, y = _data(classes, np.float32)
    model = _classifier().fit(X, y)
    predicted, probabilities = _run(_export(model, X, zipmap=False), X)
    assert predicted.dtype == label_dtype
    assert predicted.tolist() == model.predict(X).tolist()
    assert set(predicted.tolist()) <= set(classes.tolist())
    assert_allclose(probabilities, model.predict_proba(X), rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "labels", ["uint8", "int8", "bool", "str", "object str", "float64", "float32"]
)
def test_zipmap_keys_are_the_labels(labels):
    classes, _ = EXACT_LABELS[labels]
    X, y = _data(classes, np.float32)
    model = _classifier().fit(X, y)
    predicted, dicts = _run(_export(model, X, zipmap=True), X)
    assert predicted.tolist() == model.predict(X).tolist()
    assert sorted(dicts[0]) == sorted(classes.tolist())


def test_zipmap_refuses_labels_its_keys_cannot_hold():
    classes, _ = EXACT_LABELS["uint64 beyond int64"]
    X, y = _data(classes, np.float32)
    model = _classifier().fit(X, y)
    with pytest.raises(
        ValueError, match=r"zipmap=True needs labels that int64 holds.*'zipmap': False"
    ):
        _export(model, X, zipmap=True)


@pytest.mark.parametrize("zipmap", [False, True])
@pytest.mark.parametrize(
    "classes",
    [
        np.array(["2024-01-01", "2024-06-01", "2025-01-01"], dtype="datetime64[ns]"),
        np.array([1, 2, 3], dtype="timedelta64[s]"),
    ],
    ids=["datetime64", "timedelta64"],
)
def test_labels_onnx_cannot_hold_are_refused(classes, zipmap):
    X, y = _data(classes, np.float32)
    model = _classifier().fit(X, y)
    with pytest.raises(
        ValueError, match=r"classes_ of dtype .* have no ONNX label type.*astype\(str\)"
    ):
        _export(model, X, zipmap)
