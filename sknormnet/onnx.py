"""Export of :class:`~sknormnet.MLPBatchNormClassifier` to ONNX, through skl2onnx.

Importing this module registers a converter for the classifier with
`skl2onnx <https://onnx.ai/sklearn-onnx/>`_, so that ``skl2onnx.to_onnx``
converts it, alone or as the last step of a scikit-learn pipeline, with or
without skl2onnx's ``zipmap`` option; and one for the float32 step of the
pipelines of :class:`~sknormnet.tabular.TunedMLPClassifier` (a
``FunctionTransformer`` of :func:`~sknormnet.preprocessing.as_float32`, a
``Cast``), which also keeps the identity ``FunctionTransformer`` that
skl2onnx converts. The module has no other public names: the export goes
through skl2onnx. It needs the ``onnx`` extra, installed from sknormnet's
source folder::

    pip install ".[onnx]"

The graph is the model's prediction path with batch normalization folded into
the weights (see :meth:`~sknormnet.MLPBatchNormClassifier.folded_weights`):
per layer a ``MatMul`` and an ``Add``, the hidden activation after each hidden
layer (``Relu``, ``Tanh``, ``Sigmoid``, or none for ``"identity"``), then a
``Softmax`` over all classes; ``ArgMax`` and ``Gather`` give the labels. The
weights are stored in the input's float type: a ``DoubleTensorType`` input
(``to_onnx`` with a float64 ``X``) gives a graph that computes in float64,
any other input one that computes in float32.

The outputs are those of skl2onnx's classifiers: a label per row and the
probabilities of all classes in the order of ``classes_`` (two columns for a
binary problem). The labels are exported exactly: string labels as strings,
integer and boolean ones as int64 (as skl2onnx's classifiers have them),
uint64 ones as uint64 and float ones in their float type. Labels that ONNX
cannot hold (datetimes, other objects) are refused with an error that says
how to convert them. With ``zipmap=False`` the outputs are
``label`` and ``probabilities``, a tensor in the graph's float type. With
``zipmap`` on (the default) they are ``output_label`` and
``output_probability``, a list of ``{label: probability}`` dicts whose values
are float32 whatever the input, since ONNX's ``ZipMap`` takes nothing else: a
float64 export wants ``zipmap=False``. ``ZipMap`` also takes only int64 and
string keys: uint64 labels beyond int64 need ``zipmap=False``.

Examples
--------
>>> import numpy as np
>>> import onnxruntime
>>> from skl2onnx import to_onnx
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from sknormnet import MLPBatchNormClassifier
>>> import sknormnet.onnx  # registers the converter
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(60, 4)).astype(np.float32)
>>> y = np.array(["cat", "dog", "owl"])[X[:, :3].argmax(axis=1)]
>>> classifier = MLPBatchNormClassifier((8,), learning_rate_init=0.05, random_state=0)
>>> model = make_pipeline(StandardScaler(), classifier).fit(X, y)
>>> onx = to_onnx(model, X[:1], options={MLPBatchNormClassifier: {"zipmap": False}})
>>> session = onnxruntime.InferenceSession(
...     onx.SerializeToString(), providers=["CPUExecutionProvider"]
... )
>>> labels, proba = session.run(None, {"X": X})
>>> bool(np.all(labels == model.predict(X)))
True
>>> bool(np.allclose(proba, model.predict_proba(X), atol=1e-5))
True
"""

import numpy as np
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import check_is_fitted

try:
    from onnx import TensorProto
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DictionaryType,
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        SequenceType,
        StringTensorType,
        UInt64TensorType,
        guess_proto_type,
    )
    from skl2onnx.common.utils import (
        check_input_and_output_numbers,
        check_input_and_output_types,
    )
except ImportError as error:
    raise ImportError(
        "sknormnet.onnx needs skl2onnx (and onnxruntime to run the exported "
        f"models), which could not be imported ({error}); install the onnx extra "
        'from sknormnet\'s source folder: pip install ".[onnx]"'
    ) from error

from . import MLPBatchNormClassifier
from .preprocessing import as_float32

_ALIAS = "SknormnetMLPBatchNormClassifier"

# The label tensor of each kind of numpy dtype that ONNX holds exactly:
# (skl2onnx's tensor type, ONNX's element type, numpy's dtype). Booleans and
# every integer that int64 holds are int64, as in skl2onnx's classifiers.
_LABEL_TYPES = {
    "b": (Int64TensorType, TensorProto.INT64, np.int64),
    "i": (Int64TensorType, TensorProto.INT64, np.int64),
    "u": (Int64TensorType, TensorProto.INT64, np.int64),
    "U": (StringTensorType, TensorProto.STRING, None),
}
_FLOAT_LABEL_TYPES = {
    2: (FloatTensorType, TensorProto.FLOAT, np.float32),  # float16 widened
    4: (FloatTensorType, TensorProto.FLOAT, np.float32),
    8: (DoubleTensorType, TensorProto.DOUBLE, np.float64),
}

# ONNX operator of each hidden activation; None adds no node.
_ACTIVATION_OPS = {
    "relu": "Relu",
    "tanh": "Tanh",
    "logistic": "Sigmoid",
    "identity": None,
}


def _labels(model):
    """The label output's tensor type, ONNX element type and ``classes_`` as
    its values, exactly: UTF-8 bytes for strings, int64 for booleans and
    integers that int64 holds, uint64 and floats as they are.

    Raises a ValueError for labels ONNX cannot hold.
    """
    classes = np.asarray(model.classes_)
    if classes.dtype == object and all(isinstance(label, str) for label in classes):
        classes = classes.astype(str)
    kind = classes.dtype.kind
    if kind == "u" and classes.dtype.itemsize == 8:
        return UInt64TensorType, TensorProto.UINT64, classes
    if kind == "f" and classes.dtype.itemsize in _FLOAT_LABEL_TYPES:
        tensor_type, proto, dtype = _FLOAT_LABEL_TYPES[classes.dtype.itemsize]
        return tensor_type, proto, classes.astype(dtype)
    if kind not in _LABEL_TYPES:
        example = model.classes_[0]
        raise ValueError(
            f"classes_ of dtype {classes.dtype} (e.g. {example!r}) have no ONNX "
            "label type, and casting them would change the labels the model "
            "predicts. Fit the model on labels ONNX holds (strings, integers, "
            "booleans or floats), e.g. on y.astype(str), to export it."
        )
    tensor_type, proto, dtype = _LABEL_TYPES[kind]
    if dtype is None:
        return tensor_type, proto, [label.encode("utf-8") for label in classes]
    return tensor_type, proto, classes.astype(dtype)


def _zipmap_keys(model, labels, proto):
    """The keys of ONNX's ``ZipMap``, int64 or strings, equal to the labels;
    a ValueError when they cannot be."""
    if proto == TensorProto.STRING:
        return "classlabels_strings", list(labels)
    keys = np.asarray(labels).astype(np.int64)
    if proto != TensorProto.INT64 and np.any(keys != labels):
        raise ValueError(
            f"zipmap=True needs labels that int64 holds, as ONNX's ZipMap keys "
            f"its dicts by int64 or strings; classes_ {model.classes_.tolist()} "
            f"(dtype {model.classes_.dtype}) are not. Export with "
            "options={MLPBatchNormClassifier: {'zipmap': False}}, whose label "
            "output keeps their type."
        )
    return "classlabels_int64s", keys.tolist()


def _float_type(input_type):
    """The graph's float type as skl2onnx's tensor type, ONNX's element type
    and numpy's dtype: double for a double input, float for any other."""
    if guess_proto_type(input_type) == TensorProto.DOUBLE:
        return DoubleTensorType, TensorProto.DOUBLE, np.float64
    return FloatTensorType, TensorProto.FLOAT, np.float32


def _parse(scope, model, inputs, custom_parsers=None):
    """Declare the model's operator and its outputs: the label and the
    probabilities, as a tensor or, with ``zipmap``, as a list of dicts."""
    check_is_fitted(model)
    if model.activation not in _ACTIVATION_OPS:
        raise ValueError(
            f"activation={model.activation!r} has no ONNX export; use one of "
            f"{sorted(_ACTIVATION_OPS)}."
        )
    label_type, label_proto, labels = _labels(model)
    operator = scope.declare_local_operator(_ALIAS, model)
    operator.inputs = inputs
    if scope.get_options(model, {"zipmap": True})["zipmap"]:
        key, _ = _zipmap_keys(model, labels, label_proto)
        key_type = StringTensorType if key == "classlabels_strings" else Int64TensorType
        outputs = [
            ("output_label", label_type()),
            (
                "output_probability",
                SequenceType(DictionaryType(key_type([]), FloatTensorType([]))),
            ),
        ]
    else:
        outputs = [
            ("label", label_type()),
            ("probabilities", _float_type(inputs[0].type)[0]()),
        ]
    for name, output_type in outputs:
        operator.outputs.append(scope.declare_local_variable(name, output_type))
    return operator.outputs


def _calculate_output_shapes(operator):
    """One numeric input of shape ``(N, n_features)``; a label per row and,
    without ``zipmap``, a probability per row and class."""
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=2)
    check_input_and_output_types(
        operator,
        good_input_types=[
            BooleanTensorType,
            DoubleTensorType,
            FloatTensorType,
            Int64TensorType,
        ],
    )
    n_rows = operator.inputs[0].get_first_dimension()
    label, probabilities = operator.outputs
    label.type.shape = [n_rows]
    if not isinstance(probabilities.type, SequenceType):
        n_classes = len(operator.raw_operator.classes_)
        probabilities.type.shape = [n_rows, n_classes]


def _add_node(scope, container, op_type, inputs, output_name=None, **attributes):
    """Add an ``op_type`` node; return the name of its output."""
    if output_name is None:
        output_name = scope.get_unique_variable_name(op_type.lower())
    container.add_node(
        op_type,
        inputs,
        output_name,
        name=scope.get_unique_operator_name(op_type),
        **attributes,
    )
    return output_name


def _add_initializer(scope, container, name, proto_type, values):
    """Add a constant tensor; return its name."""
    values = np.asarray(values)
    unique_name = scope.get_unique_variable_name(name)
    container.add_initializer(unique_name, proto_type, values.shape, values.ravel())
    return unique_name


def _convert(scope, operator, container):
    """Write the model's folded forward pass, its softmax and its labels."""
    model = operator.raw_operator
    input_type = operator.inputs[0].type
    _, proto_type, dtype = _float_type(input_type)
    activations = operator.inputs[0].full_name
    if guess_proto_type(input_type) != proto_type:
        activations = _add_node(scope, container, "Cast", activations, to=proto_type)

    layers = model.folded_weights(dtype)
    hidden_op = _ACTIVATION_OPS[model.activation]
    for index, (weights, bias) in enumerate(layers):
        weights = _add_initializer(scope, container, "weights", proto_type, weights)
        bias = _add_initializer(scope, container, "bias", proto_type, bias)
        product = _add_node(scope, container, "MatMul", [activations, weights])
        activations = _add_node(scope, container, "Add", [product, bias])
        if hidden_op is not None and index < len(layers) - 1:
            activations = _add_node(scope, container, hidden_op, activations)

    label_output, proba_output = operator.outputs
    zipmap = isinstance(proba_output.type, SequenceType)
    probabilities = _add_node(
        scope,
        container,
        "Softmax",
        activations,
        None if zipmap else proba_output.full_name,
        axis=1,
    )
    _, label_proto, labels = _labels(model)
    classes = _add_initializer(scope, container, "classes", label_proto, labels)
    codes = _add_node(scope, container, "ArgMax", probabilities, axis=1, keepdims=0)
    _add_node(scope, container, "Gather", [classes, codes], label_output.full_name)
    if zipmap:
        if proto_type != TensorProto.FLOAT:
            probabilities = _add_node(
                scope, container, "Cast", probabilities, to=TensorProto.FLOAT
            )
        key, keys = _zipmap_keys(model, labels, label_proto)
        _add_node(
            scope,
            container,
            "ZipMap",
            probabilities,
            proba_output.full_name,
            op_domain="ai.onnx.ml",
            **{key: keys},
        )


update_registered_converter(
    MLPBatchNormClassifier,
    _ALIAS,
    _calculate_output_shapes,
    _convert,
    parser=_parse,
    options={"zipmap": [True, False]},
)


def _calculate_cast_shapes(operator):
    """The float32 cast of the tabular pipelines: a float tensor of the
    input's shape; skl2onnx's own identity keeps the input's type."""
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    function = operator.raw_operator.func
    if function not in (None, as_float32):
        raise RuntimeError(
            f"FunctionTransformer(func={function!r}) has no ONNX export: only the "
            "identity and sknormnet.preprocessing.as_float32 have one."
        )
    shape = operator.inputs[0].type.shape
    output_type = (
        FloatTensorType if function is as_float32 else type(operator.inputs[0].type)
    )
    operator.outputs[0].type = output_type(shape)


def _convert_cast(scope, operator, container):
    """``Cast`` to float32 for ``as_float32``, ``Identity`` for no function."""
    source, target = operator.inputs[0].full_name, operator.outputs[0].full_name
    if operator.raw_operator.func is as_float32:
        _add_node(scope, container, "Cast", source, target, to=TensorProto.FLOAT)
    else:
        _add_node(scope, container, "Identity", source, target)


update_registered_converter(
    FunctionTransformer,
    "SklearnFunctionTransformer",
    _calculate_cast_shapes,
    _convert_cast,
)
