"""Training speed of MLPBatchNormClassifier against its references.

Trains on ``make_classification(n_samples=50_000, n_features=100,
n_informative=50, n_classes=10)`` with hidden layers (256, 256), batches of
256 rows and Adam, and prints the seconds per epoch of

- sknormnet: ``partial_fit``, one epoch per call, on an initialised model;
- the GEMM limit: only the matrix products one epoch needs, with numpy;
- scikit-learn's ``MLPClassifier`` (no batch normalization), ``partial_fit``;
- a PyTorch MLP with ``BatchNorm1d`` on the CPU, if torch is installed;

then the ratios sknormnet / reference against their targets. Every contender
gets one warm-up epoch; the timed epochs run in rounds, one epoch of each
contender after the other, and the medians are compared.

``--phases`` times one sknormnet epoch by phase, in the benchmark process
only: it wraps the ``forward`` and ``backward`` of ``Dense``, ``BatchNorm``
(with the hidden activation) and ``BiasActivation`` (without batch norm) in
``sknormnet._layers``, ``Network.backpropagate`` and ``Network.train_step``
in ``sknormnet._network`` (their own times: the softmax, the loss and the
loop over the layers; the L2 gradient and the weight decay), every
optimizer's ``update_params`` in ``sknormnet._optimizers``, and the
estimator's ``_train_one_epoch`` (its own time is the rest of the epoch loop,
the batch gathering included). Each phase is timed net of the wrapped calls
it makes, so the phases add up to the epoch. A method that does not exist is
listed as not found and its time lands in its caller's phase. Timed apart, in
alternation with those epochs: the GEMM limit's forward and backward
products, and the batch gathering alone (``np.take`` of each batch's rows of
a permutation into a buffer).

Usage::

    python benchmarks/bench_training.py [--dtype float32|float64|both]
        [--epochs N] [--no-sklearn] [--no-torch] [--phases] [--quick]
"""

import argparse
import functools
import importlib
import itertools
import time
import types
import warnings
from collections import defaultdict

import numpy as np
from _common import (
    BATCH_SIZE,
    HIDDEN_LAYER_SIZES,
    LEARNING_RATE,
    make_workload,
    median,
    numpy_blas_threads,
    print_final_load,
    print_machine,
    selected_dtypes,
    timed,
    verdict,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from sknormnet import MLPBatchNormClassifier

try:
    import torch
except ImportError:
    torch = None

# Ratio sknormnet / reference that each reference's target allows; the
# PyTorch target applies to float32 only.
TARGETS = {"gemm": 2.0, "sklearn": 0.5, "torch": 0.8}
TORCH_TARGET_DTYPES = ("float32",)


def batch_bounds(n_samples, batch_size):
    """(start, stop) of each batch; a last batch of one row joins the one
    before it, since batch statistics need two rows."""
    bounds = [
        (start, min(start + batch_size, n_samples))
        for start in range(0, n_samples, batch_size)
    ]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < 2:
        bounds[-2:] = [(bounds[-2][0], bounds[-1][1])]
    return bounds


# ------------------------------------------------------------- contenders

# The same training set-up for sknormnet and scikit-learn's MLPClassifier.
MLP_HYPERPARAMETERS = {
    "solver": "adam",
    "learning_rate_init": LEARNING_RATE,
    "batch_size": BATCH_SIZE,
    "shuffle": True,
    "random_state": 0,
}


class Ours:
    key = "ours"
    label = "sknormnet MLPBatchNormClassifier"

    def __init__(self, X, y):
        self.X, self.y = X, y
        self.model = MLPBatchNormClassifier(HIDDEN_LAYER_SIZES, **MLP_HYPERPARAMETERS)

    def warm_up(self):
        self.model.partial_fit(self.X, self.y, classes=np.unique(self.y))

    def epoch(self):
        self.model.partial_fit(self.X, self.y)

    def check(self, n_epochs):
        model = self.model
        if len(model.loss_curve_) != n_epochs or model.coefs_[0].dtype != self.X.dtype:
            raise RuntimeError(
                f"sknormnet ran {len(model.loss_curve_)} epochs in "
                f"{model.coefs_[0].dtype}; expected {n_epochs} in {self.X.dtype}"
            )


class GemmLimit:
    """Only the matrix products of an epoch, at the estimator's shapes.

    Per batch: ``A @ W`` for every layer, ``A.T @ dZ`` for every layer and
    ``dZ @ W.T`` for every layer but the first, into preallocated outputs.
    Forward and backward seconds of the last epoch are kept apart.
    """

    key = "gemm"
    label = "GEMM limit (numpy matmuls only)"

    def __init__(self, X, n_classes):
        dtype = X.dtype
        sizes = [X.shape[1], *HIDDEN_LAYER_SIZES, n_classes]
        fans = list(itertools.pairwise(sizes))
        rng = np.random.default_rng(0)
        self.X = X
        self.bounds = batch_bounds(X.shape[0], BATCH_SIZE)
        rows = max(stop - start for start, stop in self.bounds)
        self.weights = [
            (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(dtype)
            for fan_in, fan_out in fans
        ]
        self.outputs = [np.empty((rows, fan_out), dtype) for _, fan_out in fans]
        self.deltas = [
            (1e-2 * rng.standard_normal((rows, fan_out))).astype(dtype)
            for _, fan_out in fans
        ]
        self.input_grads = [np.empty((rows, fan_in), dtype) for fan_in, _ in fans]
        self.weight_grads = [np.empty_like(weights) for weights in self.weights]
        self.forward_seconds = self.backward_seconds = 0.0
        self.n_epochs = 0

    def warm_up(self):
        self.epoch()

    def epoch(self):
        forward = backward = 0.0
        n_layers = len(self.weights)
        for start, stop in self.bounds:
            n_rows = stop - start
            begin = time.perf_counter()
            inputs = [self.X[start:stop]]
            for weights, output in zip(self.weights, self.outputs):
                np.matmul(inputs[-1], weights, out=output[:n_rows])
                inputs.append(output[:n_rows])
            middle = time.perf_counter()
            for layer in range(n_layers - 1, -1, -1):
                delta = self.deltas[layer][:n_rows]
                np.matmul(inputs[layer].T, delta, out=self.weight_grads[layer])
                if layer > 0:
                    np.matmul(
                        delta,
                        self.weights[layer].T,
                        out=self.input_grads[layer][:n_rows],
                    )
            end = time.perf_counter()
            forward += middle - begin
            backward += end - middle
        self.forward_seconds, self.backward_seconds = forward, backward
        self.n_epochs += 1

    def check(self, n_epochs):
        pass


class SklearnMLP:
    key = "sklearn"
    label = "scikit-learn MLPClassifier (no batch norm)"

    def __init__(self, X, y):
        self.X, self.y = X, y
        self.model = MLPClassifier(HIDDEN_LAYER_SIZES, **MLP_HYPERPARAMETERS)

    def _partial_fit(self, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.partial_fit(self.X, self.y, **kwargs)

    def warm_up(self):
        self._partial_fit(classes=np.unique(self.y))

    def epoch(self):
        self._partial_fit()

    def check(self, n_epochs):
        # partial_fit runs exactly one epoch: t_ counts the samples seen.
        model = self.model
        n_samples = self.X.shape[0]
        if (
            model.t_ != n_epochs * n_samples
            or len(model.loss_curve_) != n_epochs
            or model.coefs_[0].dtype != self.X.dtype
        ):
            raise RuntimeError(
                f"scikit-learn saw {model.t_} samples over "
                f"{len(model.loss_curve_)} epochs in {model.coefs_[0].dtype}; "
                f"expected {n_epochs} epochs of {n_samples} in {self.X.dtype}"
            )


class TorchMLP:
    """Linear(no bias) -> BatchNorm1d -> ReLU per hidden layer, then Linear."""

    key = "torch"
    label = "PyTorch BatchNorm1d MLP (CPU)"

    def __init__(self, X, y, n_classes):
        dtype = torch.float32 if X.dtype == np.float32 else torch.float64
        self.X = torch.from_numpy(X)
        self.y = torch.from_numpy(y.astype(np.int64))
        with torch.random.fork_rng():
            torch.manual_seed(0)
            modules = []
            fan_in = X.shape[1]
            for width in HIDDEN_LAYER_SIZES:
                modules += [
                    torch.nn.Linear(fan_in, width, bias=False),
                    torch.nn.BatchNorm1d(width),
                    torch.nn.ReLU(),
                ]
                fan_in = width
            modules.append(torch.nn.Linear(fan_in, n_classes))
            self.network = torch.nn.Sequential(*modules).to(dtype)
        self.loss = torch.nn.CrossEntropyLoss()
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=LEARNING_RATE)
        self.generator = torch.Generator().manual_seed(0)
        self.bounds = batch_bounds(X.shape[0], BATCH_SIZE)
        self.n_epochs = 0

    def warm_up(self):
        self.epoch()

    def epoch(self):
        self.network.train()
        order = torch.randperm(self.X.shape[0], generator=self.generator)
        for start, stop in self.bounds:
            rows = order[start:stop]
            X_batch = self.X.index_select(0, rows)
            y_batch = self.y.index_select(0, rows)
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss(self.network(X_batch), y_batch)
            loss.backward()
            self.optimizer.step()
        self.n_epochs += 1

    def check(self, n_epochs):
        if self.n_epochs != n_epochs:
            raise RuntimeError(f"torch ran {self.n_epochs} epochs, not {n_epochs}")


# ------------------------------------------------------------- comparison


def compare(X, y, args):
    """Seconds of every timed epoch of each contender, interleaved."""
    n_classes = np.unique(y).size
    contenders = [Ours(X, y), GemmLimit(X, n_classes)]
    if not args.no_sklearn:
        contenders.append(SklearnMLP(X, y))
    if not args.no_torch:
        if torch is None:
            print("torch not installed: no PyTorch comparison")
        else:
            contenders.append(TorchMLP(X, y, n_classes))
    for contender in contenders:
        contender.warm_up()
    seconds = {contender.key: [] for contender in contenders}
    for _ in range(args.epochs):
        for contender in contenders:
            elapsed, _ = timed(contender.epoch)
            seconds[contender.key].append(elapsed)
    for contender in contenders:
        contender.check(args.epochs + 1)
    labels = {contender.key: contender.label for contender in contenders}
    return seconds, labels


def ratio_rows(dtype_name, seconds):
    """(reference key, ratio of medians, ratio of fastest epochs, target,
    verdict) for every timed reference; the verdict is on the medians."""
    rows = []
    for key in ("gemm", "sklearn", "torch"):
        if key not in seconds:
            continue
        ratio = median(seconds["ours"]) / median(seconds[key])
        best_ratio = min(seconds["ours"]) / min(seconds[key])
        has_target = key != "torch" or dtype_name in TORCH_TARGET_DTYPES
        target = TARGETS[key] if has_target else None
        mark = verdict(ratio, target) if has_target else "no target"
        rows.append((key, ratio, best_ratio, target, mark))
    return rows


def print_comparison(dtype_name, seconds, labels):
    n_epochs = len(seconds["ours"])
    print(f"Seconds per epoch, {dtype_name} (median and fastest of {n_epochs}):")
    for key, values in seconds.items():
        each = ", ".join(f"{value:.3f}" for value in values)
        print(
            f"  {labels[key]:<44} {median(values):8.3f} s {min(values):8.3f} s"
            f"   [{each}]"
        )
    print(
        f"Ratios sknormnet / reference, {dtype_name}, of the medians "
        "(of the fastest epochs):"
    )
    for key, ratio, best_ratio, target, mark in ratio_rows(dtype_name, seconds):
        target_text = f"target <= {target:.1f}x" if target else ""
        print(
            f"  / {labels[key]:<42} {ratio:7.2f}x ({best_ratio:5.2f}x)  "
            f"{target_text:<16} {mark}"
        )


def test_accuracy(X, y, n_epochs):
    """Test accuracy of sknormnet after ``n_epochs`` epochs on an 80/20 split."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=0
    )
    model = MLPBatchNormClassifier(HIDDEN_LAYER_SIZES, **MLP_HYPERPARAMETERS)
    classes = np.unique(y)
    for _ in range(n_epochs):
        model.partial_fit(X_train, y_train, classes=classes)
    return model.score(X_test, y_test), model.loss_


# ----------------------------------------------------------------- phases


class PhaseTimer:
    """Seconds spent in wrapped functions, each net of the wrapped functions
    it calls, so that nested phases add up to the total."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.missing = []
        self._stack = []
        self._patches = []

    def measure(self, phase, function, *args, **kwargs):
        frame = [0.0]  # seconds of the wrapped calls made from this one
        self._stack.append(frame)
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - start
            self._stack.pop()
            self.seconds[phase] += elapsed - frame[0]
            if self._stack:
                self._stack[-1][0] += elapsed

    def wrap(self, owner, attribute, phase):
        """Time ``owner.attribute`` as ``phase``; note it if it is missing."""
        original = vars(owner).get(attribute) if owner is not None else None
        if not isinstance(original, types.FunctionType):
            where = getattr(owner, "__name__", "?")
            self.missing.append(f"{where}.{attribute}")
            return

        @functools.wraps(original)
        def timed_method(*args, **kwargs):
            return self.measure(phase, original, *args, **kwargs)

        setattr(owner, attribute, timed_method)
        self._patches.append((owner, attribute, original))

    def restore(self):
        for owner, attribute, original in reversed(self._patches):
            setattr(owner, attribute, original)
        self._patches = []


class Gather:
    """The batch gathering of an epoch, timed apart from the estimator: the
    rows of every batch of a random permutation taken with ``np.take`` into a
    preallocated buffer, as the epoch loop gathers them."""

    def __init__(self, X):
        self.X = X
        self.bounds = batch_bounds(X.shape[0], BATCH_SIZE)
        rows = max(stop - start for start, stop in self.bounds)
        self.buffer = np.empty((rows, X.shape[1]), X.dtype)
        self.rng = np.random.default_rng(0)

    def epoch(self):
        order = self.rng.permutation(self.X.shape[0])
        for start, stop in self.bounds:
            rows = order[start:stop]
            np.take(self.X, rows, axis=0, out=self.buffer[: rows.size], mode="clip")


OUTSIDE = "partial_fit outside the epoch loop (validation, setup)"
PHASES = [
    # (phase, module, class, method)
    ("dense forward", "sknormnet._layers", "Dense", "forward"),
    ("batch norm + activation forward", "sknormnet._layers", "BatchNorm", "forward"),
    (
        "bias + activation forward (no batch norm)",
        "sknormnet._layers",
        "BiasActivation",
        "forward",
    ),
    ("dense backward", "sknormnet._layers", "Dense", "backward"),
    ("batch norm + activation backward", "sknormnet._layers", "BatchNorm", "backward"),
    (
        "bias + activation backward (no batch norm)",
        "sknormnet._layers",
        "BiasActivation",
        "backward",
    ),
    (
        "softmax, loss, layer loop (rest of the network's pass)",
        "sknormnet._network",
        "Network",
        "backpropagate",
    ),
    (
        "L2 gradient, weight decay (rest of the training step)",
        "sknormnet._network",
        "Network",
        "train_step",
    ),
    (
        "other work in the epoch loop",
        "sknormnet._mlp",
        "MLPBatchNormClassifier",
        "_train_one_epoch",
    ),
]
OPTIMIZER_PHASE = "optimizer update"
OPTIMIZER_METHOD = "update_params"


def _optimizer_classes():
    """Every class of sknormnet._optimizers that defines the update method,
    base classes included: a subclass may inherit it or call it."""
    try:
        module = importlib.import_module("sknormnet._optimizers")
    except ImportError:
        return []
    classes = [value for value in vars(module).values() if isinstance(value, type)]
    return [
        owner
        for owner in {base for cls in classes for base in cls.__mro__}
        if OPTIMIZER_METHOD in vars(owner)
    ]


def install_phase_timers(timer):
    """Wrap the layers', the optimizers' and the estimator's methods."""
    for phase, module_name, class_name, method in PHASES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module = None
        timer.wrap(getattr(module, class_name, None), method, phase)
    optimizers = _optimizer_classes()
    if not optimizers:
        timer.missing.append(f"sknormnet._optimizers {OPTIMIZER_METHOD}")
    for optimizer in optimizers:
        timer.wrap(optimizer, OPTIMIZER_METHOD, OPTIMIZER_PHASE)


def phase_breakdown(X, y, n_epochs):
    """Median seconds per phase of sknormnet's epoch, and of the GEMM limit's
    forward and backward products and of the batch gathering, measured in
    alternation."""
    ours = Ours(X, y)
    gemm = GemmLimit(X, np.unique(y).size)
    gather = Gather(X)
    ours.warm_up()
    gemm.warm_up()
    gather.epoch()
    timer = PhaseTimer()
    install_phase_timers(timer)
    per_epoch, gemm_forward, gemm_backward, gathering = [], [], [], []
    try:
        for _ in range(n_epochs):
            timer.seconds.clear()
            timer.measure(OUTSIDE, ours.epoch)
            per_epoch.append(dict(timer.seconds))
            gemm.epoch()
            gemm_forward.append(gemm.forward_seconds)
            gemm_backward.append(gemm.backward_seconds)
            gathering.append(timed(gather.epoch)[0])
    finally:
        timer.restore()
    phases = [phase for phase, *_ in PHASES]
    phases.insert(-1, OPTIMIZER_PHASE)
    phases.append(OUTSIDE)
    medians = {
        phase: median([epoch.get(phase, 0.0) for epoch in per_epoch])
        for phase in phases
    }
    totals = [sum(epoch.values()) for epoch in per_epoch]
    references = {
        "forward": median(gemm_forward),
        "backward": median(gemm_backward),
        "gathering": median(gathering),
    }
    return medians, median(totals), references, timer


def print_phases(dtype_name, X, y, n_epochs):
    medians, total, references, timer = phase_breakdown(X, y, n_epochs)
    gemm_forward, gemm_backward = references["forward"], references["backward"]
    print(f"Phases of one sknormnet epoch, {dtype_name} (median of {n_epochs}):")
    for phase, seconds in medians.items():
        share = 100 * seconds / total
        print(f"  {phase:<56} {seconds:7.3f} s {share:5.1f} %")
    print(f"  {'total (median epoch)':<56} {total:7.3f} s")
    print("  for comparison, timed apart at the same shapes:")
    print(f"  {'  GEMM limit, forward matmuls (A @ W)':<56} {gemm_forward:7.3f} s")
    print(
        f"  {'  GEMM limit, backward matmuls (A.T @ dZ, dZ @ W.T)':<56} "
        f"{gemm_backward:7.3f} s"
    )
    print(
        f"  {'  batch gathering, np.take of each batch (in other work)':<56} "
        f"{references['gathering']:7.3f} s"
    )
    dense_forward = medians["dense forward"]
    dense_backward = medians["dense backward"]
    if dense_forward and dense_backward:
        print(
            f"  dense forward / GEMM forward: {dense_forward / gemm_forward:.2f}x, "
            f"dense backward / GEMM backward: {dense_backward / gemm_backward:.2f}x"
        )
    if timer.missing:
        print(
            "  not found, so counted in the phase that calls them: "
            + ", ".join(timer.missing)
        )


# -------------------------------------------------------------------- main


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dtype", choices=["float32", "float64", "both"], default="both"
    )
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs")
    parser.add_argument("--no-sklearn", action="store_true")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument(
        "--phases", action="store_true", help="break one epoch of ours into phases"
    )
    parser.add_argument(
        "--quick", action="store_true", help="5,000 samples, for a smoke run"
    )
    return parser.parse_args()


def main():
    args = parse_args()
    if torch is not None and not args.no_torch:
        torch.set_num_threads(numpy_blas_threads())
    print_machine()
    if torch is not None and not args.no_torch:
        print(f"torch threads: {torch.get_num_threads()} (set to numpy's BLAS)")
    n_samples = 5_000 if args.quick else 50_000
    X, y = make_workload(n_samples)
    print(
        f"workload: {n_samples} x {X.shape[1]}, {np.unique(y).size} classes, "
        f"hidden layers {HIDDEN_LAYER_SIZES}, batch size {BATCH_SIZE}, Adam "
        f"(learning rate {LEARNING_RATE}), 1 warm-up + {args.epochs} timed epochs"
    )
    print()
    summary = []
    for dtype_name, dtype in selected_dtypes(args.dtype):
        X_typed = X.astype(dtype)
        seconds, labels = compare(X_typed, y, args)
        print_comparison(dtype_name, seconds, labels)
        accuracy, loss = test_accuracy(X_typed, y, args.epochs)
        print(
            f"sknormnet test accuracy after {args.epochs} epochs on an 80/20 "
            f"split: {accuracy:.4f} (training loss {loss:.4f})"
        )
        print()
        if args.phases:
            print_phases(dtype_name, X_typed, y, args.epochs)
            print()
        summary.append((dtype_name, seconds, labels, accuracy))

    print(
        "Summary: sknormnet / reference, ratio of the median epochs (of the "
        "fastest epochs):"
    )
    for dtype_name, seconds, labels, accuracy in summary:
        for key, ratio, best_ratio, target, mark in ratio_rows(dtype_name, seconds):
            target_text = f"<= {target:.1f}x" if target else "-"
            print(
                f"  {dtype_name}  / {labels[key]:<42} {ratio:6.2f}x "
                f"({best_ratio:5.2f}x)  {target_text:<8} {mark}"
            )
        print(f"  {dtype_name}  sknormnet test accuracy {accuracy:.4f}")
    print_final_load()


if __name__ == "__main__":
    main()
