"""What the command line does: load a table, tune a pipeline, report, save.

``sknormnet/__main__.py`` parses the arguments and calls :func:`tune`; problems
with the user's data raise :class:`DataError`, which the command line prints as
one line on stderr.
"""

import difflib
import math
import numbers
import textwrap
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.multiclass import type_of_target

from sknormnet import MLPBatchNormClassifier
from sknormnet.distributions import as_distribution
from sknormnet.model_selection import CoarseToFineSearchCV, tuning_space
from sknormnet.preprocessing import as_text

# The share of the rows held out to measure the tuned model.
TEST_SIZE = 0.25
# The classifier's step in the pipeline, and so the prefix of its parameters.
STEP = "mlp"
PREFIX = f"{STEP}__"
# The classifier holds out this share of each training fold for early stopping.
VALIDATION_FRACTION = 0.1


class DataError(ValueError):
    """A problem with the user's data, paths or set-up, reported as one line."""


class SearchInterrupted(Exception):
    """Ctrl-C stopped the search after some rounds, whose results were
    reported (and saved); the message says what was kept."""


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
        frame = pd.read_csv(path)
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

    Rows without a target value and feature columns without any value are
    dropped, with a note on stdout.

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
        print(f"note: dropped {n_dropped} {rows} without a value of {target!r}")
        X, y = X[~missing], y[~missing]
    empty = [column for column in X.columns if X[column].isna().all()]
    if empty:
        print(f"note: ignored columns without any value: {empty}")
        X = X.drop(columns=empty)
    if X.shape[1] == 0:
        raise DataError(
            f"{source} has no feature columns besides the target {target!r}"
        )
    return X, y


def _show(value):
    """The repr of a value, of a NumPy scalar as of the Python one."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _remedy(n_splits):
    return "lower --cv or give more rows" if n_splits > 2 else "give more rows"


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


def check_folds(pipeline, X_train, y_train, cv):
    """Check that every class fills the folds of ``cv`` and that each fold trains.

    Each training fold is fitted for one epoch, so that a fold the classifier
    cannot train on (one too small to hold out its early-stopping set, say)
    stops the command before the search, with the classifier's own message.

    Parameters
    ----------
    pipeline : Pipeline
        The pipeline to tune, with the classifier as step ``"mlp"``.
    X_train : DataFrame
        The rows the search sees.
    y_train : Series
        Their labels.
    cv : StratifiedKFold
        The splitter of the search.
    """
    counts = y_train.value_counts()
    n_splits = cv.get_n_splits()
    if counts.min() < n_splits:
        raise DataError(
            f"too few rows for --cv {n_splits}: class {_show(counts.idxmin())} has "
            f"{counts.min()} rows in the training split (a quarter of the rows is "
            f"held out for testing); {_remedy(n_splits)}"
        )
    probe = clone(pipeline).set_params(**{f"{PREFIX}max_iter": 1})
    for train, _ in cv.split(X_train, y_train):
        try:
            probe.fit(X_train.iloc[train], y_train.iloc[train])
        except ValueError as exc:
            reason = " ".join(str(exc).split()).rstrip(".")
            raise DataError(
                f"--cv {n_splits}: the classifier cannot train on a training fold "
                f"of {len(train)} rows: {reason}; with sknormnet tune, "
                f"{_remedy(n_splits)}"
            ) from None


# ------------------------------------------------------------- the pipeline


def _split_columns(X):
    """The numeric columns of ``X`` and the others (booleans are not numbers)."""
    numeric = [
        column
        for column in X.columns
        if pd.api.types.is_numeric_dtype(X[column])
        and not pd.api.types.is_bool_dtype(X[column])
    ]
    return numeric, [column for column in X.columns if column not in numeric]


def build_pipeline(X, *, max_iter=30, random_state=None):
    """Scale numeric columns and one-hot encode the others, then the classifier.

    Parameters
    ----------
    X : DataFrame
        The feature columns; numeric ones are imputed with their median and
        standardized, the others (text, categories, booleans) are imputed with
        ``"missing"`` and one-hot encoded, unseen values ignored.
    max_iter : int, default=30
        The most epochs each fit trains, with early stopping.
    random_state : int or None, default=None
        Seeds the classifier.

    Returns
    -------
    pipeline : Pipeline
        Steps ``"preprocess"`` (a ColumnTransformer) and ``"mlp"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sknormnet._cli import build_pipeline
    >>> X = pd.DataFrame({"age": [31, 45], "plan": ["basic", "premium"]})
    >>> pipeline = build_pipeline(X)
    >>> [name for name, _, _ in pipeline["preprocess"].transformers]
    ['numeric', 'categorical']
    """
    numeric, others = _split_columns(X)
    transformers = []
    if numeric:
        numeric_steps = make_pipeline(
            SimpleImputer(strategy="median"), StandardScaler()
        )
        transformers.append(("numeric", numeric_steps, numeric))
    if others:
        categorical_steps = make_pipeline(
            FunctionTransformer(as_text, feature_names_out="one-to-one"),
            SimpleImputer(strategy="constant", fill_value="missing"),
            OneHotEncoder(handle_unknown="ignore"),
        )
        transformers.append(("categorical", categorical_steps, others))
    classifier = MLPBatchNormClassifier(
        max_iter=max_iter,
        early_stopping=True,
        validation_fraction=VALIDATION_FRACTION,
        random_state=random_state,
    )
    return Pipeline(
        [("preprocess", ColumnTransformer(transformers)), (STEP, classifier)]
    )


# ----------------------------------------------------------------- reporting


def _short(name):
    return name.removeprefix(PREFIX)


def rounds_table(search):
    """One row per round of a fitted search: its candidates, scores and space.

    Parameters
    ----------
    search : fitted CoarseToFineSearchCV

    Returns
    -------
    table : DataFrame
        Columns ``round``, ``candidates``, ``best (round)``, ``best (so far)``
        (NaN when every fit failed), then the ``describe()`` of each parameter
        of the round's space, named without the prefix.
    """
    results = pd.DataFrame(
        {
            "round": search.cv_results_["round"],
            "score": search.cv_results_["mean_test_score"],
        }
    )
    table = results.groupby("round")["score"].agg(
        **{"candidates": "size", "best (round)": "max"}
    )
    table["best (so far)"] = np.fmax.accumulate(table["best (round)"].to_numpy())
    ranges = pd.DataFrame(
        [
            {
                _short(name): as_distribution(entry).describe()
                for name, entry in space.items()
            }
            for space in search.search_spaces_
        ],
        index=table.index,
    )
    return pd.concat([table, ranges], axis=1).reset_index()


def _shown(value):
    """A parameter value for the output: floats to 6 significant digits."""
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return f"{float(value):.6g}"
    return str(value)


def print_report(search, accuracy, n_test):
    """Print the table of rounds, the best parameters and the test accuracy."""
    table = rounds_table(search)
    print()
    print(table.to_string(index=False, float_format="{:.4f}".format, na_rep="n/a"))
    print()
    best_round = int(search.cv_results_["round"][search.best_index_])
    print(f"best parameters (CV score {search.best_score_:.4f}, round {best_round}):")
    best = pd.Series(
        {_short(name): _shown(value) for name, value in search.best_params_.items()}
    )
    print(textwrap.indent(best.to_string(), "  "))
    print(f"held-out test accuracy: {accuracy:.4f} ({n_test} rows)")


# ------------------------------------------------------------------- outputs


def prepare_out(out):
    """Create the output directory up front, so a bad path fails before the search."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DataError(f"--out {out}: exists and is not a directory") from None
    except OSError as exc:
        raise DataError(f"--out {out}: cannot create it ({exc.strerror})") from None
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
            f'--onnx needs skl2onnx ({missing} is missing); pip install "sknormnet[onnx]"'
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
    """The ONNX graph of a fitted pipeline of numeric columns.

    Parameters
    ----------
    pipeline : Pipeline
        Fitted on a DataFrame whose columns are all numeric (see
        :func:`check_onnx_export`).

    Returns
    -------
    graph : onnx.ModelProto
        One float32 input of shape ``(n_rows, 1)`` per column, in the order of
        the columns, named after them (with skl2onnx's spelling: ``_`` for
        what an ONNX name cannot hold); outputs ``label`` and
        ``probabilities`` (float32, columns in the order of the classes).
    """
    import skl2onnx

    import sknormnet.onnx  # noqa: F401  (registers the classifier's converter)

    columns = pipeline.feature_names_in_
    example = pd.DataFrame(np.zeros((1, len(columns)), np.float32), columns=columns)
    options = {MLPBatchNormClassifier: {"zipmap": False}}
    return skl2onnx.to_onnx(pipeline, example, options=options)


def write_outputs(search, out, *, save_joblib=False, save_onnx=False):
    """Save the results, the best model and, with matplotlib, two plots.

    The model goes to ``model.skops`` (:func:`skops.io.dump`), which loads
    without running code; ``save_joblib`` adds ``model.joblib``, a pickle,
    with a warning that loading it runs code, and ``save_onnx`` adds
    ``model.onnx``.

    Parameters
    ----------
    search : fitted CoarseToFineSearchCV
        Refitted (``refit=True``).
    out : Path
        An existing directory.
    save_joblib : bool, default=False
        Whether to write ``model.joblib`` too.
    save_onnx : bool, default=False
        Whether to write ``model.onnx`` too (see :func:`to_onnx`).

    Returns
    -------
    paths : list of Path
        The files written.
    """
    # skops.io takes seconds to import (it lists the types it trusts): only
    # when a model is saved.
    import skops.io

    paths = [out / "cv_results.csv", out / "model.skops"]
    pd.DataFrame(search.cv_results_).to_csv(paths[0], index=False)
    skops.io.dump(search.best_estimator_, paths[1])
    if save_joblib:
        paths.append(out / "model.joblib")
        joblib.dump(search.best_estimator_, paths[-1])
        print(
            "warning: model.joblib is a pickle, and loading a pickle runs code: "
            "load it only from a source you trust (model.skops loads safely)"
        )
    if save_onnx:
        paths.append(out / "model.onnx")
        paths[-1].write_bytes(to_onnx(search.best_estimator_).SerializeToString())
    try:
        import matplotlib
    except ImportError:
        print("note: no plots, matplotlib is not installed (pip install matplotlib)")
        return paths

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sknormnet.plotting import plot_learning_curves, plot_search

    fig, _ = plot_search(search)
    paths.append(out / "search.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    axes = plot_learning_curves(search.best_estimator_)
    fig = axes[0].figure
    fig.tight_layout()
    paths.append(out / "learning_curve.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    return paths


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


def tune(
    *,
    csv=None,
    target=None,
    rounds=3,
    n_iter=8,
    priority=2,
    n_jobs=None,
    cv=3,
    random_state=0,
    max_iter=30,
    out=None,
    save_joblib=False,
    save_onnx=False,
):
    """Tune the pipeline on a table, print the rounds and the test accuracy.

    Parameters
    ----------
    csv, target : str or None, default=None
        The CSV file and its column of labels; the digits data when None.
    rounds, n_iter, priority, cv, max_iter : int
        The search: ``rounds`` rounds of ``n_iter`` candidates from
        ``tuning_space(priority)``, scored on ``cv`` folds, each fit trained
        for at most ``max_iter`` epochs.
    n_jobs : int or None, default=None
        Fits run in parallel.
    random_state : int, default=0
        Seeds the held-out split, the candidates and the networks.
    out : str or Path or None, default=None
        The directory receiving the results, the model and the plots.
    save_joblib : bool, default=False
        Whether to save the model as ``model.joblib`` too, next to
        ``model.skops``; needs ``out``.
    save_onnx : bool, default=False
        Whether to export the model to ``model.onnx`` too; needs ``out``,
        skl2onnx and numeric columns only (checked before the search).

    Returns
    -------
    search : CoarseToFineSearchCV
        The fitted search.
    accuracy : float
        The accuracy of the best pipeline on the held-out rows.
    """
    out = prepare_out(out) if out is not None else None
    X, y, source = load_data(csv, target)
    if save_onnx:
        check_onnx_export(X)
    target = y.name if target is None else target
    check_classes(y, target)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=random_state
    )
    splitter = StratifiedKFold(cv)
    pipeline = build_pipeline(X, max_iter=max_iter, random_state=random_state)
    space = tuning_space(priority, prefix=PREFIX)
    kinds = pipeline["preprocess"].transformers
    columns = ", ".join(f"{len(cols)} {name}" for name, _, cols in kinds)
    search = CoarseToFineSearchCV(
        pipeline,
        space,
        n_iter=n_iter,
        n_rounds=rounds,
        cv=splitter,
        n_jobs=n_jobs,
        random_state=random_state,
        verbose=1,  # a line per round as it is scored
    )
    with warnings.catch_warnings():
        # the budget caps the epochs on purpose, and the batch sizes of the
        # space may exceed the rows of a small table (they are then clipped)
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message=r"batch_size=\d+ is larger than")
        # said in the command's last line instead
        warnings.filterwarnings("ignore", message="Ctrl-C stopped the search")
        check_folds(pipeline, X_train, y_train, splitter)
        print(
            f"data: {source}, {len(y)} rows, {columns} feature columns, "
            f"{y.nunique()} classes of {target!r}; {len(y_train)} rows for the "
            f"search ({cv}-fold CV), {len(y_test)} held out"
        )
        print(
            f"search: {rounds} rounds x {n_iter} candidates, priority {priority} "
            f"({', '.join(_short(name) for name in space)}), at most {max_iter} "
            "epochs per fit"
        )
        search.fit(X_train, y_train)
    accuracy = float(search.score(X_test, y_test))
    print_report(search, accuracy, len(y_test))
    if out is not None:
        paths = write_outputs(search, out, save_joblib=save_joblib, save_onnx=save_onnx)
        print(f"wrote to {out}: {', '.join(path.name for path in paths)}")
    if search.interrupted_:
        kept = len(search.cv_results_["params"])
        saved = f", saved to {out}" if out is not None else ""
        raise SearchInterrupted(
            f"the search stopped after {search.n_rounds_} of {rounds} rounds; "
            f"the report covers their {kept} candidates{saved}"
        )
    return search, accuracy
