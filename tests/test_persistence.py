"""Saving and loading a fitted model: skops, pickle, deepcopy, versions."""

import copy
import doctest
import io
import json
import pickle
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skops.io.exceptions import UntrustedTypesFoundException

import sknormnet
import sknormnet.io
from sknormnet import MLPBatchNormClassifier
from sknormnet.exceptions import InconsistentVersionWarning, ModelFileError
from sknormnet.io import TRUSTED_TYPES

ROOT = Path(__file__).resolve().parents[1]

# What skops.io.get_untrusted_types lists for a fitted model, alone or in a
# pipeline of scikit-learn's steps: the one name a user passes as trusted.
TRUSTED = ["sknormnet._mlp.MLPBatchNormClassifier"]
SOLVERS = ["sgd", "momentum", "rmsprop", "adam"]


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _skops_round_trip(model):
    data = sio.dumps(model)
    assert sio.get_untrusted_types(data=data) == TRUSTED
    return sio.loads(data, trusted=TRUSTED)


def _training_state(model):
    """The arrays and counters that the next epoch starts from."""
    optimizer = model._optimizer
    return [
        model._network.params,
        model._network.statistics,
        *[array for moment in optimizer.moments for array in moment],
        getattr(optimizer, "t", None),
        model.t_,
        model.loss_curve_,
        model._random_state.get_state()[1],
    ]


def _assert_continues_identically(model, restored, X, y):
    assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    model.partial_fit(X, y)
    restored.partial_fit(X, y)
    assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    for mine, theirs in zip(_training_state(model), _training_state(restored)):
        assert_array_equal(theirs, mine)


# --------------------------------------------------------------------- skops


@pytest.mark.parametrize("solver", SOLVERS)
def test_skops_trusts_all_but_the_class_and_training_continues(
    solver, small_multiclass
):
    X, y = small_multiclass
    model = MLPBatchNormClassifier(
        (8,), solver=solver, max_iter=3, random_state=0, learning_rate_init=0.01
    )
    model = _fit(model, X, y)
    restored = _skops_round_trip(model)
    assert type(restored._optimizer) is type(model._optimizer)
    _assert_continues_identically(model, restored, X, y)


@pytest.mark.parametrize(
    "options",
    [
        {"early_stopping": True, "validation_fraction": 0.2},
        {"batch_norm": False, "hidden_layer_sizes": (6, 5)},
        {"hidden_layer_sizes": ()},
        {"random_state": np.random.RandomState(2), "class_weight": {0: 2.0}},
    ],
    ids=["early stopping", "no batch norm", "no hidden layer", "objects as params"],
)
def test_skops_round_trip_of_other_configurations(options, small_multiclass):
    X, y = small_multiclass
    options = {"hidden_layer_sizes": (8,), "random_state": 0, **options}
    model = _fit(MLPBatchNormClassifier(max_iter=3, **options), X, y)
    _assert_continues_identically(model, _skops_round_trip(model), X, y)


def test_skops_round_trip_with_text_labels_feature_names_and_float32(
    small_multiclass,
):
    X, y = small_multiclass
    X = pd.DataFrame(X.astype(np.float32), columns=[f"x{i}" for i in range(6)])
    y = np.array(["ant", "bee", "cat"], dtype=object)[y]
    model = _fit(MLPBatchNormClassifier((8,), max_iter=3, random_state=0), X, y)
    restored = _skops_round_trip(model)
    assert_array_equal(restored.classes_, model.classes_)
    assert_array_equal(restored.feature_names_in_, model.feature_names_in_)
    assert restored.coefs_[0].dtype == np.float32
    _assert_continues_identically(model, restored, X, y)


def test_skops_round_trip_of_a_pipeline(small_multiclass):
    X, y = small_multiclass
    pipeline = make_pipeline(
        StandardScaler(), MLPBatchNormClassifier((8,), max_iter=3, random_state=0)
    )
    pipeline = _fit(pipeline, X, y)
    restored = _skops_round_trip(pipeline)
    assert_array_equal(restored.predict_proba(X), pipeline.predict_proba(X))
    X_scaled = pipeline[0].transform(X)
    _assert_continues_identically(pipeline[-1], restored[-1], X_scaled, y)


def test_skops_round_trip_of_an_unfitted_model():
    model = MLPBatchNormClassifier((3,), solver="momentum", random_state=0)
    restored = _skops_round_trip(model)
    assert restored.get_params() == model.get_params()
    assert not hasattr(restored, "coefs_")


def test_the_state_holds_only_builtins_and_arrays(small_multiclass):
    X, y = small_multiclass
    model = _fit(
        MLPBatchNormClassifier((8,), max_iter=3, early_stopping=True, random_state=0),
        X,
        y,
    )
    plain = (type(None), bool, int, float, str, np.ndarray, np.random.RandomState)

    def check(value, where):
        if isinstance(value, dict):
            for key, item in value.items():
                check(item, f"{where}[{key!r}]")
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                check(item, f"{where}[{index}]")
        else:
            assert isinstance(value, plain), f"{where} is a {type(value)}"

    state = model.__getstate__()
    check(state, "state")
    assert "_network" not in state
    assert state["_optimizer"]["solver"] == "adam"
    assert state["_optimizer"]["t"] == model._optimizer.t
    assert state["_sknormnet_version"] == sknormnet.__version__


# ------------------------------------------------------------ pickle, deepcopy


@pytest.mark.parametrize("round_trip", ["pickle", "deepcopy"])
@pytest.mark.parametrize("solver", ["momentum", "adam"])
def test_pickle_and_deepcopy_rebuild_the_optimizer(
    round_trip, solver, small_multiclass
):
    X, y = small_multiclass
    model = _fit(
        MLPBatchNormClassifier((8,), solver=solver, max_iter=3, random_state=0), X, y
    )
    if round_trip == "pickle":
        restored = pickle.loads(pickle.dumps(model))
    else:
        restored = copy.deepcopy(model)
    assert type(restored._optimizer) is type(model._optimizer)
    assert restored._optimizer.moments[0][0] is not model._optimizer.moments[0][0]
    _assert_continues_identically(model, restored, X, y)


def test_changed_hyperparameters_apply_after_loading(small_multiclass):
    # The optimizer takes its hyperparameters from the estimator's parameters,
    # before every fit as after loading.
    X, y = small_multiclass
    model = _fit(MLPBatchNormClassifier((8,), max_iter=3, random_state=0), X, y)
    model.set_params(beta_1=0.5, solver="momentum")
    restored = pickle.loads(pickle.dumps(model))
    _assert_continues_identically(model, restored, X, y)
    assert restored._optimizer.momentum == model.momentum


# -------------------------------------------------------------------- versions


def test_loading_a_model_of_another_version_warns(small_multiclass, monkeypatch):
    X, y = small_multiclass
    model = _fit(MLPBatchNormClassifier((4,), max_iter=2, random_state=0), X, y)
    current = sknormnet.__version__
    monkeypatch.setattr(sknormnet, "__version__", "0.0.1")
    pickled, skopsed = pickle.dumps(model), sio.dumps(model)
    monkeypatch.setattr(sknormnet, "__version__", current)
    for load in (pickle.loads, lambda data: sio.loads(data, trusted=TRUSTED)):
        data = pickled if load is pickle.loads else skopsed
        with pytest.warns(InconsistentVersionWarning) as record:
            restored = load(data)
        (warning,) = record
        assert warning.message.original_sknormnet_version == "0.0.1"
        assert warning.message.current_sknormnet_version == current
        assert warning.message.estimator_name == "MLPBatchNormClassifier"
        assert str(warning.message).startswith(
            f"Loading a MLPBatchNormClassifier saved with sknormnet 0.0.1 into "
            f"sknormnet {current}:"
        )
        # the model loads all the same
        assert_array_equal(restored.predict(X), model.predict(X))
        assert not hasattr(restored, "_sknormnet_version")


def test_loading_a_model_of_this_version_is_silent(small_multiclass):
    X, y = small_multiclass
    model = _fit(MLPBatchNormClassifier((4,), max_iter=2, random_state=0), X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(pickle.dumps(model))
        sio.loads(sio.dumps(model), trusted=TRUSTED)
        copy.deepcopy(model)


def test_a_state_without_a_version_warns_as_unknown():
    state = MLPBatchNormClassifier().__getstate__()
    del state["_sknormnet_version"]
    with pytest.warns(InconsistentVersionWarning, match="saved with sknormnet unknown"):
        MLPBatchNormClassifier.__new__(MLPBatchNormClassifier).__setstate__(state)


# ------------------------------------------------------------- the docs page


@pytest.mark.extra("onnx")
def test_the_examples_of_the_deploying_page_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the page writes its files where it runs
    page = ROOT / "docs" / "user_guide" / "deploying.rst"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = doctest.testfile(
            str(page), module_relative=False, encoding="utf-8", verbose=False
        )
    assert results.failed == 0, "see the doctest output above"
    assert results.attempted >= 20
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "model.joblib",
        "model.onnx",
        "model.skops",
        "truncated.skops",
    ]


# ------------------------------------------------- sknormnet.io.load


def _pipeline_bytes(small_multiclass):
    X, y = small_multiclass
    pipeline = make_pipeline(
        StandardScaler(), MLPBatchNormClassifier((8,), max_iter=3, random_state=0)
    )
    return _fit(pipeline, X, y), sio.dumps(_fit(pipeline, X, y))


def _rezipped(data, change_schema=None, change_array=None):
    """``data``, a skops file, with its schema or arrays changed."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "schema.json" and change_schema is not None:
                schema = json.loads(content)
                change_schema(schema)
                content = json.dumps(schema).encode()
            elif name.endswith(".npy") and change_array is not None:
                content = change_array(name, content)
                if content is None:
                    continue
            target.writestr(name, content)
    return out.getvalue()


def _node(schema, class_name):
    """The first node of a skops schema that builds ``class_name``."""
    if isinstance(schema, dict):
        if schema.get("__class__") == class_name:
            return schema
        children = schema.values()
    elif isinstance(schema, list):
        children = schema
    else:
        return None
    for child in children:
        found = _node(child, class_name)
        if found is not None:
            return found
    return None


def _drop_the_first_array():
    dropped = []

    def change(name, content):
        if dropped:
            return content
        dropped.append(name)
        return None

    return change


def _without(class_name, attribute):
    def change(schema):
        del _node(schema, class_name)["content"]["content"][attribute]

    return change


DAMAGED = {
    "empty": lambda data: b"",
    "truncated to 100 bytes": lambda data: data[:100],
    "truncated by half": lambda data: data[: len(data) // 2],
    "last 10 bytes cut": lambda data: data[:-10],
    "not a zip file": lambda data: b"model" * 100,
    "an array missing": lambda data: _rezipped(
        data, change_array=_drop_the_first_array()
    ),
    "arrays truncated": lambda data: _rezipped(
        data, change_array=lambda name, content: content[: len(content) // 2]
    ),
    "network arrays removed": lambda data: _rezipped(
        data, _without("MLPBatchNormClassifier", "coefs_")
    ),
    "pipeline steps removed": lambda data: _rezipped(
        data, lambda schema: schema["content"]["content"].pop("steps")
    ),
    "network bias removed": lambda data: _rezipped(
        data, _without("MLPBatchNormClassifier", "intercepts_")
    ),
    "schema not json": lambda data: _rezipped(data, lambda schema: schema.clear()),
    "protocol from the future": lambda data: _rezipped(
        data, lambda schema: schema.update(protocol=999)
    ),
}


@pytest.mark.parametrize("damage", DAMAGED, ids=list(DAMAGED))
def test_a_damaged_file_is_one_clear_error(damage, small_multiclass, tmp_path):
    _, data = _pipeline_bytes(small_multiclass)
    path = tmp_path / "model.skops"
    path.write_bytes(DAMAGED[damage](data))
    with pytest.raises(ModelFileError) as error:
        sknormnet.io.load(path)
    message = str(error.value)
    assert message.startswith(f"{path} is not a whole skops file of a fitted model")
    assert message.endswith(
        "It was truncated, damaged or changed after it was saved: save the model "
        "again, or get an intact copy."
    )
    assert error.value.__cause__ is not None


def test_load_trusts_sknormnets_types_and_nothing_else(small_multiclass, tmp_path):
    X, _ = small_multiclass
    pipeline, data = _pipeline_bytes(small_multiclass)
    path = tmp_path / "model.skops"
    path.write_bytes(data)
    assert_array_equal(
        sknormnet.io.load(path).predict_proba(X), pipeline.predict_proba(X)
    )
    assert set(sio.get_untrusted_types(data=data)) <= set(TRUSTED_TYPES)
    # another type in the file is refused by skops, naming it
    path.write_bytes(
        _rezipped(
            data,
            lambda schema: _node(schema, "StandardScaler").update(
                __module__="os", __class__="system"
            ),
        )
    )
    with pytest.raises(UntrustedTypesFoundException, match=r"os\.system"):
        sknormnet.io.load(path)


def test_load_passes_on_the_errors_that_are_clear_as_they_are(
    small_multiclass, tmp_path, monkeypatch
):
    with pytest.raises(FileNotFoundError):
        sknormnet.io.load(tmp_path / "missing.skops")
    _, data = _pipeline_bytes(small_multiclass)
    path = tmp_path / "model.skops"
    path.write_bytes(data)
    monkeypatch.setattr(sknormnet, "__version__", "0.0.0")
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        with pytest.raises(InconsistentVersionWarning):
            sknormnet.io.load(path)
