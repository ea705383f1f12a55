"""The batch-normalized softmax multilayer perceptron classifier."""

from __future__ import annotations

import contextlib
import copy
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._activations import log_softmax, softmax
from ._interrupt import handling_ctrl_c
from ._network import LayerSettings, Network, StepSettings
from ._optimizers import OPTIMIZERS
from ._schedules import (
    ADAPTIVE_DIVISOR,
    ADAPTIVE_MINIMUM,
    SCHEDULES,
    Progress,
    warmup_factor,
)
from .exceptions import InconsistentVersionWarning

if TYPE_CHECKING:
    from typing import Self, TypeVar

    from numpy.typing import ArrayLike, DTypeLike, NDArray

    _Method = TypeVar("_Method", bound=Callable[..., Any])

    # scikit-learn's decorator has no type hints: this keeps the signatures
    # of the methods it wraps visible to type checkers.
    def _fit_context(
        *, prefer_skip_nested_validation: bool
    ) -> Callable[[_Method], _Method]: ...

else:
    from sklearn.base import _fit_context

try:
    from sklearn.callback import CallbackSupportMixin

    _CALLBACKS_AVAILABLE = True
except ImportError:  # scikit-learn < 1.9 has no callbacks
    _CALLBACKS_AVAILABLE = False
    _CALLBACK_BASES = ()
else:
    _CALLBACK_BASES = (CallbackSupportMixin,)


def _is_layer_size(value):
    """Whether ``value`` is a positive int (a bool is not a size)."""
    return (
        isinstance(value, Integral)
        and not isinstance(value, bool | np.bool_)
        and value >= 1
    )


def _as_layer_sizes(estimator):
    """``hidden_layer_sizes`` as a list of ints, each checked to be positive.

    The declarative constraints accept any array-like, a dict or a set
    included; the check of the container and of each element lives here and
    raises the same error type with the same wording.
    """
    sizes = estimator.hidden_layer_sizes
    if _is_layer_size(sizes):
        sizes = [sizes]
    elif isinstance(sizes, Sequence | np.ndarray) and not isinstance(sizes, str):
        sizes = list(sizes)
    else:
        sizes = None
    if sizes is None or not all(_is_layer_size(size) for size in sizes):
        raise InvalidParameterError(
            "The 'hidden_layer_sizes' parameter of "
            f"{type(estimator).__name__} must be a positive int or a sequence "
            f"of positive ints. Got {estimator.hidden_layer_sizes!r} instead."
        )
    return [int(size) for size in sizes]


# Training counts as diverged when an epoch's loss exceeds this many times the
# loss of the model's first batch, at its initial weights. A network that
# learns never comes near: its loss falls from there, and even a model sure of
# the wrong class everywhere has a loss of a few tens.
_DIVERGENCE_FACTOR = 100.0
# The loss at the initial weights is about log(n_classes); the floor keeps the
# threshold sensible should it start near 0.
_SMALLEST_INITIAL_LOSS = 0.5
# A fit also diverged when its loss rose above this many times where it
# started (the initial loss or the class priors', the larger) and it ended
# no lower than the priors' loss: it is warned about at its end (see
# _warn_if_no_better_than_priors).
_RISE_FACTOR = 10.0


def _check_labels(labels, name):
    """Reject missing labels: NaN, None or pd.NA would become a class."""
    if labels is None:
        return  # validate_data says y is required
    missing = pd.isna(labels)
    if np.any(missing):
        raise ValueError(
            f"{name} contains missing labels ({np.count_nonzero(missing)} of "
            f"{np.size(labels)}: None, NaN or pd.NA); drop those rows or fill "
            "them in with a label of their own."
        )


def _check_one_label_per_row(y):
    """Refuse a target of several columns: the softmax gives one class per row.

    A single column (shape ``(n, 1)``) is left to scikit-learn, which ravels
    it with a DataConversionWarning.
    """
    shape = getattr(y, "shape", None)  # arrays, frames, sparse matrices
    if shape is None and isinstance(y, Sequence) and not isinstance(y, str):
        try:
            shape = np.shape(y)
        except ValueError:  # ragged nested lists: validate_data says so
            return
    if shape is not None and len(shape) == 2 and shape[1] > 1:
        raise ValueError(
            f"y has shape {shape}: {shape[1]} labels per row (a multilabel or "
            "multi-output target), but MLPBatchNormClassifier is a softmax "
            "classifier, which predicts exactly one class per row. Pass a 1-D y "
            "of class labels, or fit one classifier per column with "
            "sklearn.multioutput.MultiOutputClassifier(MLPBatchNormClassifier())."
        )


@contextlib.contextmanager
def _unchanged_on_error(estimator):
    """Put back the estimator's attributes if the block raises.

    For the checks of the data before training: they only bind attributes
    (a new network included), so the attributes of before are the model of
    before, and a refused call leaves it as it was.
    """
    saved = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(saved)
        raise


@contextlib.contextmanager
def _clear_label_errors(name):
    """Turn numpy's failure to sort labels of mixed types into a clear error."""
    try:
        yield
    except TypeError as error:
        raise ValueError(
            f"{name} contains mixed-type labels (e.g. strings and numbers), "
            "which cannot be sorted into classes; convert them to one type, "
            "e.g. with y.astype(str)."
        ) from error


def _largest_total_weight(dtype):
    """The largest sum of row weights that training in ``dtype`` takes: the
    weighted losses summed over an epoch stay finite below it, with room
    for a loss of ``1 / eps``."""
    finfo = np.finfo(dtype)
    return float(finfo.max) * float(finfo.eps)


def _check_total_weight(total, dtype, name):
    """Refuse row weights (``name``) of a total of 0, or too large for ``dtype``."""
    if total == 0:
        raise ValueError(
            f"{name} are zero for every row, which leaves nothing to train on; "
            "give some rows a positive weight."
        )
    largest = _largest_total_weight(dtype)
    if not total <= largest:
        amount = f"{total:.3g}" if math.isfinite(total) else "more than 1.8e+308"
        raise ValueError(
            f"{name} sum to {amount}, more than training in {np.dtype(dtype)} "
            f"can carry (at most {largest:.3g}: the weighted loss would "
            "overflow). Divide the weights by a common factor, such as their "
            "mean, and alpha by the same factor to keep the same L2 penalty."
        )


def _check_sample_weight_values(sample_weight, n_samples, dtype):
    """Refuse sample weights that are not finite, negative, or too large.

    Before scikit-learn's own check of their shape and type, whose cast to
    ``dtype`` would turn a weight too large for it into inf.
    """
    values = np.asarray(sample_weight)
    if values.ndim > 1 or values.dtype.kind not in "biuf":
        return  # scikit-learn's check says what is wrong
    scalar = values.ndim == 0  # one weight for every row
    values = np.atleast_1d(values).astype(np.float64)
    for bad, what, remedy in (
        (~np.isfinite(values), "non-finite (NaN or inf)", "a finite weight"),
        (values < 0, "negative", "a weight of 0 or more"),
    ):
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            where = "" if scalar else f"row {first}: "
            raise ValueError(
                f"sample_weight has {np.count_nonzero(bad)} {what} value(s) "
                f"({where}{float(values[first])}); give every row {remedy}, 0 to "
                "leave it out of the loss."
            )
    with np.errstate(over="ignore"):
        total = float(values.sum()) * (n_samples if scalar else 1)
    _check_total_weight(total, dtype, "The sample weights")


class _MemoryEstimate:
    """The memory that training a network takes, roughly, and clear errors
    when it cannot be had.

    Counted: the parameters, their gradients, the optimizer's moments (two,
    as Adam's), copies of the parameters and moments for the epoch's start
    and the best epoch, and the batch buffers (the batch's rows and three
    arrays per hidden layer).
    """

    def __init__(self, layer_units, batch_rows, itemsize):
        fan_ins, fan_outs = layer_units[:-1], layer_units[1:]
        hidden = sum(layer_units[1:-1])
        n_params = sum(a * b for a, b in zip(fan_ins, fan_outs)) + 2 * hidden
        n_params += layer_units[-1]
        batch_values = batch_rows * (layer_units[0] + 3 * hidden + layer_units[-1])
        self.bytes = (8 * n_params + batch_values) * itemsize

    def _message(self, hidden_layer_sizes, reason):
        return (
            f"hidden_layer_sizes={hidden_layer_sizes!r} needs about "
            f"{self.bytes / 2**30:.3g} GiB of memory to train, {reason}; use "
            "fewer or smaller hidden layers."
        )

    def check(self, hidden_layer_sizes):
        """Raise a ValueError if the machine has less memory than needed."""
        try:
            available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, OSError, ValueError):
            return  # not a POSIX system: the allocation will tell
        if self.bytes > available:
            raise ValueError(
                self._message(
                    hidden_layer_sizes,
                    f"more than this machine has ({available / 2**30:.3g} GiB)",
                )
            )

    @contextlib.contextmanager
    def explain_failures(self, hidden_layer_sizes):
        """Re-raise a failed allocation with the size that caused it."""
        try:
            yield
        except MemoryError as error:
            raise MemoryError(
                self._message(hidden_layer_sizes, "more than could be allocated")
            ) from error


class _NoCallbacks:
    """Stands in for a callback context where scikit-learn has none."""

    def subcontext(self, **kwargs):
        return self

    def call_on_fit_task_begin(self, **kwargs):
        return self

    def call_on_fit_task_end(self, **kwargs):
        return False


def _batch_slices(n_samples, batch_size, min_batch_size):
    """Batches of ``batch_size`` rows; a remainder smaller than
    ``min_batch_size`` joins the batch before it."""
    slices = list(gen_batches(n_samples, batch_size))
    if len(slices) > 1 and slices[-1].stop - slices[-1].start < min_batch_size:
        slices[-2:] = [slice(slices[-2].start, slices[-1].stop)]
    return slices


_NETWORK_ARRAYS = (
    "coefs_",
    "intercepts_",
    "gammas_",
    "betas_",
    "running_means_",
    "running_vars_",
)


def _check_saved_arrays(state):
    """Refuse the state of a fitted model that lacks arrays of its network:
    it would load as fitted and fail at its first prediction."""
    fitted = [name for name in state if name.endswith("_") and name[0] != "_"]
    missing = [name for name in _NETWORK_ARRAYS if name not in state]
    if fitted and missing:
        raise ValueError(
            f"the saved state of a fitted MLPBatchNormClassifier lacks {missing}: "
            "it was truncated or changed after it was saved; save the model "
            "again."
        )


def _optimizer_state(optimizer):
    """An optimizer as builtins and arrays: the name of its solver and its
    other attributes than the hyperparameters (its ``moments``, a list of
    lists of arrays or None, and Adam's step count ``t``).

    The hyperparameters are left out: they are the estimator's parameters.
    """
    solver = next(name for name, cls in OPTIMIZERS.items() if type(optimizer) is cls)
    state = {
        name: value
        for name, value in vars(optimizer).items()
        if name not in optimizer.hyperparameters
    }
    return {"solver": solver, **state}


def _optimizer_from_state(state, estimator):
    """The optimizer that :func:`_optimizer_state` turned into ``state``, with
    the hyperparameters of ``estimator``'s parameters, which
    ``_sync_optimizer`` hands it again before every fit."""
    state = dict(state)
    optimizer_class = OPTIMIZERS[state.pop("solver")]
    optimizer = optimizer_class(
        **{name: getattr(estimator, name) for name in optimizer_class.hyperparameters}
    )
    vars(optimizer).update(state)
    return optimizer


class MLPBatchNormClassifier(*_CALLBACK_BASES, ClassifierMixin, BaseEstimator):
    """Multilayer perceptron with batch normalization and a softmax output.

    Every hidden layer computes ``z = a_prev @ W``, batch-normalizes ``z``
    (``z_norm = (z - mu) / sqrt(var + eps)``, ``z~ = gamma * z_norm + beta``)
    and applies the activation; the output layer is ``softmax(a @ W + b)``
    over all classes, trained on the cross-entropy by mini-batch gradient
    descent (plain, momentum, RMSprop or Adam) with an optional learning-rate
    decay. At prediction time the running averages of ``mu`` and ``var``
    replace the batch statistics and batch normalization is folded into the
    weights, so a row's prediction never depends on the other rows.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Widths of the hidden layers; an empty sequence gives softmax
        regression.

    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of the hidden layers.

    batch_norm : bool, default=True
        Whether to batch-normalize every hidden layer's ``z`` before its
        activation. The layer bias is then dropped, since ``beta`` takes its
        role.

    batch_norm_momentum : float in [0, 1), default=0.9
        Weight of the old value in the running averages used at prediction
        time: ``running = m * running + (1 - m) * batch_statistic``
        (PyTorch's ``momentum=0.1`` is this 0.9).

    batch_norm_epsilon : float, default=1e-5
        Added to the variance in ``sqrt(var + epsilon)``.

    dropout : float in [0, 1), default=0.0
        In training, the probability of dropping each hidden unit of each
        row; the units kept are scaled by ``1 / (1 - dropout)``, so that
        prediction, which keeps them all, needs no scaling.

    solver : {"sgd", "momentum", "rmsprop", "adam"}, default="adam"
        The update rule: plain gradient descent, momentum (an exponentially
        weighted average of the gradients), RMSprop, or Adam.

    learning_rate_init : float, default=1e-3
        Initial step size ``alpha0``.

    learning_rate : {"constant", "inverse_time", "exponential", "cosine", \
"invscaling", "adaptive"}, default="constant"
        The learning-rate schedule, epoch by epoch, with ``epoch`` the epochs
        trained before (over warm-started fits and ``partial_fit`` calls):

        - ``"constant"``: ``alpha0``;
        - ``"inverse_time"``: ``alpha0 / (1 + decay_rate * epoch)``;
        - ``"exponential"``: ``alpha0 * exp(-decay_rate * epoch)``;
        - ``"cosine"``: ``alpha0 * (1 + cos(pi * epoch / max_iter)) / 2``,
          from ``alpha0`` down towards 0 at the last epoch of ``fit``, which
          ends the training by design: reaching ``max_iter`` then raises no
          ``ConvergenceWarning``;
        - ``"invscaling"``: ``alpha0 / (t + 1) ** power_t`` with ``t`` the
          training rows seen, as in scikit-learn's ``MLPClassifier``;
        - ``"adaptive"``: ``alpha0``, divided by 5 each time
          ``n_iter_no_change`` epochs go without improvement (instead of
          stopping), until it falls below 1e-6, as in scikit-learn.

    decay_rate : float, default=0.0
        Decay per epoch of the ``"inverse_time"`` and ``"exponential"``
        schedules.

    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.

    warmup_epochs : int, default=0
        Epochs over which the schedule's rate ramps up linearly: epoch ``e``
        (from 0) takes ``(e + 1) / (warmup_epochs + 1)`` of it.

    momentum : float in [0, 1), default=0.9
        ``beta`` of the ``"momentum"`` solver.

    nesterovs_momentum : bool, default=False
        Whether the ``"momentum"`` solver takes Nesterov's step,
        ``w -= alpha * (beta * v + (1 - beta) * g)``, instead of
        ``w -= alpha * v``.

    beta_1 : float in [0, 1), default=0.9
        Adam's decay rate of the first moment.

    beta_2 : float in [0, 1), default=0.999
        Decay rate of the second moment, for ``"adam"`` and ``"rmsprop"``.

    epsilon : float, default=1e-8
        Added to the denominator of ``"adam"`` and ``"rmsprop"`` steps.

    alpha : float, default=1e-4
        L2 penalty on the weights (not on ``gamma``, ``beta`` or biases):
        ``0.5 * alpha * sum(W**2) / batch_size`` is added to each batch's loss.

    weight_decay : float, default=0.0
        Decoupled weight decay (as in AdamW): each step first shrinks the
        weights, ``W *= 1 - learning_rate * weight_decay``, outside the
        gradient and so outside Adam's or RMSprop's scaling; not ``gamma``,
        ``beta`` or biases.

    label_smoothing : float in [0, 1), default=0.0
        Trains against the targets ``(1 - label_smoothing) * onehot +
        label_smoothing / n_classes`` instead of one-hot ones.

    batch_size : int or "auto", default="auto"
        Mini-batch size; ``"auto"`` is ``min(256, n_samples)``. A last batch
        of a single row joins the batch before it, since batch statistics
        need at least two rows.

    max_iter : int, default=200
        Maximum number of epochs of ``fit``.

    shuffle : bool, default=True
        Whether to shuffle the rows at every epoch.

    tol : float, default=1e-4
        Improvement of the training loss (or, with ``early_stopping``, of the
        validation score) below which an epoch counts as no improvement.

    n_iter_no_change : int or np.inf, default=10
        Number of epochs without improvement after which training stops;
        ``np.inf`` never stops early, so that ``fit`` runs ``max_iter``
        epochs (with ``early_stopping``, the best epoch is still restored).

    early_stopping : bool, default=False
        Whether ``fit`` holds out a stratified ``validation_fraction`` of the
        data, monitors it every epoch and stops when it no longer improves;
        the best epoch's weights and batch-norm statistics are restored at the
        end. ``partial_fit`` never holds data out.

    validation_fraction : float in (0, 1), default=0.1
        Share of the training data held out for early stopping.

    scoring : str, callable or None, default=None
        The score monitored on the validation data; None monitors the
        negative validation log-loss. Any scikit-learn scorer name or
        ``scorer(estimator, X, y)`` callable.

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss: ``{label: weight}``, or
        ``"balanced"`` for ``n_samples / (n_classes * class_count)``. A weight
        is 0 or a number between the dtype's machine epsilon and its inverse
        (2.2e-16 to 4.5e15 in float64); a class left out weighs 1.
        ``"balanced"`` needs the counts of all the data, so ``partial_fit``
        refuses it: pass the weights as a dict instead.

    warm_start : bool, default=False
        Whether ``fit`` continues from the current weights and optimizer
        state instead of starting anew. Its early stopping, best loss and
        best epoch are its own all the same: a warm-started ``fit`` restores
        its own best epoch, never one of an earlier fit. Its ``y`` must hold
        the classes of the fitted model, no fewer and no others, as in
        scikit-learn's ``MLPClassifier``.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the shuffling and the validation
        split.

    verbose : int, default=0
        With 1 or more, prints one line per epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    coefs_ : list of ndarray
        Weight matrix of each layer, of shape ``(fan_in, fan_out)``.

    intercepts_ : list of ndarray or None
        Bias of each layer; None for hidden layers with batch normalization.

    gammas_, betas_ : list of ndarray
        Batch-norm scale and shift of each hidden layer (empty lists without
        batch normalization).

    running_means_, running_vars_ : list of ndarray
        Running averages of the batch means and unbiased variances of each
        hidden layer's ``z`` (empty lists without batch normalization).

        The arrays of ``coefs_``, ``intercepts_``, ``gammas_``, ``betas_``,
        ``running_means_`` and ``running_vars_`` are views of the network's
        flat parameter and statistics vectors, which training updates in
        place: to change one, write into it (``coefs_[0][...] = W``) rather
        than putting a new array in the list.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs, one per class.

    out_activation_ : str
        Always ``"softmax"``.

    loss_ : float
        Training loss of the last epoch (cross-entropy plus L2 penalty).

    loss_curve_ : list of float
        Training loss of every epoch.

    best_loss_ : float or None
        Smallest training loss reached in the last ``fit`` (and the
        ``partial_fit`` calls since). None with ``early_stopping``, whose
        fits keep the epoch of ``best_validation_score_`` instead, as
        scikit-learn's ``MLPClassifier`` has it.

    validation_loss_curve_ : list of float or None
        Validation log-loss of every epoch of the fits with early stopping
        (a warm-started fit adds its own); None without early stopping.

    validation_scores_ : list of float or None
        Monitored validation score of every epoch of the fits with early
        stopping; None without early stopping, as in scikit-learn's
        ``MLPClassifier``.

    best_validation_score_ : float or None
        Best monitored validation score of the last ``fit`` (None without
        early stopping).

    best_epoch_ : int or None
        The epoch whose weights early stopping restored, numbered from 1 as
        the verbose output, the errors and the plots number epochs: its
        training loss is ``loss_curve_[best_epoch_ - 1]``. None without
        early stopping.

    learning_rate_curve_ : list of float
        Learning rate used in every epoch.

    n_iter_ : int
        Number of epochs run by the last ``fit`` (``partial_fit`` adds one).

    t_ : int
        Number of training samples seen.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : Multilayer perceptron without batch
        normalization.

    Notes
    -----
    The training loss of a batch of ``n`` rows with one-hot labels ``y``,
    softmax outputs ``y_hat`` and sample weights ``s`` (1 by default) is::

        L = -sum_i s_i sum_c y_ic log(y_hat_ic) / sum_i s_i
            + 0.5 * alpha * sum(W**2) / sum_i s_i

    whose gradient with respect to the output logits is
    ``s_i * (y_hat_i - y_i) / sum_i s_i``. Backpropagation through batch
    normalization is exact (see ``BatchNorm`` in ``sknormnet._layers``).

    Divergence is caught at two levels. Training stops with a ValueError
    naming ``learning_rate_init`` when a batch's loss is not finite, or an
    epoch's loss exceeds 100 times the loss of the first batch at the
    initial weights; the epoch's start is put back. Each epoch also measures
    the loss of its last batch after the last update, so the call whose
    update diverged is the one that raises. And a ``fit`` whose loss rose
    above 10 times where it started (the first batch's loss, or that of
    predicting the class frequencies ``p_c``, ``-sum_c p_c log(p_c)``, if
    larger) and that ends no lower than the class frequencies' loss warns
    with a ConvergenceWarning: its probabilities are no better than a
    constant's. The ``partial_fit`` calls are judged by the first test only.

    References
    ----------
    S. Ioffe and C. Szegedy, "Batch Normalization: Accelerating Deep Network
    Training by Reducing Internal Covariate Shift", ICML 2015.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sknormnet import MLPBatchNormClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> model = make_pipeline(
    ...     StandardScaler(),
    ...     MLPBatchNormClassifier(early_stopping=True, random_state=0),
    ... ).fit(X_train, y_train)
    >>> model.score(X_test, y_test) > 0.95
    True
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions({"relu", "tanh", "logistic", "identity"})],
        "batch_norm": ["boolean"],
        "batch_norm_momentum": [Interval(Real, 0, 1, closed="left")],
        "batch_norm_epsilon": [Interval(Real, 0, None, closed="neither")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "solver": [StrOptions(set(OPTIMIZERS))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "decay_rate": [Interval(Real, 0, None, closed="left")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        # a count of epochs, or np.inf (scikit-learn's MLPClassifier takes the
        # same): any number from 1 up, as training compares the count with it
        "n_iter_no_change": [Interval(Real, 1, np.inf, closed="both")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "scoring": [None, str, callable],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        *,
        activation: Literal["relu", "tanh", "logistic", "identity"] = "relu",
        batch_norm: bool = True,
        batch_norm_momentum: float = 0.9,
        batch_norm_epsilon: float = 1e-5,
        dropout: float = 0.0,
        solver: Literal["sgd", "momentum", "rmsprop", "adam"] = "adam",
        learning_rate_init: float = 1e-3,
        learning_rate: Literal[
            "constant",
            "inverse_time",
            "exponential",
            "cosine",
            "invscaling",
            "adaptive",
        ] = "constant",
        decay_rate: float = 0.0,
        power_t: float = 0.5,
        warmup_epochs: int = 0,
        momentum: float = 0.9,
        nesterovs_momentum: bool = False,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        alpha: float = 1e-4,
        weight_decay: float = 0.0,
        label_smoothing: float = 0.0,
        batch_size: int | Literal["auto"] = "auto",
        max_iter: int = 200,
        shuffle: bool = True,
        tol: float = 1e-4,
        n_iter_no_change: int | float = 10,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        scoring: str | Callable[..., float] | None = None,
        class_weight: Mapping[Any, float] | Literal["balanced"] | None = None,
        warm_start: bool = False,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.batch_norm = batch_norm
        self.batch_norm_momentum = batch_norm_momentum
        self.batch_norm_epsilon = batch_norm_epsilon
        self.dropout = dropout
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.decay_rate = decay_rate
        self.power_t = power_t
        self.warmup_epochs = warmup_epochs
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.alpha = alpha
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.scoring = scoring
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Train the network on ``(X, y)`` for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 data trains in float32.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the loss and in the validation metrics:
            finite, 0 or more, not all 0, of a total the loss can carry in
            the data's dtype (about 4e292 in float64, 4e31 in float32).

        Returns
        -------
        self : MLPBatchNormClassifier
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> Self:
        """Train for exactly one epoch over ``(X, y)``, keeping all state.

        Weights, optimizer moments, batch-norm running statistics and the
        histories carry over between calls; hyperparameters changed with
        ``set_params`` (such as ``learning_rate_init``) apply from the next
        call on.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever be seen; required on the first call.
            Later calls may pass the same classes (in any order) or none;
            other classes raise, as in scikit-learn's ``MLPClassifier``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the loss, checked as in ``fit``.

        Returns
        -------
        self : MLPBatchNormClassifier
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _fit(self, X, y, sample_weight, *, incremental, classes=None):
        hook_data = {
            "X": X,
            "y": y,
            "metadata": None
            if sample_weight is None
            else {"sample_weight": sample_weight},
        }
        early_stopping = self.early_stopping and not incremental
        validation = None
        with _unchanged_on_error(self):
            X, y_codes, sample_weight = self._prepare(
                X, y, sample_weight, incremental, classes
            )
            if early_stopping:
                split = self._validation_split(X, y_codes, sample_weight)
                X, y_codes, sample_weight, *validation = split
        if not incremental:
            # Each fit, a warm-started one too, keeps its own best epoch and
            # count of epochs without improvement: an earlier fit's must not
            # stop this one or replace its weights.
            self.n_iter_ = 0
            self._no_improvement_count = 0
            self._adaptive_divisions = 0
            self._reset_monitoring()
            self._best_state = None

        first_epoch = len(self.loss_curve_)
        n_epochs = 1 if incremental else self.max_iter
        fit_context = self._callback_context(n_epochs)
        fit_context.call_on_fit_task_begin(estimator=self, **hook_data)
        memory = _MemoryEstimate(
            self._network.layer_units,
            self._batch_rows(X.shape[0]),
            X.dtype.itemsize,
        )
        with memory.explain_failures(self.hidden_layer_sizes):
            stopped, interrupted = self._run_epochs(
                X, y_codes, sample_weight, validation, n_epochs, fit_context, hook_data
            )
        if early_stopping and self._best_state is not None:
            self._network.restore(self._best_state)
        self._network.release_buffers()
        fit_context.call_on_fit_task_end(
            estimator=self, reconstruction_attributes={}, **hook_data
        )
        if not incremental and not interrupted:
            self._warn_if_no_better_than_priors(y_codes, sample_weight, first_epoch)
        if interrupted:
            message = (
                f"training interrupted after {len(self.loss_curve_)} epochs; "
                "the model is fitted and usable"
                + (" (best epoch restored)." if early_stopping else ".")
            )
            if incremental:
                # the loop calling partial_fit is the caller's: only an
                # exception stops it
                raise KeyboardInterrupt(message)
            warnings.warn(message, UserWarning)
        scheduled_end = self.learning_rate == "cosine"
        if not incremental and not stopped and not interrupted and not scheduled_end:
            # a warm-started fit adds max_iter epochs to the ones before it
            n_epochs = len(self.loss_curve_)
            in_all = (
                f" ({n_epochs} epochs in all, with warm_start)"
                if n_epochs > self.max_iter
                else ""
            )
            warnings.warn(
                f"Stochastic optimizer: maximum iterations ({self.max_iter}) "
                f"reached and the optimization hasn't converged yet{in_all}; "
                "increase max_iter.",
                ConvergenceWarning,
            )
        return self

    def _prepare(self, X, y, sample_weight, incremental, classes):
        """Validate the data, and build the model or check it still fits the
        parameters; return ``X``, the class codes and the row weights."""
        layer_sizes = _as_layer_sizes(self)
        fitted = hasattr(self, "coefs_")
        reset = not fitted or (not incremental and not self.warm_start)
        dtype = [np.float64, np.float32] if reset else self.coefs_[0].dtype
        _check_one_label_per_row(y)
        if fitted and incremental:
            self._check_same_classes(classes)
        # Before validate_data, whose own check fails on pd.NA with a TypeError.
        _check_labels(y, "y")
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            dtype=dtype,
            order="C",
            reset=reset,
        )
        if sparse.issparse(X):
            X = X.tocsr()
        if reset:
            # Classes first: sorting them finds labels of mixed types, which
            # scikit-learn's check would report as an unknown target type.
            self.classes_ = self._classes_for_new_model(y, incremental, classes)
            # Integers, booleans and strings can only be class labels; other
            # dtypes (floats may be continuous) get scikit-learn's scan.
            if y.dtype.kind not in "iubU":
                check_classification_targets(y)
        # On a fitted model this alone checks y: it rejects every label that is
        # not one of classes_, continuous values included, and spares each
        # partial_fit call scikit-learn's scan of the labels' type.
        y_codes = self._encode_labels(y)
        if not reset and not incremental:
            self._check_every_class_present(y_codes)
        sample_weight = self._combined_sample_weight(
            y_codes, sample_weight, X, incremental
        )

        if reset:
            self._random_state = check_random_state(self.random_state)
            self._initialize(X.shape[1], X.dtype, layer_sizes, X.shape[0])
        else:
            self._check_architecture_unchanged(layer_sizes)
            self._network.configure(self._layer_settings())
        self._sync_optimizer()
        return X, y_codes, sample_weight

    def _run_epochs(
        self, X, y_codes, sample_weight, validation, n_epochs, fit_context, hook_data
    ):
        """Train up to ``n_epochs`` epochs, monitoring ``validation`` (``X``,
        ``y`` and weights held out for early stopping, or None); return
        whether training stopped by itself and whether Ctrl-C stopped it.

        Where training has the package's Ctrl-C handler, a first Ctrl-C
        stops it at the end of the current batch and a second one (or a
        KeyboardInterrupt from a callback) at once, back to the start of the
        epoch; elsewhere (inside a search, under an application's handler) a
        KeyboardInterrupt propagates, so that a fit cut short is never passed
        off as finished.
        """
        batch_slices = self._batch_slices(X.shape[0])
        stopped = interrupted = False
        with handling_ctrl_c() as ctrl_c:
            try:
                for _ in range(n_epochs):
                    if ctrl_c is not None and ctrl_c.requested:
                        interrupted = True
                        break
                    epoch_context = fit_context.subcontext(task_name="epoch")
                    epoch_context.call_on_fit_task_begin(estimator=self, **hook_data)
                    epoch_start = time.perf_counter()
                    interrupted = self._train_one_epoch(
                        X, y_codes, sample_weight, batch_slices, ctrl_c
                    )
                    self.n_iter_ += 1
                    if validation is not None and not interrupted:
                        self._record_validation(*validation)
                    stopped = self._update_no_improvement(validation is not None)
                    if self.verbose:
                        self._print_epoch(time.perf_counter() - epoch_start)
                    stopped |= epoch_context.call_on_fit_task_end(
                        estimator=self,
                        reconstruction_attributes=self._fitted_attributes_copy,
                        **hook_data,
                    )
                    if interrupted or (stopped and n_epochs > 1):
                        break
            except KeyboardInterrupt:
                if ctrl_c is None:
                    raise
                interrupted = True
        return stopped, interrupted

    def _callback_context(self, n_epochs):
        """The fit task's callback context: one subtask per epoch."""
        if _CALLBACKS_AVAILABLE:
            return self._init_callback_context(max_subtasks=n_epochs)
        return _NoCallbacks()

    def _fitted_attributes_copy(self):
        """Copies of the learned attributes and of the network they are views
        of, for a callback's fitted estimator."""
        network = self._network.copy()
        views = self._network_views(network)
        attributes = {
            name: copy.deepcopy(value)
            for name, value in vars(self).items()
            if name.endswith("_") and not name.startswith("_") and name not in views
        }
        return {**attributes, **views, "_network": network}

    @staticmethod
    def _network_views(network):
        """The fitted attributes that are views of ``network``'s arrays."""
        return {
            "coefs_": list(network.coefs),
            "intercepts_": list(network.intercepts),
            "gammas_": list(network.gammas),
            "betas_": list(network.betas),
            "running_means_": list(network.running_means),
            "running_vars_": list(network.running_vars),
        }

    def __getstate__(self):
        # The network's layers hold batch buffers; the arrays it owns are in
        # the fitted attributes, from which loading builds it again. The state
        # holds only arrays and builtins (and a RandomState), so that skops
        # trusts all of it but the class itself. (__version__ is imported here:
        # the package imports this module before it sets it.)
        from . import __version__

        state = dict(super().__getstate__())
        state.pop("_network", None)
        if state.get("_optimizer") is not None:
            state["_optimizer"] = _optimizer_state(state["_optimizer"])
        state["_sknormnet_version"] = __version__
        return state

    def __setstate__(self, state):
        from . import __version__

        state = dict(state)
        saved_version = state.pop("_sknormnet_version", "unknown")
        if saved_version != __version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_sknormnet_version=__version__,
                    original_sknormnet_version=saved_version,
                )
            )
        _check_saved_arrays(state)
        super().__setstate__(state)
        if getattr(self, "_optimizer", None) is not None:
            self._optimizer = _optimizer_from_state(self._optimizer, self)
        if "coefs_" in state:
            network = Network.from_arrays(
                self.coefs_,
                self.intercepts_,
                self.gammas_,
                self.betas_,
                self.running_means_,
                self.running_vars_,
                settings=self._layer_settings(),
            )
            self._attach(network)

    def _layer_settings(self):
        """The parameters the network's layers take, from their one source."""
        return LayerSettings(
            self.activation,
            self.batch_norm_momentum,
            self.batch_norm_epsilon,
            self.dropout,
        )

    def _attach(self, network):
        """Make ``network`` the model's, its arrays the fitted attributes."""
        self._network = network
        for name, value in self._network_views(network).items():
            setattr(self, name, value)

    def _classes_for_new_model(self, y, incremental, classes):
        if incremental:
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit: "
                    "the network's output layer needs every class up front."
                )
            classes = np.asarray(classes)
            _check_labels(classes, "classes")
            with _clear_label_errors("classes"):
                all_classes = np.unique(classes)
            with _clear_label_errors("y and classes"):
                unknown = np.setdiff1d(np.unique(y), all_classes)
            if unknown.size:
                raise ValueError(
                    f"y has labels {unknown.tolist()} that are not in classes="
                    f"{all_classes.tolist()}; pass every possible label in classes."
                )
        else:
            with _clear_label_errors("y"):
                all_classes = np.unique(y)
        if all_classes.size < 2:
            raise ValueError(
                "MLPBatchNormClassifier needs samples of at least 2 classes in "
                f"the data, but the data contains only one class: {all_classes[0]!r}."
            )
        return all_classes

    def _check_same_classes(self, classes):
        """A later ``partial_fit`` call's ``classes``: those of the model."""
        if classes is None:
            return
        classes = np.asarray(classes)
        _check_labels(classes, "classes")
        with _clear_label_errors("classes"):
            unique = np.unique(classes)
        if unique.tolist() != self.classes_.tolist():
            raise ValueError(
                f"classes={unique.tolist()} is not the same as the model's "
                f"classes, {self.classes_.tolist()}, which its output layer "
                "was built for on the first call. Pass the same classes to "
                "every call (or none after the first), or start a new model "
                "for other classes."
            )

    def _check_every_class_present(self, y_codes):
        """A warm-started fit's labels hold every class of the model."""
        counts = np.bincount(y_codes, minlength=self.classes_.size)
        absent = self.classes_[counts == 0]
        if absent.size:
            raise ValueError(
                "warm_start=True continues the fitted network, whose output "
                f"layer has the classes {self.classes_.tolist()}, but y has no "
                f"sample of {absent.tolist()}. Fit with y of the same classes, "
                "or set warm_start=False to train a new network on the classes "
                "of y."
            )

    def _encode_labels(self, y):
        with _clear_label_errors("y"):
            codes = np.searchsorted(self.classes_, y)
        codes = np.minimum(codes, self.classes_.size - 1)
        unknown = self.classes_[codes] != y
        if np.any(unknown):
            raise ValueError(
                f"y has labels {np.unique(y[unknown]).tolist()} the model was not "
                f"fitted with; its classes are {self.classes_.tolist()}. Refit "
                "with warm_start=False to learn new classes."
            )
        return codes

    def _combined_sample_weight(self, y_codes, sample_weight, X, incremental):
        """Sample weights times class weights, or None when all are 1.

        Checked: finite, not negative, of a positive total that the loss in
        ``X``'s dtype can carry.
        """
        if sample_weight is not None:
            _check_sample_weight_values(sample_weight, X.shape[0], X.dtype)
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        if self.class_weight is None:
            return sample_weight
        weights = self._class_weights(y_codes, X.dtype, incremental)[y_codes]
        if sample_weight is None:
            return weights
        weights = weights * sample_weight
        with np.errstate(over="ignore"):
            total = float(weights.sum(dtype=np.float64))
        _check_total_weight(total, X.dtype, "The sample weights times class_weight")
        return weights

    def _class_weights(self, y_codes, dtype, incremental):
        """The weight of each class, checked, in ``dtype``."""
        n_classes = self.classes_.size
        if self.class_weight == "balanced":
            if incremental:
                raise ValueError(
                    "class_weight='balanced' needs the class counts of all the "
                    "training data, which partial_fit never sees at once. Compute "
                    "the weights from the labels with sklearn.utils.class_weight."
                    "compute_class_weight('balanced', classes=classes, y=y) and "
                    "pass them as a dict: class_weight=dict(zip(classes, weights))."
                )
            counts = np.bincount(y_codes, minlength=n_classes)
            present = counts > 0
            per_class = np.ones(n_classes)
            per_class[present] = y_codes.size / (present.sum() * counts[present])
            return per_class.astype(dtype)
        classes = self.classes_.tolist()
        unknown = [label for label in self.class_weight if label not in classes]
        if unknown:
            raise ValueError(
                f"class_weight has labels {sorted(unknown, key=str)} that are "
                f"not classes; the classes are {classes}."
            )
        # Weights multiply the rows' losses and their total divides the L2
        # penalty: outside [eps, 1 / eps] of the dtype they make the loss or
        # the penalty overflow, underflow or swamp everything else.
        finfo = np.finfo(dtype)
        smallest, largest = float(finfo.eps), 1 / float(finfo.eps)
        per_class = np.ones(n_classes, dtype=dtype)
        for index, label in enumerate(classes):
            value = self.class_weight.get(label, 1.0)
            valid = isinstance(value, Real) and not isinstance(value, bool | np.bool_)
            if not valid or not (value == 0 or smallest <= value <= largest):
                raise ValueError(
                    f"class_weight[{label!r}]={value!r} is not a valid class "
                    f"weight: class weights must be 0 or numbers between "
                    f"{smallest:.3g} and {largest:.3g} (for {finfo.dtype} "
                    "data), such as 0.5 or 2."
                )
            per_class[index] = value
        if not per_class[np.unique(y_codes)].any():
            raise ValueError(
                f"class_weight={self.class_weight!r} gives every sample in y a "
                "weight of 0, which leaves nothing to train on; give at least "
                "one class present in y a positive weight."
            )
        return per_class

    def _initialize(self, n_features, dtype, layer_sizes, n_samples):
        layer_units = [n_features, *layer_sizes, self.classes_.size]
        memory = _MemoryEstimate(
            layer_units, self._batch_rows(n_samples), np.dtype(dtype).itemsize
        )
        memory.check(self.hidden_layer_sizes)
        with memory.explain_failures(self.hidden_layer_sizes):
            network = Network.initialized(
                layer_units,
                random_state=self._random_state,
                settings=self._layer_settings(),
                batch_norm=self.batch_norm,
                dtype=dtype,
            )
        self._attach(network)
        self.n_layers_ = len(layer_sizes) + 2
        self.n_outputs_ = self.classes_.size
        self.out_activation_ = "softmax"
        self.loss_curve_ = []
        self.learning_rate_curve_ = []
        self.validation_loss_curve_ = self.validation_scores_ = None
        self._reset_monitoring()
        self.n_iter_ = 0
        self.t_ = 0
        self._no_improvement_count = 0
        self._adaptive_divisions = 0
        self._optimizer = None
        self._best_state = None
        self._initial_loss = None

    def _check_architecture_unchanged(self, layer_sizes):
        fitted_sizes = [coef.shape[1] for coef in self.coefs_[:-1]]
        if fitted_sizes != layer_sizes or bool(self.gammas_) != (
            self.batch_norm and bool(layer_sizes)
        ):
            raise ValueError(
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} and "
                f"batch_norm={self.batch_norm!r} do not match the fitted network "
                f"(hidden layers {fitted_sizes}, batch norm "
                f"{bool(self.gammas_)}); set them back or fit from scratch with "
                "warm_start=False."
            )

    def _sync_optimizer(self):
        """Create the optimizer, or hand it the current hyperparameters.

        Keeping the optimizer object keeps its moments, so a hyperparameter
        changed between ``partial_fit`` calls takes effect without a reset.
        """
        optimizer_class = OPTIMIZERS[self.solver]
        hyperparameters = {
            name: getattr(self, name) for name in optimizer_class.hyperparameters
        }
        if isinstance(self._optimizer, optimizer_class):
            self._optimizer.set_hyperparameters(**hyperparameters)
        else:
            self._optimizer = optimizer_class(**hyperparameters)

    def _batch_rows(self, n_samples):
        """Rows per batch before the last batch's adjustment."""
        if self.batch_size == "auto":
            return min(256, n_samples)
        return min(self.batch_size, n_samples)

    def _batch_slices(self, n_samples):
        if self.gammas_ and n_samples < 2:
            raise ValueError(
                f"Found {n_samples} training sample(s), but batch normalization "
                "needs at least 2 rows per batch; pass more samples or set "
                "batch_norm=False."
            )
        if self.batch_size == "auto":
            batch_size = self._batch_rows(n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    f"batch_size={self.batch_size} is larger than the "
                    f"{n_samples} training samples; it is clipped to {n_samples}."
                )
            batch_size = min(self.batch_size, n_samples)
        min_batch_size = 2 if self.gammas_ else 1
        if batch_size < min_batch_size:
            batch_size = min_batch_size
        return _batch_slices(n_samples, batch_size, min_batch_size)

    def _validation_split(self, X, y_codes, sample_weight):
        """Hold out ``validation_fraction`` of the rows, stratified by class
        when every class can be on both sides; otherwise with a warning, the
        rows of classes with a single row kept for training and the validation
        rows drawn from the others (stratified when that is possible)."""
        n_samples, n_classes = y_codes.size, self.classes_.size
        n_val = int(np.ceil(self.validation_fraction * n_samples))
        n_train = n_samples - n_val
        if n_train < n_classes:
            raise ValueError(
                f"early_stopping with validation_fraction={self.validation_fraction} "
                f"holds out {n_val} of the {n_samples} samples, which leaves "
                f"{n_train} to train on, fewer than the {n_classes} classes; lower "
                "validation_fraction (to at most "
                f"{(n_samples - n_classes) / n_samples:.3g}) or set "
                "early_stopping=False."
            )
        counts = np.bincount(y_codes, minlength=n_classes)
        rows = np.arange(n_samples)
        stratify = y_codes
        if counts.min() < 2 or n_val < n_classes:
            warnings.warn(
                f"early_stopping cannot stratify its validation split (class "
                f"counts {counts.tolist()}, {n_val} validation rows for "
                f"{n_classes} classes): the validation rows may miss some "
                "classes, and the rows of classes with a single row stay in "
                "training. Raise validation_fraction or pass more samples per "
                "class for a stratified split.",
                UserWarning,
            )
            shared = counts[y_codes] >= 2  # rows of classes that can be split
            rows = rows[shared] if shared.sum() > n_val else rows
            kept = counts[y_codes[rows]]
            classes_left = np.unique(y_codes[rows]).size
            splittable = kept.min() >= 2 and n_val >= classes_left
            stratify = y_codes[rows] if splittable else None
        validation = train_test_split(
            rows,
            test_size=n_val,
            stratify=stratify,
            random_state=self._random_state,
        )[1]
        in_validation = np.zeros(n_samples, dtype=bool)
        in_validation[validation] = True
        weights = np.ones(n_samples) if sample_weight is None else sample_weight
        X_train, X_val = X[~in_validation], X[in_validation]
        y_train, y_val = y_codes[~in_validation], y_codes[in_validation]
        w_train, w_val = weights[~in_validation], weights[in_validation]
        if sample_weight is None:
            w_train = w_val = None
        elif not w_train.any():
            raise ValueError(
                "The sample weights are zero for every row left to train on "
                f"once early_stopping holds out validation_fraction="
                f"{self.validation_fraction}; give more rows a positive weight, "
                "or set early_stopping=False."
            )
        return X_train, y_train, w_train, X_val, self.classes_[y_val], w_val

    # ---------------------------------------------------------- one epoch

    def _current_learning_rate(self):
        """The learning rate of the next epoch: the schedule's, warmed up,
        and divided by 5 for each stall of the ``"adaptive"`` schedule."""
        progress = Progress(
            epoch=len(self.loss_curve_),
            samples_seen=self.t_,
            max_iter=self.max_iter,
            decay_rate=self.decay_rate,
            power_t=self.power_t,
            warmup_epochs=self.warmup_epochs,
        )
        rate = SCHEDULES[self.learning_rate](self.learning_rate_init, progress)
        rate *= warmup_factor(progress)
        if self.learning_rate == "adaptive":
            rate /= ADAPTIVE_DIVISOR**self._adaptive_divisions
        return rate

    def _train_one_epoch(self, X, y_codes, sample_weight, batch_slices, ctrl_c):
        """Train one epoch; return True if Ctrl-C cut it short.

        Whatever stops the epoch midway (divergence, an overflow, an
        interrupt, running out of memory) puts back the state of its start:
        the last consistent one.
        """
        learning_rate = self._current_learning_rate()
        snapshot = self._epoch_snapshot()
        try:
            loss = self._run_batches(
                X, y_codes, sample_weight, batch_slices, ctrl_c, learning_rate
            )
        except BaseException:
            self._restore_epoch(snapshot)
            raise
        self.loss_ = loss
        self.loss_curve_.append(self.loss_)
        self.learning_rate_curve_.append(learning_rate)
        return ctrl_c is not None and ctrl_c.requested

    def _run_batches(
        self, X, y_codes, sample_weight, batch_slices, ctrl_c, learning_rate
    ):
        """One pass over the shuffled batches; return the epoch's mean loss."""
        network, optimizer = self._network, self._optimizer
        n_samples = y_codes.size
        order = (
            self._random_state.permutation(n_samples)
            if self.shuffle
            else np.arange(n_samples)
        )
        step = StepSettings(self.alpha, self.weight_decay, self.label_smoothing)
        # The dropout masks come from a generator of their own, seeded from
        # the model's random state (NumPy's Generator draws them several times
        # faster than a RandomState); no draw is taken without dropout, so
        # that the shuffling of a seed stays the same.
        dropout_rng = (
            np.random.default_rng(self._random_state.randint(2**31))
            if self.dropout
            else None
        )
        # The labels and weights in epoch order, once: each batch is then a
        # slice of them rather than a gathered copy.
        y_shuffled = y_codes[order]
        weights_shuffled = None if sample_weight is None else sample_weight[order]
        dense = not sparse.issparse(X)
        if dense:
            max_rows = max(s.stop - s.start for s in batch_slices)
            X_buffer = np.empty((max_rows, X.shape[1]), dtype=X.dtype)
        epoch_loss = epoch_weight = 0.0
        last_batch = None
        # Overflow surfaces as a non-finite loss, reported with a clear error.
        with np.errstate(over="ignore", invalid="ignore"):
            for batch in batch_slices:
                rows = order[batch]
                if dense:
                    # The rows are valid indices by construction; with
                    # mode="clip" take writes straight into the buffer
                    # (mode="raise" goes through a temporary copy).
                    X_batch = np.take(
                        X, rows, axis=0, out=X_buffer[: rows.size], mode="clip"
                    )
                else:
                    X_batch = X[rows]
                weights = None if weights_shuffled is None else weights_shuffled[batch]
                batch_weight = rows.size if weights is None else weights.sum()
                if batch_weight <= 0:
                    continue
                loss = network.train_step(
                    X_batch,
                    y_shuffled[batch],
                    weights,
                    optimizer,
                    learning_rate,
                    step,
                    dropout_rng,
                )
                if not math.isfinite(loss):
                    self._diverged(learning_rate, "non-finite")
                if self._initial_loss is None:
                    self._initial_loss = max(loss, _SMALLEST_INITIAL_LOSS)
                epoch_loss += loss * batch_weight
                epoch_weight += batch_weight
                self.t_ += rows.size
                last_batch = (X_batch, y_shuffled[batch], weights)
                if ctrl_c is not None and ctrl_c.requested:
                    break
            if last_batch is not None:
                self._check_last_update(last_batch, learning_rate, step, dropout_rng)
        loss = float(epoch_loss / epoch_weight) if epoch_weight else np.nan
        self._check_growth(loss, learning_rate)
        return loss

    def _check_last_update(self, batch, learning_rate, step, dropout_rng):
        """Raise if the epoch's last update made the loss diverge.

        Every batch's loss is measured before its update, so no batch of this
        call measures the last one: without this check, the next call would
        meet the diverged weights and blame its own learning rate. The loss
        is that of the last batch, at the updated parameters.
        """
        if not np.isfinite(self._network.params).all():
            self._diverged(learning_rate, "non-finite")
        loss = self._network.loss(*batch, step, dropout_rng)
        if not math.isfinite(loss):
            self._diverged(learning_rate, "non-finite")
        self._check_growth(loss, learning_rate)

    def _check_growth(self, loss, learning_rate):
        """Raise if ``loss`` is beyond ``_DIVERGENCE_FACTOR`` times the first."""
        initial_loss = self._initial_loss
        if initial_loss is not None and loss > _DIVERGENCE_FACTOR * initial_loss:
            self._diverged(learning_rate, f"grow from {initial_loss:.3g} to {loss:.3g}")

    def _warn_if_no_better_than_priors(self, y_codes, sample_weight, first_epoch):
        """Warn when this fit's loss rose well above its start and ended no
        lower than the loss of predicting the class priors.

        Such a fit diverged and settled on a model no better than a constant
        (a network whose units all died, say) without ever reaching the
        error's threshold. Both conditions are needed: a fit still above the
        priors' loss after a few slow epochs, or one whose loss briefly rose
        and then fell well below the priors', is training as it should. The
        loss that counts is the kept epoch's: the best one with early
        stopping, else the last.
        """
        curve = self.loss_curve_[first_epoch:]
        if not curve or self._initial_loss is None:
            return
        counts = np.bincount(
            y_codes, weights=sample_weight, minlength=self.classes_.size
        )
        shares = counts[counts > 0] / counts.sum()
        prior_loss = float(-(shares * np.log(shares)).sum())
        peak = int(np.argmax(curve))
        start = max(self._initial_loss, prior_loss)
        kept = self.loss_curve_[
            -1 if self.best_epoch_ is None else self.best_epoch_ - 1
        ]
        if curve[peak] > _RISE_FACTOR * start and kept >= prior_loss:
            warnings.warn(
                f"learning_rate_init={self.learning_rate_init} made the training "
                f"loss rise to {curve[peak]:.3g} at epoch "
                f"{first_epoch + peak + 1} (from {self._initial_loss:.3g} at "
                f"the start) and end at {kept:.3g}, no lower than the "
                f"{prior_loss:.3g} of predicting the class frequencies: "
                "training diverged, and the model's probabilities are no "
                "better than a constant's. Lower learning_rate_init, scale the "
                "features (e.g. with StandardScaler) or raise alpha.",
                ConvergenceWarning,
            )

    def _diverged(self, learning_rate, what_happened):
        raise ValueError(
            f"learning_rate_init={self.learning_rate_init} made the training "
            f"loss {what_happened} at epoch {len(self.loss_curve_) + 1} "
            f"(learning rate {learning_rate:.3g}): training diverged. The "
            "weights are left as they were before that epoch. Lower "
            "learning_rate_init, scale the features (e.g. with StandardScaler) "
            "or raise alpha."
        )

    def _epoch_snapshot(self):
        """The network, the optimizer and the sample count at an epoch's
        start: the optimizer's moments take in every batch's gradient, a
        non-finite one included."""
        return (
            self._network.snapshot(),
            copy.deepcopy(self._optimizer),
            self.t_,
            self._initial_loss,
        )

    def _restore_epoch(self, snapshot):
        network_state, self._optimizer, self.t_, self._initial_loss = snapshot
        self._network.restore(network_state)

    # ------------------------------------------------ monitoring an epoch

    def _record_validation(self, X_val, y_val, sample_weight_val):
        log_proba = self._network.predict_logits(X_val, finish=log_softmax)
        codes = np.searchsorted(self.classes_, y_val)
        sample_losses = -log_proba[np.arange(codes.size), codes]
        val_loss = float(np.average(sample_losses, weights=sample_weight_val))
        self.validation_loss_curve_.append(val_loss)
        if self.scoring is None:
            score = -val_loss
        else:
            scorer = check_scoring(self, scoring=self.scoring)
            kwargs = {}
            if sample_weight_val is not None:
                kwargs["sample_weight"] = sample_weight_val
            with warnings.catch_warnings():
                # X_val is a slice of the validated training data, which no
                # longer carries the DataFrame's column names
                warnings.filterwarnings(
                    "ignore", message="X does not have valid feature names"
                )
                score = float(scorer(self, X_val, y_val, **kwargs))
        self.validation_scores_.append(score)

    def _update_no_improvement(self, early_stopping):
        """Update the best values; return True when training should stop."""
        if early_stopping:
            score = self.validation_scores_[-1]
            best = self.best_validation_score_
            if best is not None and score < best + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if best is None or score > best:
                self.best_validation_score_ = score
                self.best_epoch_ = len(self.loss_curve_)
                self._best_state = self._network.snapshot()
        else:
            # partial_fit on a model with early_stopping: best_loss_ is None
            best = np.inf if self.best_loss_ is None else self.best_loss_
            if self.loss_ > best - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if not self.early_stopping:
                self.best_loss_ = min(best, self.loss_)
        stalled = self._no_improvement_count > self.n_iter_no_change
        if (
            stalled
            and self.learning_rate == "adaptive"
            and self.learning_rate_curve_[-1] > ADAPTIVE_MINIMUM
        ):
            # scikit-learn's "adaptive": a smaller rate rather than a stop
            self._adaptive_divisions += 1
            self._no_improvement_count = 0
            return False
        return stalled

    def _reset_monitoring(self):
        """Start a fit's best values, and its validation histories.

        As scikit-learn's ``MLPClassifier`` has them: with early stopping,
        ``best_loss_`` is None and the validation histories are lists (which
        a warm-started fit continues); without, the histories are None.
        """
        if self.early_stopping:
            self.best_loss_ = None
            if self.validation_scores_ is None:
                self.validation_loss_curve_, self.validation_scores_ = [], []
        else:
            self.best_loss_ = np.inf
            self.validation_loss_curve_ = self.validation_scores_ = None
        self.best_validation_score_ = None
        self.best_epoch_ = None

    def _print_epoch(self, seconds):
        parts = [f"Epoch {len(self.loss_curve_)}", f"loss={self.loss_:.6f}"]
        if self.validation_loss_curve_ and self.early_stopping:
            parts.append(f"validation loss={self.validation_loss_curve_[-1]:.6f}")
            parts.append(f"validation score={self.validation_scores_[-1]:.6f}")
        parts.append(f"learning rate={self.learning_rate_curve_[-1]:.3g}")
        parts.append(f"{seconds:.2f}s")
        print(", ".join(parts))

    # ------------------------------------------------------------ predict

    def _predict_logits(self, X, finish=None):
        """Validate ``X`` and return the network's (finished) logits."""
        X = self._validated_input(X)
        return self._network.predict_logits(X, finish=finish)

    def _validated_input(self, X):
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=[np.float64, np.float32],
            reset=False,
        )
        return X.tocsr() if sparse.issparse(X) else X

    def folded_weights(
        self, dtype: DTypeLike | None = None
    ) -> list[tuple[NDArray[np.floating[Any]], NDArray[np.floating[Any]]]]:
        """The weights and bias of every layer, batch normalization folded in.

        At prediction time a hidden layer with batch normalization computes
        ``gamma * (a @ W - running_mean) / sqrt(running_var + epsilon) +
        beta``, which is ``a @ (W * scale) + (beta - running_mean * scale)``
        with ``scale = gamma / sqrt(running_var + epsilon)``. So the network
        is a plain MLP: ``a = activation(a @ W + b)`` per hidden layer, then
        ``softmax(a @ W + b)``. This is what the model computes in
        ``predict_proba``, and what an export to another runtime needs.

        Parameters
        ----------
        dtype : dtype, default=None
            Of the arrays returned; the model's own when None.

        Returns
        -------
        layers : list of (ndarray, ndarray)
            ``(weights, bias)`` of each layer, input to output, of shapes
            ``(fan_in, fan_out)`` and ``(fan_out,)``; new arrays.

        Examples
        --------
        >>> import numpy as np
        >>> from sknormnet import MLPBatchNormClassifier
        >>> rng = np.random.default_rng(0)
        >>> X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
        >>> model = MLPBatchNormClassifier((5,), tol=1.0, n_iter_no_change=1).fit(X, y)
        >>> [(w.shape, b.shape) for w, b in model.folded_weights()]
        [((3, 5), (5,)), ((5, 2), (2,))]
        """
        check_is_fitted(self)
        dtype = self.coefs_[0].dtype if dtype is None else np.dtype(dtype)
        return [
            (np.array(weights, dtype=dtype), np.array(bias, dtype=dtype))
            for weights, bias in self._network.folded_params(dtype)
        ]

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Predict the class of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        logits = self._predict_logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def predict_proba(self, X: ArrayLike) -> NDArray[np.floating[Any]]:
        """Class probabilities: the softmax of the output layer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; rows sum to 1.
        """
        return self._predict_logits(X, finish=softmax)

    def predict_log_proba(self, X: ArrayLike) -> NDArray[np.floating[Any]]:
        """Logarithm of the class probabilities, computed stably.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Finite for any finite input that the network's layers can carry
            in its dtype.

        Raises
        ------
        ValueError
            If ``X`` is on a scale that overflows the dtype in the layers
            (e.g. values near 1e308 in float64).
        """
        return self._predict_logits(X, finish=log_softmax)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
