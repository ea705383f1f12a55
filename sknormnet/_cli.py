"""What the command line does: load a table, tune a pipeline, report, save.

``sknormnet/__main__.py`` parses the arguments and calls :func:`tune`; problems
with the user's data raise :class:`DataError`, which the command line prints as
one line on stderr.
"""

import difflib
import json
import math
import numbers
import os
import shutil
import textwrap
import threading
import uuid
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import VotingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import type_of_target

from sknormnet import MLPBatchNormClassifier
from sknormnet._columns import choose_columns, is_numeric
from sknormnet.distributions import as_distribution
from sknormnet.tabular import (
    HOLDOUT_ABOVE,
    STEP,
    TunedMLPClassifier,
    auto_time_budget,
    tabular_pipeline,
)

# The share of the rows held out to measure the tuned model.
TEST_SIZE = 0.25
# The network's step in the pipeline, and so the prefix of its parameters.
PREFIX = f"{STEP}__"
# The metric of the search when --scoring is not given.
DEFAULT_SCORING = "accuracy"
# The classes are called imbalanced when the largest has this many times the
# rows of the smallest.
IMBALANCED = 3
# Loading the compiled kernels from numba's cache takes well under a second;
# a warm-up still running after this many seconds is compiling them.
COMPILE_PATIENCE = 3.0
# Lines are fitted to the terminal, but never narrower than this.
MIN_WIDTH = 40
# The metadata entry of model.onnx mapping its inputs' names to the columns.
ONNX_COLUMNS = "columns"
# The files sknormnet tune may write to --out, in the order it writes them.
OUTPUT_FILES = (
    "model.skops",
    "model.joblib",
    "model.onnx",
    "cv_results.csv",
    "search.png",
    "learning_curve.png",
)


class DataError(ValueError):
    """A problem with the user's data, paths or set-up, reported as one line."""


class SearchInterrupted(Exception):
    """Ctrl-C stopped the search after some rounds, whose results were
    reported (and saved); the message says what was kept."""


# ------------------------------------------------------------------ printing


def terminal_width():
    """The width to fit the output to: ``COLUMNS``, else the terminal's, else 80.

    Returns
    -------
    width : int
        At least ``MIN_WIDTH``, narrower than which tables cannot fit.
    """
    return max(shutil.get_terminal_size().columns, MIN_WIDTH)


def say(text, file=None):
    """Print ``text`` wrapped to the terminal, continuation lines indented,
    to ``file`` (stdout when None)."""
    print(
        textwrap.fill(
            text,
            terminal_width(),
            subsequent_indent="  ",
            break_on_hyphens=False,
        ),
        file=file,
        flush=True,
    )


# ------------------------------------------------------------------ the data


def read_csv(path):
    """Read a CSV file into a DataFrame, turning every read failure into a DataError.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    frame : DataFrame
        The table, with at least one row.
    """
    try:
        # pandas < 3 keeps 1e400 as text unless it parses as Python does
        old = int(pd.__version__.split(".")[0]) < 3
        frame = pd.read_csv(path, **({"float_precision": "round_trip"} if old else {}))
    except FileNotFoundError:
        raise DataError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a directory, not a CSV file") from None
    except PermissionError:
        raise DataError(f"cannot read {path}: permission denied") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty; give a CSV file with a header row") from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path} is not a text CSV file (byte {exc.start} is not UTF-8); "
            "save it as CSV in UTF-8"
        ) from None
    except pd.errors.ParserError as exc:
        reason = str(exc).strip().splitlines()[0]
        raise DataError(f"cannot parse {path} as CSV: {reason}") from None
    if frame.shape[0] == 0:
        raise DataError(f"{path} has a header but no data rows")
    return frame


def split_target(frame, target, source):
    """Separate the features from the target column, dropping what is unusable.

    Rows without a target value are dropped, with a note on stdout.

    Parameters
    ----------
    frame : DataFrame
        The table.
    target : str
        The name of the column to predict.
    source : str
        Where the table came from, for the messages.

    Returns
    -------
    X : DataFrame
        The feature columns.
    y : Series
        The target column.
    """
    if target not in frame.columns:
        columns = [str(c) for c in frame.columns]
        shown = ", ".join(repr(c[:30]) for c in columns[:8])
        more = f", ... ({len(columns)} in all)" if len(columns) > 8 else ""
        close = difflib.get_close_matches(target, columns, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DataError(
            f"no column {target!r} in {source}; its columns are {shown}{more}{hint}"
        )
    y = frame[target]
    X = frame.drop(columns=target)
    missing = y.isna().to_numpy()
    if missing.all():
        raise DataError(f"the target column {target!r} of {source} has no values")
    if missing.any():
        n_dropped = int(missing.sum())
        rows = "row" if n_dropped == 1 else "rows"
        say(f"note: dropped {n_dropped} {rows} without a value of {target!r}")
        X, y = X[~missing], _typed_as_without_gaps(y[~missing])
    if X.shape[1] == 0:
        raise DataError(
            f"{source} has no feature columns besides the target {target!r}"
        )
    return X, y


def _typed_as_without_gaps(y):
    """The target's values in the dtype pandas gives a column without missing
    values: the gaps made a column of booleans object and one of integers
    float."""
    y = y.infer_objects()
    if y.dtype.kind == "f" and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    return y


def check_values(X, source):
    """Refuse numbers that the pipeline cannot standardize, naming the column
    and the row: infinite values, and values so large that the sum of their
    squares over the rows overflows float64. Missing values are imputed.

    Parameters
    ----------
    X : DataFrame
        The feature columns, before any row is held out.
    source : str
        Where the table came from, for the messages.
    """
    numeric, _ = _split_columns(X)
    # the scaler sums n squared deviations from the mean, each below (2 * x)**2
    largest = math.sqrt(np.finfo(np.float64).max / max(len(X), 1)) / 2
    for column in numeric:
        values = X[column].to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            infinite = np.isinf(values)
            huge = np.abs(values) > largest
        for bad, problem, remedy in (
            (
                infinite,
                "which no scaler can standardize",
                "replace it with a number, or leave the cell empty for the "
                "column's median",
            ),
            (
                huge,
                f"too large to standardize: over {len(X)} rows the sum of "
                f"squares overflows float64 beyond {largest:.3g}",
                "rescale the column (to other units, say), or leave it out with --drop",
            ),
        ):
            if bad.any():
                first = int(np.flatnonzero(bad)[0])
                more = int(bad.sum()) - 1
                others = f" (and {more} more rows)" if more else ""
                raise DataError(
                    f"column {column!r} of {source} holds {values[first]:.3g} in "
                    f"row {_row_number(X.index[first])}{others}, {problem}; "
                    f"{remedy}"
                )


def _row_number(label):
    """A row's number counted from 1 under the header, from its label."""
    return label + 1 if isinstance(label, numbers.Integral) else repr(label)


def select_features(X, drop, source, target):
    """The feature columns to use; each column left out or capped gets a line.

    Parameters
    ----------
    X : DataFrame
        The feature columns of the table.
    drop : sequence of str
        The columns of ``--drop``.
    source, target : str
        Where the table came from and the target's name, for the messages.

    Returns
    -------
    X : DataFrame
        The columns kept (see :func:`sknormnet._columns.choose_columns`).
    """
    if target in drop:
        raise DataError(
            f"--drop {target!r}: that is the target column; --target names the "
            "column to predict, --drop the features to leave out"
        )
    try:
        kept, decisions = choose_columns(X, drop)
    except KeyError as exc:
        name = exc.args[0]
        close = difflib.get_close_matches(name, [str(c) for c in X.columns], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DataError(f"--drop {name!r}: no such column in {source}{hint}") from None
    for decision in decisions:
        say(str(decision))
    if kept.shape[1] == 0:
        raise DataError(
            f"no feature columns left in {source}: all were dropped (see the notes "
            "above); give a table with columns that describe the rows"
        )
    return kept


def _show(value):
    """The repr of a value, of a NumPy scalar as of the Python one."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def check_classes(y, target):
    """Check that ``y`` holds class labels, at least two classes, two rows each.

    Two rows per class is the least a stratified hold-out split needs.
    """
    kind = type_of_target(y)
    if kind not in ("binary", "multiclass"):
        example = y.iloc[0]
        raise DataError(
            f"the target {target!r} holds {kind} values (e.g. {_show(example)}), "
            "not class labels; sknormnet tune trains a classifier, so choose a column "
            "of labels"
        )
    counts = y.value_counts()
    if len(counts) < 2:
        raise DataError(
            f"the target {target!r} has a single class ({_show(counts.index[0])}) "
            f"in all {len(y)} rows; a classifier needs at least two"
        )
    if counts.min() < 2:
        raise DataError(
            f"too few rows: class {_show(counts.idxmin())} of {target!r} has "
            f"{counts.min()} row; holding out a stratified test set needs at least "
            "2 rows of every class"
        )
    n_test = math.ceil(TEST_SIZE * len(y))
    if n_test < len(counts) or len(y) - n_test < len(counts):
        raise DataError(
            f"too few rows: {len(y)} rows leave a test set of {n_test} rows for "
            f"{len(counts)} classes; every class needs a row in the test set and in "
            "the training set"
        )


def _reason(exc):
    """An exception's message on one line, without its final period."""
    return " ".join(str(exc).split()).rstrip(".")


# ------------------------------------------------------------- the pipeline


def _split_columns(X):
    """The numeric columns of ``X`` and the others (booleans are not numbers)."""
    numeric = [column for column in X.columns if is_numeric(X[column])]
    return numeric, [column for column in X.columns if column not in numeric]


# ----------------------------------------------------------------- reporting


def _short(name):
    """A parameter's name without the steps it belongs to: "dropout" for
    "mlp__dropout", "scale" for "preprocess__numeric__scale"."""
    return name.rpartition("__")[2]


def _shown(value):
    """A parameter value for the output: floats to 6 significant digits."""
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return f"{float(value):.6g}"
    return str(value)


def _parts(entry):
    """An entry's ``describe()`` cut into the parts a line may break between:
    after each comma, so that a value stays with its probability."""
    text = as_distribution(entry).describe()
    pieces = text.split(", ")
    return [f"{piece}," for piece in pieces[:-1]] + pieces[-1:]


def _pack(parts, width):
    """The parts joined with spaces into lines of at most ``width`` characters
    (a part longer than that is broken between its words)."""
    lines = []
    words = [word for part in parts for word in _words_if_longer(part, width)]
    for part in words:
        if lines and len(lines[-1]) + 1 + len(part) <= width:
            lines[-1] += f" {part}"
        else:
            lines.append(part)
    return lines


def _words_if_longer(part, width):
    return part.split(" ") if len(part) > width else [part]


def rounds_table(search):
    """One row per round of a fitted search: its candidates and best scores.

    Parameters
    ----------
    search : fitted CoarseToFineSearchCV
        Of one metric.

    Returns
    -------
    table : DataFrame
        Columns ``round``, ``candidates``, with rungs ``trained fully`` (the
        candidates that reached the last rung), then ``best of the round`` and
        ``best so far``: the best mean CV scores of the search's metric among
        the fully trained candidates (NaN when every fit failed).
    """
    results = search.cv_results_
    rungs = "n_resources" in results
    frame = pd.DataFrame(
        {
            "round": results["round"],
            "first rung": results["iter"] == 0 if rungs else True,
            "full": (
                results["n_resources"] == np.max(results["n_resources"])
                if rungs
                else True
            ),
            "score": results["mean_test_score"],
        }
    )
    by_round = frame.groupby("round")
    table = pd.DataFrame({"candidates": by_round["first rung"].sum()})
    if rungs:
        table["trained fully"] = by_round["full"].sum()
    table["best of the round"] = (
        frame[frame["full"]].groupby("round")["score"].max().reindex(table.index)
    )
    table["best so far"] = np.fmax.accumulate(table["best of the round"].to_numpy())
    return table.reset_index()


def spaces_table(search, width=80):
    """What the first and the last round of a fitted search sampled, one
    parameter after another (the rounds in between narrow from one to the
    other).

    Parameters
    ----------
    search : fitted CoarseToFineSearchCV
        Of a single space (a dict).
    width : int, default=80
        The width of the printed table: long descriptions continue on the next
        rows, broken between values.

    Returns
    -------
    table : DataFrame
        Columns ``parameter`` (named without the prefix, on its first row
        only), ``round`` (on the first row of each round) and ``sampled from``
        (each entry's ``describe()``).
    """
    names = [_short(name) for name in search.search_spaces_[0]]
    name_width = max(len("parameter"), *(len(name) for name in names))
    # two spaces between the columns and one before the table, as pandas does
    room = max(width - name_width - len("round") - 5, 20)
    shown = sorted({0, len(search.search_spaces_) - 1})
    rows = []
    for name in search.search_spaces_[0]:
        for round_ in shown:
            space = search.search_spaces_[round_]
            for i, line in enumerate(_pack(_parts(space[name]), room)):
                first_of_round = i == 0
                rows.append(
                    {
                        "parameter": _short(name)
                        if first_of_round and not round_
                        else "",
                        "round": str(round_) if first_of_round else "",
                        "sampled from": line,
                    }
                )
    return pd.DataFrame(rows)


def _left_aligned(table):
    """``table.to_string`` arguments that left-align its text columns."""
    widths = {
        column: max(len(column), *(len(value) for value in table[column]))
        for column in ("parameter", "sampled from")
    }
    return {
        "formatters": {
            column: f"{{:<{width}}}".format for column, width in widths.items()
        },
        "justify": "left",
    }


def print_report(model, metric, score, n_test):
    """Print the rounds, what they sampled, the final model and the held-out
    score, each line fitted to the terminal.

    Parameters
    ----------
    model : fitted TunedMLPClassifier
    metric : str
        The name of the metric of the search and of ``score``.
    score : float
        The final model's score on the held-out rows.
    n_test : int
        The number of held-out rows.
    """
    search = model.search_
    width = terminal_width()
    table = rounds_table(search)
    folds = (
        f"the mean over {search.n_splits_} folds"
        if search.n_splits_ > 1
        else "on a held-out fifth of the search's rows"
    )
    print()
    say(f"rounds, by CV {metric} ({folds}):")
    print(
        table.to_string(
            index=False, float_format="{:.4f}".format, na_rep="n/a", line_width=width
        )
    )
    print()
    rounds = len(search.search_spaces_)
    say(
        "what the search sampled:"
        if rounds == 1
        else f"what the search sampled in its first and last rounds (0 and {rounds - 1}):"
    )
    spaces = spaces_table(search, width)
    text = spaces.to_string(index=False, line_width=width, **_left_aligned(spaces))
    # the left-aligned last column pads its lines with spaces
    print("\n".join(line.rstrip() for line in text.splitlines()))
    print()
    results = search.cv_results_
    members = _members(model)
    chosen = results["mean_test_score"][model.ensemble_candidates_]
    best = int(model.ensemble_candidates_[0])
    say(
        f"best parameters (CV {metric} {results['mean_test_score'][best]:.4f}, "
        f"round {int(results['round'][best])}):"
    )
    params = pd.Series(
        {_short(name): _shown(value) for name, value in results["params"][best].items()}
    )
    print(textwrap.indent(params.to_string(), "  "))
    if len(members) > 1:
        say(
            f"final model: the {len(members)} best candidates (CV {metric} "
            f"{chosen.min():.4f} to {chosen.max():.4f}) refitted on all the "
            "search's rows, their probabilities averaged"
        )
    else:
        say("final model: the best candidate refitted on all the search's rows")
    say(f"held-out test {metric}: {score:.4f} ({n_test} rows)")


def _members(model):
    """The pipelines of the final model, the best first."""
    estimator = model.estimator_
    return list(getattr(estimator, "estimators_", [estimator]))


# ------------------------------------------------------------------- outputs


def prepare_out(out, force=False):
    """Create the output directory up front, so a bad path fails before the
    search, and refuse one that holds the files of an earlier result, unless
    ``force``."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DataError(f"--out {out}: exists and is not a directory") from None
    except OSError as exc:
        raise DataError(f"--out {out}: cannot create it ({exc.strerror})") from None
    earlier = [name for name in OUTPUT_FILES if os.path.lexists(out / name)]
    if earlier and not force:
        raise DataError(
            f"--out {out} holds an earlier result ({', '.join(earlier)}); choose "
            "another directory, or add --force to overwrite it"
        )
    return out


def check_onnx_export(X):
    """Check, before the search, that the pipeline of ``X`` can be exported.

    The export needs skl2onnx (the ``onnx`` extra) and numeric columns only:
    skl2onnx has no converter for the step that turns the other columns to
    text (:func:`~sknormnet.preprocessing.as_text`).
    """
    try:
        import sknormnet.onnx  # noqa: F401
    except ImportError as exc:
        missing = getattr(exc.__cause__, "name", None) or "skl2onnx"
        raise DataError(
            f"--onnx needs skl2onnx ({missing} is missing); install the onnx "
            'extra from sknormnet\'s source folder: pip install ".[onnx]"'
        ) from None
    _, others = _split_columns(X)
    if others:
        shown = ", ".join(repr(str(column)[:30]) for column in others[:5])
        more = f", ... ({len(others)} in all)" if len(others) > 5 else ""
        raise DataError(
            "--onnx exports pipelines of numeric columns only; not numeric: "
            f"{shown}{more}. Encode these columns as numbers in the CSV file, or "
            "leave out --onnx"
        )


def to_onnx(pipeline):
    """The ONNX graph of a fitted pipeline of numeric columns, or of a
    soft-voting ensemble of such pipelines.

    Parameters
    ----------
    pipeline : Pipeline or VotingClassifier
        Fitted on a DataFrame whose columns are all numeric (see
        :func:`check_onnx_export`), with standardized numeric columns.

    Returns
    -------
    graph : onnx.ModelProto
        One float32 input of shape ``(n_rows, 1)`` per column, named after it
        (with skl2onnx's spelling: ``_`` for what an ONNX name cannot hold);
        the metadata entry ``ONNX_COLUMNS`` maps each input's name to its
        column's, as JSON, so that rows are fed to the inputs by the names
        of their columns, whatever their order. Outputs ``label`` and
        ``probabilities`` (float32, columns in the order of the classes).
    """
    import onnx
    import skl2onnx

    import sknormnet.onnx  # noqa: F401  (registers the classifier's converter)

    columns = [str(column) for column in pipeline.feature_names_in_]
    example = pd.DataFrame(np.zeros((1, len(columns)), np.float32), columns=columns)
    options = {
        MLPBatchNormClassifier: {"zipmap": False},
        VotingClassifier: {"zipmap": False},
    }
    graph = skl2onnx.to_onnx(pipeline, example, options=options)
    # skl2onnx declares one input per column of the example, in their order
    inputs = [node.name for node in graph.graph.input]
    if len(inputs) != len(columns):
        raise RuntimeError(
            f"skl2onnx made {len(inputs)} inputs of {len(columns)} columns"
        )
    onnx.helper.set_model_props(
        graph, {ONNX_COLUMNS: json.dumps(dict(zip(inputs, columns)))}
    )
    return graph


def _write_atomically(path, write, saved):
    """Write ``path`` with ``write(temporary_path)``, then rename it: the file
    is either whole or left as it was. An OSError is a DataError naming the
    file, the reason and the files in ``saved``, written before it."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        kept = ", ".join(done.name for done in saved) or "nothing"
        raise DataError(
            f"--out {path.parent}: cannot write {path.name} "
            f"({exc.strerror or exc}); saved before it: {kept}"
        ) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_outputs(tuned, out, *, save_joblib=False, save_onnx=False):
    """Save the final model, the search's results and, with matplotlib, two
    plots.

    The model comes first, as ``model.skops`` (:func:`skops.io.dump`), which
    loads without running code; ``save_joblib`` adds ``model.joblib``, a
    pickle, with a warning that loading it runs code, and ``save_onnx`` adds
    ``model.onnx``. Then ``cv_results.csv`` and the plots. Each file is
    written to a temporary file in ``out``, then renamed: a failure leaves
    the file as it was, and a DataError says which file, why, and which
    were saved before it.

    Parameters
    ----------
    tuned : fitted TunedMLPClassifier
        Its final model (``estimator_``) is saved.
    out : Path
        An existing directory.
    save_joblib : bool, default=False
        Whether to write ``model.joblib`` too.
    save_onnx : bool, default=False
        Whether to write ``model.onnx`` too (see :func:`to_onnx`).

    Returns
    -------
    paths : list of Path
        The files written, in the order written.
    """
    # skops.io takes seconds to import (it lists the types it trusts): only
    # when a model is saved.
    import skops.io

    model, search = tuned.estimator_, tuned.search_
    writers = {"model.skops": lambda path: skops.io.dump(model, path)}
    if save_joblib:
        writers["model.joblib"] = lambda path: joblib.dump(model, path)
    if save_onnx:
        writers["model.onnx"] = lambda path: path.write_bytes(
            to_onnx(model).SerializeToString()
        )
    writers["cv_results.csv"] = lambda path: pd.DataFrame(search.cv_results_).to_csv(
        path, index=False
    )
    try:
        import matplotlib
    except ImportError:
        matplotlib = None
    else:
        matplotlib.use("Agg")
        from sknormnet.plotting import plot_learning_curves, plot_search

        writers["search.png"] = lambda path: _save_figure(plot_search(search)[0], path)
        writers["learning_curve.png"] = lambda path: _save_figure(
            plot_learning_curves(_members(tuned)[0])[0].figure, path, tight=True
        )
    paths = []
    for name, write in writers.items():
        _write_atomically(out / name, write, paths)
        paths.append(out / name)
        if name == "model.joblib":
            say(
                "warning: model.joblib is a pickle, and loading a pickle runs "
                "code: load it only from a source you trust (model.skops loads "
                "safely)"
            )
    if matplotlib is None:
        say("note: no plots, matplotlib is not installed (pip install matplotlib)")
    return paths


def _save_figure(fig, path, tight=False):
    """Save ``fig`` as a PNG at ``path`` (whatever its suffix), and close it."""
    import matplotlib.pyplot as plt

    try:
        if tight:
            fig.tight_layout()
        fig.savefig(path, dpi=100, format="png")
    finally:
        plt.close(fig)


# ------------------------------------------------------------------- command


def load_data(csv=None, target=None):
    """The table to tune on: a CSV file, or scikit-learn's digits.

    Returns
    -------
    X : DataFrame
    y : Series
    source : str
        A description of the data, for the messages.
    """
    if csv is None:
        from sklearn.datasets import load_digits

        digits = load_digits(as_frame=True)
        return digits.data, digits.target, "scikit-learn's digits"
    frame = read_csv(csv)
    X, y = split_target(frame, target, str(csv))
    return X, y, str(csv)


def _fit_a_tiny_model():
    """Train a few epochs on 40 random rows and predict, as the search's fits
    do (float32, the regularisers of its space, the cosine schedule), so that
    numba compiles (or loads from its cache) the kernels they need."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)).astype(np.float32), np.arange(40) % 2
    model = MLPBatchNormClassifier(
        (4,),
        max_iter=2,
        learning_rate="cosine",
        dropout=0.1,
        weight_decay=1e-4,
        label_smoothing=0.1,
    )
    model.fit(X, y).predict_proba(X)


def warm_up_kernels(patience=COMPILE_PATIENCE, warm_up=_fit_a_tiny_model, tell=say):
    """Compile the training kernels, saying so if it takes a while.

    numba keeps the machine code on disk, so the kernels compile once per
    machine and installation (see ``sknormnet/_jit.py``); later runs load
    them in well under a second. Rather than guess where numba keeps its
    cache, this times the warm-up: one still running after ``patience``
    seconds is compiling, and a line says so while it does.

    Parameters
    ----------
    patience : float, default=COMPILE_PATIENCE
        Seconds before the line is printed.
    warm_up : callable, default=_fit_a_tiny_model
        Calls the kernels.
    tell : callable, default=say
        Prints the line.

    Returns
    -------
    compiled : bool
        Whether the line was printed.
    """
    told = threading.Event()

    def notice():
        tell(
            "note: compiling sknormnet's kernels for this machine; this happens "
            "once, and takes a minute or two"
        )
        told.set()

    timer = threading.Timer(patience, notice)
    timer.daemon = True
    timer.start()
    try:
        warm_up()
    finally:
        timer.cancel()
        timer.join()
    return told.is_set()


def _note_the_metric(y, target, scoring):
    """A line naming the metric, for a binary or imbalanced target scored by
    the default accuracy, and what to use instead; None otherwise."""
    if scoring != DEFAULT_SCORING:
        return None
    shares = y.value_counts(normalize=True)
    if shares.iloc[0] >= IMBALANCED * shares.iloc[-1]:
        return (
            f"note: scoring by accuracy; the classes of {target!r} are imbalanced "
            f"(from {shares.iloc[0]:.0%} to {shares.iloc[-1]:.0%} of the rows), "
            "and --scoring balanced_accuracy would weigh them equally"
        )
    if len(shares) == 2:
        return (
            "note: scoring by accuracy, the share of rows predicted right; for a "
            "binary target --scoring roc_auc ranks by the predicted probabilities"
        )
    return None


def _check_scoring_applies(X, y, scoring):
    """Train one epoch of the table's pipeline on a few of the rows and score
    it with ``scoring``, so that a metric that does not apply to the target
    (``roc_auc`` for several classes, say) stops the command before the
    search rather than failing every fit."""
    pipeline = tabular_pipeline(X).set_params(**{f"{PREFIX}max_iter": 1})
    try:
        pipeline.fit(X, y)
        get_scorer(scoring)(pipeline, X, y)
    except (ValueError, TypeError) as exc:
        raise DataError(
            f"--scoring {scoring} cannot score this classifier: {_reason(exc)}; "
            "choose a classification metric, such as accuracy, "
            "balanced_accuracy, f1_macro or neg_log_loss"
        ) from None


def _every_fit_failed(error):
    """scikit-learn's error when every fit of the first round failed, in one
    line: how many failed, and the error that ended the last one."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return (
        f"the search could not train the network: {lines[0]} The last error: "
        f"{lines[-1]}"
    )


def _plan(model, n_rows, n_workers):
    """The line saying what the search will do, and then the final model."""
    if model.cv != "auto":
        scored = f"{model.cv}-fold CV"
    else:
        scored = "a held-out fifth" if n_rows > HOLDOUT_ABOVE else "3-fold CV"
    if model.time_budget is not None:
        budget = model.time_budget
        if budget == "auto":
            budget = auto_time_budget(n_rows)
        size = f"within {budget:.0f} s in all (--time-budget)"
    elif model.n_candidates is not None:
        size = f"{model.n_candidates} candidates (--n-candidates)"
    else:
        size = "3 rounds"
    rungs = (
        f", in rungs of growing epochs, 1/{model.factor:g} promoted at each"
        if model.rungs
        else ""
    )
    final = (
        f"the {model.ensemble_size} best refitted and averaged (--ensemble)"
        if model.ensemble_size > 1
        else "the best refitted"
    )
    cores = "core" if n_workers == 1 else "cores"
    return (
        "search: learning rate, layers, dropout, weight decay and label "
        f"smoothing, scored by {scored} {model.scoring}, {size} on "
        f"{n_workers} {cores}{rungs}; then {final}"
    )


def tune(
    *,
    csv=None,
    target=None,
    drop=(),
    scoring=None,
    time_budget="auto",
    n_candidates=None,
    ensemble=5,
    cv="auto",
    training_steps=1500,
    rungs=False,
    factor=3,
    n_jobs=-1,
    random_state=0,
    out=None,
    force=False,
    save_joblib=False,
    save_onnx=False,
):
    """Tune a network for a table, print the rounds and the held-out score.

    Parameters
    ----------
    csv, target : str or None, default=None
        The CSV file and its column of labels; the digits data when None.
    drop : sequence of str, default=()
        Feature columns to leave out.
    scoring : str or None, default=None
        A scikit-learn scorer name (see
        :func:`sklearn.metrics.get_scorer_names`); accuracy when None.
    time_budget, n_candidates, cv, training_steps, rungs, factor, n_jobs
        As in :class:`~sknormnet.tabular.TunedMLPClassifier`.
    ensemble : int, default=5
        Its ``ensemble_size``.
    random_state : int, default=0
        Seeds the held-out split, the search and the networks.
    out : str or Path or None, default=None
        The directory receiving the model, the results and the plots (see
        :func:`write_outputs`); one that holds an earlier result is refused
        before the search.
    force : bool, default=False
        Whether to overwrite the files of an earlier result in ``out``.
    save_joblib : bool, default=False
        Whether to save the model as ``model.joblib`` too, next to
        ``model.skops``; needs ``out``.
    save_onnx : bool, default=False
        Whether to export the model to ``model.onnx`` too; needs ``out``,
        skl2onnx and numeric columns only (checked before the search).

    Returns
    -------
    model : TunedMLPClassifier
        The fitted model.
    score : float
        The final model's score on the held-out rows.
    """
    scoring = DEFAULT_SCORING if scoring is None else scoring
    out = prepare_out(out, force) if out is not None else None
    X, y, source = load_data(csv, target)
    target = y.name if target is None else target
    check_classes(y, target)
    X = select_features(X, drop, source, target)
    check_values(X, source)
    if save_onnx:
        check_onnx_export(X)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=random_state
    )
    model = TunedMLPClassifier(
        time_budget=time_budget,
        n_candidates=n_candidates,
        ensemble_size=ensemble,
        cv=cv,
        training_steps=training_steps,
        rungs=rungs,
        factor=factor,
        scoring=scoring,
        n_jobs=n_jobs,
        random_state=random_state,
        verbose=1,
    )
    kinds = tabular_pipeline(X)["preprocess"].transformers
    columns = ", ".join(f"{len(cols)} {name}" for name, _, cols in kinds)
    say(
        f"data: {source}, {len(y)} rows, {columns} feature columns, "
        f"{y.nunique()} classes of {target!r}; {len(y_train)} rows for the "
        f"search, {len(y_test)} held out"
    )
    metric_note = _note_the_metric(y, target, scoring)
    if metric_note is not None:
        say(metric_note)
    warm_up_kernels()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # the metric's check trains one epoch on purpose
        warnings.simplefilter("ignore", ConvergenceWarning)
        # said in the command's last line instead
        warnings.filterwarnings("ignore", message="Ctrl-C stopped the search")
        _check_scoring_applies(X_train, y_train, scoring)
        n_workers = joblib.effective_n_jobs(n_jobs)
        say(_plan(model, len(y_train), n_workers))
        try:
            model.fit(X_train, y_train)
        except ValueError as error:
            if "fits failed" not in str(error):
                raise
            raise DataError(_every_fit_failed(error)) from None
    # a warning of the folds repeats in every round: say each once
    notes = dict.fromkeys(
        str(warning.message)
        for warning in caught
        if issubclass(warning.category, UserWarning)
    )
    for note in notes:
        say(f"note: {note}")
    score = float(get_scorer(scoring)(model, X_test, y_test))
    print_report(model, scoring, score, len(y_test))
    if out is not None:
        paths = write_outputs(model, out, save_joblib=save_joblib, save_onnx=save_onnx)
        say(f"wrote to {out}: {', '.join(path.name for path in paths)}")
    search = model.search_
    if search.interrupted_:
        kept = len(search.cv_results_["params"])
        saved = f", saved to {out}" if out is not None else ""
        raise SearchInterrupted(
            f"the search stopped after {search.n_rounds_} "
            f"round{'s' if search.n_rounds_ != 1 else ''}; the report "
            f"covers their {kept} candidates{saved}"
        )
    return model, score
