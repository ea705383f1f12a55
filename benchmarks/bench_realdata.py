"""Held-out accuracy of ``sknormnet tune`` and of its peers on real tables.

The protocol is the one of the README that comes with the tables, so that the
figures compare with each other:

- Tables: the fourteen files of ``TABLES`` in ``DATADIR``, each with its
  target and the columns to drop. Rows without a target are dropped first, as
  the command drops them.
- Split: ``train_test_split(X, y, test_size=0.25, stratify=y,
  random_state=seed)`` for each seed of ``--seeds`` (0, 1, 2). The split
  depends on the rows and the labels only, so that every method, the command
  included, holds out the same quarter.
- Score: accuracy on the held-out quarter. Time: wall clock of the whole
  command for the tuned model, of ``fit`` for a peer.

Methods (``--methods``):

- ``tune``: ``python -m sknormnet tune --csv FILE --target T [--drop D]
  --random-state SEED --out DIR`` run as a user runs it, in a subprocess of
  this interpreter, with the arguments of ``--tune-args`` added. The model it
  saves (``DIR/model.skops``) is loaded with ``sknormnet.io.load``, as the
  documentation says, and scored on the held-out quarter, given the columns
  it was fitted on (``feature_names_in_``: the command leaves identifiers and
  the like out).
  The command splits the table the same way, so its printed held-out score
  must equal the benchmark's: a run where it does not is recorded as failed.
  ``--variant NAME`` stores the run under another name, to compare
  configurations of the command (each variant keeps its ``--tune-args``). The
  first run on a machine compiles sknormnet's kernels; an untimed small run of
  the command on the digits comes first, so that no table pays for it.
- ``tuned``: ``TunedMLPClassifier(random_state=SEED, **PARAMS)``, what the
  command runs, called in this process on the training rows (all the columns
  but the table's drop) with the parameters of ``--params`` (JSON). It
  measures the ablation: each ingredient of the defaults switched off alone
  (``'{"ensemble_size": 1}'``, ``'{"space": {"mlp__dropout": [0.0]}}'``,
  ...), each stored under its ``--variant`` name; the report then compares
  every variant with ``--reference`` (default ``tuned``: the defaults).
- ``hgb``: ``HistGradientBoostingClassifier(categorical_features="from_dtype",
  random_state=seed)``.
- ``lightgbm``: ``LGBMClassifier(random_state=seed, verbose=-1)``, which takes
  the columns of pandas' category dtype as categorical.
- ``realmlp``: pytabkit's ``RealMLP_TD_Classifier(device="cpu",
  random_state=seed)``, which takes category columns as categorical (a
  missing value is a category of its own) and refuses missing values in
  numeric columns: those are replaced by the median of the training rows,
  and nothing else is done.
- ``sklearn_mlp``: ``MLPClassifier(random_state=seed)`` behind, for numeric
  columns, median imputing and ``StandardScaler``, and for the others
  most-frequent imputing and ``OneHotEncoder(handle_unknown="ignore")``.
- ``mlpbn_default``: ``MLPBatchNormClassifier(random_state=seed)`` behind the
  same preprocessing: the network with its own defaults, untuned.

The peers take the columns as pandas reads them: numbers are numeric, even
where they code categories (Soybean, BreastCancer), and booleans (Zoo) are
numbers to the gradient boosting; text columns become pandas categories, their
categories those of the training rows (a value seen only in the held-out rows
is then missing). Booleans become categories too for RealMLP, which would
leave them out, and for the one-hot pipelines, whose imputer refuses them.

Results are cached per (method or variant, table, seed) in ``--results``, a
JSON file written after every run, so that a run of one method does not
recompute the others; ``--force`` recomputes what is selected. A method that
fails on a table is recorded with the last line of its reason, as "refused"
when the command stops with its one-line error about the data, else as
"failed"; the run goes on.

The report covers every method and variant in the cache, on the selected
tables and seeds: the mean held-out accuracy per table, the mean over the
tables each method has and over those all have, the wins, ties (within
``TIE``) and losses of each variant against every other method, the
ablation (each variant's mean against the reference's), the seconds per
table, and the spread of the accuracy over the seeds. ``--methods ""``
runs nothing and reports what is cached.

Usage::

    python benchmarks/bench_realdata.py DATADIR
        [--methods tune,tuned,hgb,lightgbm,realmlp,sklearn_mlp,mlpbn_default]
        [--tables Glass,Zoo] [--seeds 0,1,2] [--variant NAME]
        [--tune-args "--ensemble 1"] [--params JSON] [--reference NAME]
        [--results PATH] [--force] [--markdown]
"""

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from _common import markdown_table, print_final_load, print_machine
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, get_scorer
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sknormnet import MLPBatchNormClassifier


@dataclass(frozen=True)
class Table:
    """A table of the suite: the column to predict and the columns to drop."""

    target: str
    drop: tuple[str, ...] = ()


# The files of the suite, as its README lists them, in its order.
TABLES = {
    "mlbench_LetterRecognition": Table("lettr"),
    "mlbench_Shuttle": Table("Class"),
    "mlbench_Satellite": Table("classes"),
    "mlbench_DNA": Table("Class"),
    "mlbench_Vehicle": Table("Class"),
    "mlbench_Vowel": Table("Class"),
    "mlbench_Soybean": Table("Class"),
    "mlbench_BreastCancer": Table("Class", drop=("Id",)),
    "mlbench_PimaIndiansDiabetes": Table("diabetes"),
    "mlbench_HouseVotes84": Table("Class"),
    "mlbench_Ionosphere": Table("Class"),
    "mlbench_Sonar": Table("Class"),
    "mlbench_Glass": Table("Type"),
    "mlbench_Zoo": Table("type"),
}
SUFFIX = ".csv.gz"
# The share of the rows held out, as in the protocol and the command.
TEST_SIZE = 0.25
DEFAULT_SEEDS = (0, 1, 2)
# Two mean accuracies closer than this are a tie.
TIE = 0.0025
# The command prints its held-out score to 4 decimals.
PRINTED_DECIMALS = 4
# The command refuses a table with one line on stderr, starting so, and this
# exit status; anything else that stops it is a failure.
REFUSAL = "sknormnet: error:"
REFUSED_STATUS = 1
DEFAULT_RESULTS = Path(__file__).parent / "results" / "realdata.json"


# ------------------------------------------------------------------ the data


def short_name(stem):
    """The name of a table in the report: its file name without the suite's prefix."""
    return stem.removeprefix("mlbench_")


# The progress lines align the tables' names.
NAME_WIDTH = max(len(short_name(stem)) for stem in TABLES)


def load_table(path, table):
    """The features and labels of a table, as the command reads them.

    Parameters
    ----------
    path : Path
        The gzipped CSV file.
    table : Table
        Its target and the columns to drop.

    Returns
    -------
    X : DataFrame
        The columns other than the target and those dropped.
    y : Series
        The labels, of the rows that have one.
    """
    frame = pd.read_csv(path)
    # the command drops the rows without a target before it splits
    frame = frame[frame[table.target].notna()]
    return frame.drop(columns=[table.target, *table.drop]), frame[table.target]


def split(X, y, seed):
    """The protocol's split: three quarters to train, one held out."""
    return train_test_split(X, y, test_size=TEST_SIZE, stratify=y, random_state=seed)


def as_categories(X_train, X_test, *, booleans):
    """Both frames with their text columns, and with ``booleans`` their
    boolean ones, as pandas categories.

    The categories are the values of the training rows, so that nothing is
    learned from the held-out rows; a value seen only there becomes missing.
    """
    X_train, X_test = X_train.copy(), X_test.copy()
    for name in X_train.columns:
        column = X_train[name]
        is_bool = pd.api.types.is_bool_dtype(column)
        if (is_bool and booleans) or not pd.api.types.is_numeric_dtype(column):
            dtype = pd.CategoricalDtype(X_train[name].dropna().unique())
            X_train[name] = X_train[name].astype(dtype)
            X_test[name] = X_test[name].astype(dtype)
    return X_train, X_test


# ------------------------------------------------------------------ the peers


def one_hot_preprocessing():
    """Numeric columns median-imputed and standardized, categories
    most-frequent-imputed and one-hot encoded."""
    return make_column_transformer(
        (
            make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
            make_column_selector(dtype_include="number"),
        ),
        (
            make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                # dense, since MLPBatchNormClassifier takes dense arrays
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ),
            make_column_selector(dtype_include="category"),
        ),
    )


def hgb(seed):
    return HistGradientBoostingClassifier(
        categorical_features="from_dtype", random_state=seed
    )


def lightgbm(seed):
    from lightgbm import LGBMClassifier

    return LGBMClassifier(random_state=seed, verbose=-1)


def realmlp(seed):
    from pytabkit import RealMLP_TD_Classifier

    # RealMLP refuses missing values in numeric columns, and only those; the
    # pandas output keeps the category columns for it to recognise.
    impute_numbers = make_column_transformer(
        (
            SimpleImputer(strategy="median"),
            make_column_selector(dtype_include="number"),
        ),
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    return make_pipeline(
        impute_numbers, RealMLP_TD_Classifier(device="cpu", random_state=seed)
    )


def sklearn_mlp(seed):
    return make_pipeline(one_hot_preprocessing(), MLPClassifier(random_state=seed))


def mlpbn_default(seed):
    return make_pipeline(
        one_hot_preprocessing(), MLPBatchNormClassifier(random_state=seed)
    )


@dataclass(frozen=True)
class Peer:
    """A peer: ``make(seed)`` gives the unfitted estimator; ``package`` is
    what it needs beyond sknormnet's own dependencies; ``booleans`` whether
    boolean columns reach it as categories (pytabkit leaves boolean columns
    out, scikit-learn's SimpleImputer refuses them)."""

    make: Callable
    package: str | None = None
    booleans: bool = False


PEERS = {
    "hgb": Peer(hgb),
    "lightgbm": Peer(lightgbm, "lightgbm"),
    "realmlp": Peer(realmlp, "pytabkit", booleans=True),
    "sklearn_mlp": Peer(sklearn_mlp, booleans=True),
    "mlpbn_default": Peer(mlpbn_default, booleans=True),
}
TUNE = "tune"
# TunedMLPClassifier called in Python, as the command calls it: the runs of
# the ablation, each with its own parameters (--params)
TUNED = "tuned"
METHODS = (TUNE, TUNED, *PEERS)


def run_peer(name, X_train, X_test, y_train, y_test, seed):
    """Fit a peer on the training rows, timed, and score it on the held-out rows.

    Returns
    -------
    record : dict
        ``accuracy`` and ``seconds`` (of the fit).
    """
    peer = PEERS[name]
    X_train, X_test = as_categories(X_train, X_test, booleans=peer.booleans)
    model = peer.make(seed)
    with warnings.catch_warnings():
        # the peers run with their defaults: that an MLP stops at its
        # max_iter, or pytorch-lightning's deprecations, are not results
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        accuracy = accuracy_score(y_test, model.predict(X_test))
    record = {"accuracy": float(accuracy), "seconds": seconds}
    if peer.package is not None:
        record["version"] = importlib.metadata.version(peer.package)
    return record


# ---------------------------------------------------------------- the command


class MethodFailed(Exception):
    """A method could not score a table; ``status`` is "refused" or "failed"."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


def last_line(text):
    """The last non-blank line of ``text``, or "" when there is none."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def command_for(path, table, seed, out, tune_args):
    """The command line of ``sknormnet tune`` for a table and a seed."""
    drop = ["--drop", *table.drop] if table.drop else []
    return [
        sys.executable,
        "-m",
        "sknormnet",
        "tune",
        "--csv",
        str(path),
        "--target",
        table.target,
        *drop,
        "--random-state",
        str(seed),
        "--out",
        str(out),
        *tune_args,
    ]


def load_model(path):
    """The model in ``path``, loaded as the documentation says: with
    :func:`sknormnet.io.load`, which trusts sknormnet's own types only."""
    from sknormnet.io import load

    try:
        return load(path)
    except Exception as exc:
        raise MethodFailed("failed", f"{path.name} did not load: {exc}") from exc


def printed_score(output):
    """The metric, score and held-out rows of the command's last report line.

    The line may be wrapped to the terminal's width, hence ``\\s+``.
    """
    found = re.findall(r"held-out test (\S+):\s+(-?[0-9.]+)\s+\((\d+)\s+rows\)", output)
    if not found:
        raise MethodFailed(
            "failed",
            "the command printed no 'held-out test' line: " + last_line(output),
        )
    metric, score, n_rows = found[-1]
    return metric, float(score), int(n_rows)


def run_tune(path, table, X_test, y_test, seed, tune_args):
    """Run the command on a table, timed, and score its model on the held-out rows.

    Returns
    -------
    record : dict
        ``accuracy``, ``seconds`` (of the whole command), ``tune_args`` and
        what the command printed of its held-out score.

    Raises
    ------
    MethodFailed
        When the command stops with an error, or its held-out score differs
        from the one its model gets here (the splits would differ).
    """
    with tempfile.TemporaryDirectory(prefix="bench_realdata_") as out:
        command = command_for(path, table, seed, out, tune_args)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            reason = last_line(done.stderr) or last_line(done.stdout)
            refused = done.returncode == REFUSED_STATUS and reason.startswith(REFUSAL)
            raise MethodFailed(
                "refused" if refused else "failed",
                f"exit status {done.returncode}: {reason}",
            )
        model = load_model(Path(out) / "model.skops")
    X_test = X_test[model.feature_names_in_]
    accuracy = float(accuracy_score(y_test, model.predict(X_test)))
    metric, printed, n_printed = printed_score(done.stdout)
    mine = (
        accuracy if metric == "accuracy" else get_scorer(metric)(model, X_test, y_test)
    )
    if (
        n_printed != len(y_test)
        or abs(printed - mine) > 0.5 * 10**-PRINTED_DECIMALS + 1e-12
    ):
        raise MethodFailed(
            "failed",
            f"the command held out {n_printed} rows and printed {metric} "
            f"{printed:.{PRINTED_DECIMALS}f}; its model gets {mine:.6f} on the "
            f"protocol's {len(y_test)} held-out rows: the splits differ",
        )
    return {
        "accuracy": accuracy,
        "seconds": seconds,
        "tune_args": list(tune_args),
        "printed": f"{metric} {printed:.{PRINTED_DECIMALS}f}",
    }


def run_tuned(X_train, X_test, y_train, y_test, seed, params):
    """Fit ``TunedMLPClassifier(random_state=seed, **params)`` on the training
    rows, timed, and score it on the held-out rows.

    The columns are those the command keeps on the suite's tables: all but
    the table's ``drop``.
    """
    from sknormnet.tabular import TunedMLPClassifier

    model = TunedMLPClassifier(random_state=seed, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    accuracy = accuracy_score(y_test, model.predict(X_test))
    return {
        "accuracy": float(accuracy),
        "seconds": seconds,
        "candidates": len(model.search_.cv_results_["params"]),
        "members": len(model.ensemble_candidates_),
    }


def warm_up_command():
    """Run the command once on the digits, untimed, with the least budget, so
    that it compiles sknormnet's kernels now if this machine has not yet."""
    command = [sys.executable, "-m", "sknormnet", "tune", "--time-budget", "none"]
    command += ["--n-candidates", "1", "--cv", "2", "--training-steps", "10"]
    command += ["--ensemble", "1", "--n-jobs", "1"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the warm-up run of sknormnet tune failed: {last_line(done.stderr)}")


# -------------------------------------------------------------------- cache


def load_results(path):
    """The cached records, ``{method: {table: {seed: record}}}`` ({} if none)."""
    if not path.exists():
        return {}
    with open(path) as file:
        return json.load(file)["records"]


def store(path, method, table, seed, record):
    """Add one record to the cache file and return all the records.

    The file is read again first, so that records another run stored in the
    meantime are kept, and replaced whole, so that an interrupted write never
    leaves half a file.
    """
    records = load_results(path)
    records.setdefault(method, {}).setdefault(table, {})[str(seed)] = record
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, suffix=".tmp", delete=False
    ) as file:
        json.dump({"records": records}, file, indent=1)
    # a temporary file is private; the cache is as readable as any new file
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(file.name, 0o666 & ~umask)
    os.replace(file.name, path)
    return records


def check_variant_args(records, variant, key, value, rerun):
    """Refuse to mix runs of one variant made with different arguments:
    ``key`` is "tune_args" (of the command) or "params" (of the Python call).

    ``rerun`` holds the (table, seed) pairs about to be run again, whose
    records will be replaced.
    """
    for stem, by_seed in records.get(variant, {}).items():
        for seed, record in by_seed.items():
            used = record.get(key)
            if (stem, seed) in rerun or used is None:
                continue
            if used != value:
                sys.exit(
                    f"variant {variant!r} was run with {key} {used!r}, not "
                    f"{value!r}: give another --variant name, or --force to run "
                    "it again"
                )


# ------------------------------------------------------------------- report


@dataclass(frozen=True)
class Result:
    """What a method did on a table over the seeds.

    ``status`` is "ok" (then ``accuracies`` and ``seconds`` hold one value per
    seed), "refused" or "failed" on some seed (``reason`` says why), or
    "missing" when some seed has not run.
    """

    status: str
    accuracies: tuple[float, ...] = ()
    seconds: tuple[float, ...] = ()
    reason: str = ""


def table_result(records, method, table, seeds):
    """The :class:`Result` of ``method`` on ``table`` from the cached records."""
    by_seed = records.get(method, {}).get(table, {})
    found = [by_seed.get(str(seed)) for seed in seeds]
    for status in ("refused", "failed"):
        failed = [record for record in found if record and record["status"] == status]
        if failed:
            return Result(status, reason=failed[0]["reason"])
    if any(record is None for record in found):
        return Result("missing")
    return Result(
        "ok",
        tuple(record["accuracy"] for record in found),
        tuple(record["seconds"] for record in found),
    )


class Report:
    """The cached results of some tables and seeds, as tables of text.

    Each method returns a title, a header and rows. The methods compared are
    the tuned variants in the cache, then the peers in it.

    Parameters
    ----------
    records : dict
        The cache, ``{method: {table: {seed: record}}}``.
    tables : list of str
        The tables reported, as file stems.
    seeds : list of int
        The seeds whose mean is a table's result.
    """

    def __init__(self, records, tables, seeds):
        self.variants = [name for name in records if name not in PEERS]
        self.methods = self.variants + [name for name in PEERS if name in records]
        self.tables = tables
        self.seeds_text = ", ".join(map(str, seeds))
        self.results = {
            (method, table): table_result(records, method, table, seeds)
            for method in self.methods
            for table in tables
        }
        self.means = {
            key: statistics.fmean(result.accuracies)
            for key, result in self.results.items()
            if result.status == "ok"
        }

    def _per_table(self, cell):
        """One row per table, one cell per method: ``cell(result)``."""
        return [
            [
                short_name(table),
                *(cell(self.results[method, table]) for method in self.methods),
            ]
            for table in self.tables
        ]

    def _mean_over(self, method, tables):
        return statistics.fmean(self.means[method, table] for table in tables)

    def accuracy(self):
        """Mean accuracy per table; the mean over the tables each method has,
        and over those all have when that differs."""
        rows = self._per_table(
            lambda result: (
                f"{statistics.fmean(result.accuracies):.4f}"
                if result.status == "ok"
                else result.status
            )
        )
        means = []
        for method in self.methods:
            own = [table for table in self.tables if (method, table) in self.means]
            means.append(
                f"{self._mean_over(method, own):.4f} ({len(own)})" if own else "-"
            )
        rows.append(["mean (over how many tables)", *means])
        common = [
            table
            for table in self.tables
            if all((method, table) in self.means for method in self.methods)
        ]
        if common and len(common) < len(self.tables):
            rows.append(
                [
                    f"mean of the {len(common)} tables all have",
                    *(f"{self._mean_over(m, common):.4f}" for m in self.methods),
                ]
            )
        title = f"Held-out accuracy, mean over seeds {self.seeds_text}"
        return title, ["table", *self.methods], rows

    def wins_ties_losses(self):
        """Each variant against every other method, over the tables both have."""
        rows = []
        for variant in self.variants:
            cells = []
            for other in self.methods:
                gaps = [
                    self.means[variant, table] - self.means[other, table]
                    for table in self.tables
                    if (variant, table) in self.means and (other, table) in self.means
                ]
                wins = sum(gap > TIE for gap in gaps)
                losses = sum(gap < -TIE for gap in gaps)
                ties = len(gaps) - wins - losses
                cells.append("" if other == variant else f"{wins}/{ties}/{losses}")
            rows.append([variant, *cells])
        title = (
            "Wins/ties/losses of the tuned model against each method, over the "
            f"tables both have (a tie: mean accuracies within {TIE})"
        )
        return title, ["variant", *self.methods], rows

    def ablation(self, reference):
        """Each other tuned variant against ``reference``, over the tables
        both have: the two means, the difference, wins/ties/losses and the
        seconds in all."""
        rows = []
        for variant in self.variants:
            if variant == reference:
                continue
            tables = [
                table
                for table in self.tables
                if (variant, table) in self.means and (reference, table) in self.means
            ]
            if not tables:
                continue
            gaps = [
                self.means[variant, table] - self.means[reference, table]
                for table in tables
            ]
            wins = sum(gap > TIE for gap in gaps)
            losses = sum(gap < -TIE for gap in gaps)
            seconds = sum(sum(self.results[variant, table].seconds) for table in tables)
            rows.append(
                [
                    variant,
                    len(tables),
                    f"{self._mean_over(variant, tables):.4f}",
                    f"{self._mean_over(reference, tables):.4f}",
                    f"{statistics.fmean(gaps):+.4f}",
                    f"{wins}/{len(gaps) - wins - losses}/{losses}",
                    f"{seconds:.0f}",
                ]
            )
        title = (
            f"Ablation: each variant against {reference}, over the tables both "
            "have (wins/ties/losses of the variant)"
        )
        header = ["variant", "tables", "mean", reference, "difference"]
        return title, [*header, "w/t/l", "seconds"], rows

    def seconds(self):
        """Mean seconds per table."""
        rows = self._per_table(
            lambda result: (
                f"{statistics.fmean(result.seconds):.1f}"
                if result.status == "ok"
                else ""
            )
        )
        title = (
            "Seconds per table, mean over the seeds (the whole command for the "
            "tuned model, the fit for a peer)"
        )
        return title, ["table", *self.methods], rows

    def spread(self):
        """The lowest and highest accuracy over the seeds, per table."""
        rows = self._per_table(
            lambda result: (
                f"{min(result.accuracies):.3f}-{max(result.accuracies):.3f}"
                if result.status == "ok"
                else ""
            )
        )
        title = f"Held-out accuracy over the seeds {self.seeds_text}, lowest-highest"
        return title, ["table", *self.methods], rows

    def reasons(self):
        """One line per method and table that was refused or failed."""
        return [
            f"{method} {result.status} on {short_name(table)}: {result.reason}"
            for (method, table), result in self.results.items()
            if result.status in ("refused", "failed")
        ]


def print_report(records, tables, seeds, markdown, reference=TUNED):
    """Print the accuracies, their means, wins/ties/losses, times and spreads.

    Parameters
    ----------
    records : dict
        The cache, ``{method: {table: {seed: record}}}``.
    tables : list of str
        The tables reported, as file stems.
    seeds : list of int
        The seeds whose mean is a table's result.
    markdown : bool
        GitHub tables instead of plain text.
    reference : str
        The variant that the ablation table compares the others with; no
        ablation table when it has no runs.
    """
    report = Report(records, tables, seeds)
    if not report.methods:
        print("no results yet")
        return
    parts = [report.accuracy()]
    if report.variants:
        parts.append(report.wins_ties_losses())
    if reference in report.variants and len(report.variants) > 1:
        parts.append(report.ablation(reference))
    parts += [report.seconds(), report.spread()]
    for title, header, rows in parts:
        print(title)
        print()
        if markdown:
            print(markdown_table(header, rows))
        else:
            print(pd.DataFrame(rows, columns=header).to_string(index=False))
        print()
    for line in report.reasons():
        print(line)


# --------------------------------------------------------------------- main


def comma_list(text):
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("datadir", type=Path, help="the folder of the tables")
    parser.add_argument(
        "--methods",
        type=comma_list,
        default=list(METHODS),
        help=f"the methods to run, among {','.join(METHODS)}",
    )
    parser.add_argument(
        "--tables",
        type=comma_list,
        help="run and report only the tables whose file name holds one of these "
        "(comma-separated); all when not given",
    )
    parser.add_argument(
        "--seeds",
        type=lambda text: [int(seed) for seed in comma_list(text)],
        default=list(DEFAULT_SEEDS),
        help="the split seeds, comma-separated",
    )
    parser.add_argument(
        "--variant",
        help="the name the runs of tune or tuned are stored and reported under "
        "(default: the method's name)",
    )
    parser.add_argument(
        "--tune-args",
        type=shlex.split,
        default=[],
        help='more arguments for sknormnet tune, e.g. "--ensemble 1"',
    )
    parser.add_argument(
        "--params",
        type=json.loads,
        default={},
        help="the parameters of TunedMLPClassifier for tuned, as JSON, e.g. "
        "'{\"ensemble_size\": 1}'",
    )
    parser.add_argument(
        "--reference",
        default=TUNED,
        help="the variant the ablation table compares the other tuned variants with",
    )
    parser.add_argument(
        "--results", type=Path, default=DEFAULT_RESULTS, help="the cache, JSON"
    )
    parser.add_argument(
        "--force", action="store_true", help="recompute the selected runs"
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the report as GitHub tables"
    )
    args = parser.parse_args()
    unknown = [method for method in args.methods if method not in METHODS]
    if unknown:
        parser.error(f"--methods: unknown {unknown}; choose among {','.join(METHODS)}")
    if args.variant in PEERS:
        parser.error(
            f"--variant {args.variant!r} is the name of a peer; choose another"
        )
    if args.variant and TUNE in args.methods and TUNED in args.methods:
        parser.error("--variant names the runs of one method: tune or tuned")
    if not isinstance(args.params, dict):
        parser.error("--params: give a JSON object of TunedMLPClassifier's parameters")
    packages = {PEERS[method].package for method in args.methods if method in PEERS}
    missing = [
        package
        for package in sorted(packages - {None})
        if importlib.util.find_spec(package) is None
    ]
    if missing:
        parser.error(f'{", ".join(missing)} not installed: pip install ".[bench]"')
    return args


def selected_tables(datadir, patterns):
    """The file stems of ``TABLES`` whose names hold one of ``patterns``."""
    if patterns:
        unmatched = [p for p in patterns if not any(p in stem for stem in TABLES)]
        if unmatched:
            sys.exit(f"--tables: no table's file name holds {unmatched}")
    stems = [s for s in TABLES if not patterns or any(p in s for p in patterns)]
    absent = [s + SUFFIX for s in stems if not (datadir / (s + SUFFIX)).is_file()]
    if absent:
        sys.exit(f"not in {datadir}: {', '.join(absent)}")
    return stems


def run_one(method, path, table, X, y, seed, args):
    """One method on one table and seed: its record, successful or not."""
    X_train, X_test, y_train, y_test = split(X, y, seed)
    try:
        if method == TUNE:
            record = run_tune(path, table, X_test, y_test, seed, args.tune_args)
        elif method == TUNED:
            record = run_tuned(X_train, X_test, y_train, y_test, seed, args.params)
        else:
            record = run_peer(method, X_train, X_test, y_train, y_test, seed)
        record["status"] = "ok"
    except MethodFailed as exc:
        record = {"status": exc.status, "reason": str(exc)}
    except Exception as exc:  # a peer's failure is a result, not the end
        reason = last_line(str(exc)) or "no message"
        record = {"status": "failed", "reason": f"{type(exc).__name__}: {reason}"}
    if method == TUNE:
        record["tune_args"] = list(args.tune_args)
    elif method == TUNED:
        record["params"] = args.params
    record["date"] = datetime.datetime.now().isoformat(timespec="seconds")
    return record


def stored_name(method, variant):
    """The name a method's runs are stored under: ``variant`` for the tuned
    methods when given, else the method's name."""
    return variant if variant and method in (TUNE, TUNED) else method


def run(args, stems, records):
    """Run what is selected and not cached, storing each record as it comes.

    Returns
    -------
    records : dict
        The cache, with the new records.
    """
    stored = {method: stored_name(method, args.variant) for method in args.methods}

    def pending(method, stem, seed):
        done = records.get(stored[method], {}).get(stem, {})
        return args.force or str(seed) not in done

    if TUNE in args.methods:
        if any(pending(TUNE, s, seed) for s in stems for seed in args.seeds):
            print("warming up the command (its first run compiles its kernels)")
            warm_up_command()
    for stem in stems:
        todo = [
            (seed, method)
            for seed in args.seeds
            for method in args.methods
            if pending(method, stem, seed)
        ]
        if not todo:
            continue
        path = args.datadir / (stem + SUFFIX)
        X, y = load_table(path, TABLES[stem])
        for seed, method in todo:
            record = run_one(method, path, TABLES[stem], X, y, seed, args)
            records = store(args.results, stored[method], stem, seed, record)
            shown = (
                f"{record['accuracy']:.4f}  {record['seconds']:7.1f} s"
                if record["status"] == "ok"
                else f"{record['status']}: {record['reason']}"
            )
            print(
                f"{short_name(stem):<{NAME_WIDTH}} seed {seed}  "
                f"{stored[method]:<14} {shown}",
                flush=True,
            )
    return records


def print_versions():
    """The versions of the peers' libraries, beyond those of the machine report."""
    versions = []
    for package in ("lightgbm", "pytabkit", "skops"):
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package} not installed")
    print(f"also: {', '.join(versions)}, pandas {pd.__version__}")
    print()


def main():
    args = parse_args()
    stems = selected_tables(args.datadir, args.tables)
    records = load_results(args.results)
    rerun = {(s, str(seed)) for s in stems for seed in args.seeds if args.force}
    if TUNE in args.methods:
        name = stored_name(TUNE, args.variant)
        check_variant_args(records, name, "tune_args", list(args.tune_args), rerun)
    if TUNED in args.methods:
        name = stored_name(TUNED, args.variant)
        check_variant_args(records, name, "params", args.params, rerun)
    print_machine()
    print_versions()
    records = run(args, stems, records)
    print()
    print_report(records, stems, args.seeds, args.markdown, args.reference)
    print_final_load()


if __name__ == "__main__":
    main()
