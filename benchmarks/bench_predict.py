"""Prediction throughput and memory of MLPBatchNormClassifier.

- Throughput: ``predict_proba`` on 200,000 rows of 100 features with a
  (256, 256) network trained for one ``partial_fit`` epoch on 20,000 rows,
  against the GEMM limit of the forward pass: the seconds of ``X @ W`` for
  each layer at the same shapes, into preallocated outputs. The limit is the
  faster of two layouts: one product per layer on all rows, or the products
  on chunks of rows as large as those ``predict_proba`` uses.
- Memory of prediction: the peak traced by tracemalloc while
  ``predict_proba`` runs on 1,000,000 rows, above the input (allocated
  before tracing starts) and the output array.
- Memory of training: the peak traced while ``fit`` runs one epoch of the
  training benchmark's workload (50,000 x 100), above the input.

Usage::

    python benchmarks/bench_predict.py [--dtype float32|float64|both]
        [--repeats N] [--quick]
"""

import argparse
import itertools
import tracemalloc
import warnings

import numpy as np
from _common import (
    HIDDEN_LAYER_SIZES,
    LEARNING_RATE,
    N_CLASSES,
    N_FEATURES,
    make_workload,
    median,
    print_final_load,
    print_machine,
    selected_dtypes,
    timed,
    verdict,
)
from sklearn.exceptions import ConvergenceWarning

from sknormnet import MLPBatchNormClassifier
from sknormnet._network import PREDICT_CHUNK_ELEMENTS

MB = 2**20
THROUGHPUT_TARGET = 0.8  # of the GEMM-limited rows per second, at least
PREDICT_MEMORY_TARGET_MB = 64  # above input and output, at most
FIT_MEMORY_OVERHEAD_MB = 100  # fit's footprint < 2 x input + this


def make_model(n_samples, dtype):
    X, y = make_workload(n_samples)
    model = MLPBatchNormClassifier(
        HIDDEN_LAYER_SIZES,
        learning_rate_init=LEARNING_RATE,
        batch_size=256,
        random_state=0,
    )
    return model.partial_fit(X.astype(dtype), y, classes=np.unique(y))


def prediction_rows(n_rows, dtype):
    """Gaussian rows; their values do not change the work of a prediction."""
    rng = np.random.default_rng(1)
    return rng.standard_normal((n_rows, N_FEATURES), dtype=dtype)


def predict_chunk_rows():
    """Rows per chunk of ``predict_proba``, as the network computes them."""
    return max(1, PREDICT_CHUNK_ELEMENTS // max(HIDDEN_LAYER_SIZES))


class ForwardGemm:
    """``X @ W`` of every layer, into preallocated outputs, ``chunk`` rows at a
    time (all rows at once if ``chunk`` is None)."""

    def __init__(self, X, chunk=None):
        dtype = X.dtype
        sizes = [X.shape[1], *HIDDEN_LAYER_SIZES, N_CLASSES]
        rng = np.random.default_rng(0)
        self.weights = [
            (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(dtype)
            for fan_in, fan_out in itertools.pairwise(sizes)
        ]
        rows = X.shape[0] if chunk is None else min(chunk, X.shape[0])
        self.outputs = [np.empty((rows, size), dtype) for size in sizes[1:]]
        self.X = X
        self.rows = rows

    def __call__(self):
        n_samples = self.X.shape[0]
        for start in range(0, n_samples, self.rows):
            stop = min(start + self.rows, n_samples)
            activations = self.X[start:stop]
            for weights, output in zip(self.weights, self.outputs):
                out = output[: stop - start]
                np.matmul(activations, weights, out=out)
                activations = out


def throughput(dtype, args):
    model = make_model(args.train_rows, dtype)
    X = prediction_rows(args.rows, dtype)
    chunk = predict_chunk_rows()
    contenders = {
        "ours": lambda: model.predict_proba(X),
        "full": ForwardGemm(X),
        "chunked": ForwardGemm(X, chunk),
    }
    for function in contenders.values():
        function()  # warm-up
    seconds = {key: [] for key in contenders}
    for _ in range(args.repeats):
        for key, function in contenders.items():
            seconds[key].append(timed(function)[0])
    return {key: median(values) for key, values in seconds.items()}, chunk


def traced_peak(function, *args, **kwargs):
    """Peak bytes traced while ``function`` runs, and its result."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = function(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


def predict_memory(dtype, args):
    model = make_model(args.train_rows, dtype)
    X = prediction_rows(args.memory_rows, dtype)
    peak, proba = traced_peak(model.predict_proba, X)
    return X.nbytes, proba.nbytes, peak


def fit_memory(dtype, args):
    X, y = make_workload(args.fit_rows)
    X = X.astype(dtype)
    model = MLPBatchNormClassifier(
        HIDDEN_LAYER_SIZES,
        learning_rate_init=LEARNING_RATE,
        batch_size=256,
        max_iter=1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        peak, _ = traced_peak(model.fit, X, y)
    return X.nbytes + y.nbytes, peak


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dtype", choices=["float32", "float64", "both"], default="both"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed calls")
    parser.add_argument(
        "--quick", action="store_true", help="a tenth of the rows, for a smoke run"
    )
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    args.rows = 200_000 // scale
    args.memory_rows = 1_000_000 // scale
    args.train_rows = 20_000 // scale
    args.fit_rows = 50_000 // scale
    return args


def main():
    args = parse_args()
    print_machine()
    summary = []
    for dtype_name, dtype in selected_dtypes(args.dtype):
        seconds, chunk = throughput(dtype, args)
        limit_key = min(("full", "chunked"), key=seconds.get)
        limit = seconds[limit_key]
        ratio = limit / seconds["ours"]
        print(
            f"predict_proba, {dtype_name}, {args.rows} rows, median of {args.repeats}:"
        )
        rows_per_second = {key: args.rows / value for key, value in seconds.items()}
        labels = {
            "ours": "sknormnet predict_proba",
            "full": "GEMM X @ W, all rows per layer",
            "chunked": f"GEMM X @ W, {chunk} rows a chunk",
        }
        for key, label in labels.items():
            print(
                f"  {label:<34} {seconds[key]:8.4f} s "
                f"{rows_per_second[key]:12,.0f} rows/s"
            )
        mark = verdict(ratio, THROUGHPUT_TARGET, at_most=False)
        print(
            f"  throughput / GEMM limit ({limit_key}): {ratio:.2f}  "
            f"target >= {THROUGHPUT_TARGET}  {mark}"
        )
        summary.append((dtype_name, "predict throughput / GEMM limit", ratio, mark))

        input_bytes, output_bytes, peak = predict_memory(dtype, args)
        extra = (peak - output_bytes) / MB
        mark = verdict(extra, PREDICT_MEMORY_TARGET_MB)
        print(
            f"predict_proba memory, {dtype_name}, {args.memory_rows} rows: input "
            f"{input_bytes / MB:.1f} MB, output {output_bytes / MB:.1f} MB, traced "
            f"peak {peak / MB:.1f} MB"
        )
        print(
            f"  peak above input and output: {extra:.1f} MB  target <= "
            f"{PREDICT_MEMORY_TARGET_MB} MB  {mark}"
        )
        summary.append((dtype_name, "predict peak above in+out (MB)", extra, mark))

        input_bytes, peak = fit_memory(dtype, args)
        footprint = input_bytes + peak
        allowed = 2 * input_bytes + FIT_MEMORY_OVERHEAD_MB * MB
        mark = verdict(footprint, allowed)
        print(
            f"fit memory, {dtype_name}, one epoch on {args.fit_rows} rows: input "
            f"{input_bytes / MB:.1f} MB, traced peak above it {peak / MB:.1f} MB"
        )
        print(
            f"  input + peak = {footprint / MB:.1f} MB "
            f"({footprint / input_bytes:.2f}x input)  target < 2 x input + "
            f"{FIT_MEMORY_OVERHEAD_MB} MB = {allowed / MB:.1f} MB  {mark}"
        )
        summary.append(
            (dtype_name, "fit footprint / input", footprint / input_bytes, mark)
        )
        print()

    print("Summary:")
    for dtype_name, what, value, mark in summary:
        print(f"  {dtype_name}  {what:<34} {value:8.2f}  {mark}")
    print_final_load()


if __name__ == "__main__":
    main()
