"""The command line: ``sknormnet tune`` end to end, its reports, its errors."""

import contextlib
import copy
import doctest
import importlib
import io
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import threading

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, load_iris
from sklearn.linear_model import RidgeClassifier
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

import sknormnet
from sknormnet import MLPBatchNormClassifier
from sknormnet.__main__ import _build_parser, main
from sknormnet._cli import (
    MIN_WIDTH,
    TEST_SIZE,
    DataError,
    _note_the_metric,
    prepare_out,
    print_report,
    rounds_table,
    spaces_table,
    terminal_width,
    tune,
    warm_up_kernels,
    write_outputs,
)
from sknormnet._columns import MAX_CATEGORIES
from sknormnet.distributions import (
    categorical,
    loguniform,
)
from sknormnet.io import TRUSTED_TYPES, load
from sknormnet.model_selection import CoarseToFineSearchCV

# A search of a few seconds, the same on every machine: 6 candidates on one
# worker (2 rounds: 4, then 2), 2 folds, 20 optimizer steps per fit, an
# ensemble of 2.
TINY = [
    "--time-budget",
    "none",
    "--n-candidates",
    "6",
    "--cv",
    "2",
    "--training-steps",
    "20",
    "--ensemble",
    "2",
    "--n-jobs",
    "1",
]
# The same, as the arguments of tune().
TINY_ARGUMENTS = dict(
    time_budget=None, n_candidates=6, cv=2, training_steps=20, ensemble=2, n_jobs=1
)
ACCURACY = re.compile(r"held-out test accuracy: (\d\.\d{4}) \((\d+) rows\)")
# The search's own line at the end of each round; only its start is relied on,
# as its format belongs to CoarseToFineSearchCV.
ROUND_LINE = re.compile(r"^round (\d+)(?: of \d+)?: .*$", re.MULTILINE)


def _run(argv, columns=80):
    """``main(argv)`` with its exit status, stdout and stderr, in a terminal
    ``columns`` wide."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", str(columns))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(argv)
    return status, out.getvalue(), err.getvalue()


def _flat(text):
    """``text`` with its line breaks and runs of spaces as single spaces, to
    find a phrase wherever the terminal's width broke it."""
    return " ".join(text.split())


def _too_wide(text, width):
    return [line for line in text.splitlines() if len(line) > width]


def _load_skops(path):
    """The model saved at ``path``, loaded as the documentation says; checks
    that the file asks to trust only types that sknormnet.io.load trusts, and
    of sknormnet only public names."""
    untrusted = skops.io.get_untrusted_types(file=path)
    assert set(untrusted) <= set(TRUSTED_TYPES)
    for name in untrusted:
        module, _, attribute = name.rpartition(".")
        if module.split(".")[0] != "sknormnet":
            continue  # types of numpy's and scikit-learn's, see the page
        value = getattr(importlib.import_module(module), attribute)
        public = getattr(sknormnet, attribute, None) is value or (
            not any(part.startswith("_") for part in module.split("."))
            and attribute in importlib.import_module(module).__all__
        )
        assert public, f"{name} is not a public name of sknormnet"
    return load(path), untrusted


# ----------------------------------------------------------- digits, end to end


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """The exit status, stdout, stderr, output directory and fitted model of a
    run."""
    out = tmp_path_factory.mktemp("cli") / "results"
    models = []

    def keep_the_model(**kwargs):
        model, accuracy = tune(**kwargs)
        models.append(model)
        return model, accuracy

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sknormnet._cli.tune", keep_the_model)
        status, stdout, stderr = _run(["tune", *TINY, "--out", str(out)])
    return status, stdout, stderr, out, models[0] if models else None


def test_tune_on_digits_succeeds_and_prints_the_accuracy(digits_run):
    status, stdout, stderr, _, _ = digits_run
    assert status == 0, stderr
    assert "Traceback" not in stderr
    assert stdout.startswith("data: scikit-learn's digits, 1797 rows, 64 numeric")
    assert (
        "search: learning rate, layers, dropout, weight decay and label smoothing, "
        "scored by 2-fold CV accuracy, 6 candidates (--n-candidates) on 1 core; "
        "then the 2 best refitted and averaged (--ensemble)"
    ) in _flat(stdout)
    match = ACCURACY.search(stdout)
    assert match, stdout
    assert 0.0 <= float(match.group(1)) <= 1.0
    assert int(match.group(2)) == 450  # a quarter of 1797, rounded up


def test_tune_prints_a_line_as_each_round_ends(digits_run):
    _, stdout, _, _, model = digits_run
    search = model.search_
    rounds = [int(m.group(1)) for m in ROUND_LINE.finditer(stdout)]
    assert rounds == list(range(1, search.n_rounds_ + 1)) == [1, 2]
    # the search's lines come before the report
    last = list(ROUND_LINE.finditer(stdout))[-1]
    assert last.start() < stdout.index("rounds, by CV accuracy")


def test_every_line_fits_the_terminal(digits_run):
    # the whole output: the command's lines and the search's progress
    _, stdout, _, _, _ = digits_run
    assert not _too_wide(stdout, 80)


@pytest.mark.parametrize("columns", [MIN_WIDTH, 60, 100])
def test_the_command_fits_its_own_lines_to_columns(columns, tmp_path):
    # the lines of the command and of the search (but scikit-learn's own line
    # before each of the search's evaluations)
    path = tmp_path / "customers.csv"
    _mixed_table().to_csv(path, index=False)
    args = ["--csv", str(path), "--target", "label", "--out", str(tmp_path / "o")]
    status, stdout, stderr = _run(["tune", *args, *TINY, "--joblib"], columns)
    assert status == 0, stderr
    ours = "\n".join(
        line for line in stdout.splitlines() if not line.startswith("Fitting ")
    )
    assert not _too_wide(ours, columns)
    # each part of the output is there, however narrow
    parts = ("data:", "search:", "rounds, by CV", "what the search", "wrote to")
    for part in parts:
        assert part in stdout


def test_the_width_comes_from_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "123")
    assert terminal_width() == 123
    monkeypatch.setenv("COLUMNS", "12")
    assert terminal_width() == MIN_WIDTH


def _table(stdout):
    """The header and the rows of the table of rounds, split on whitespace."""
    lines = stdout.splitlines()
    header = next(
        i for i, line in enumerate(lines) if line.split()[:2] == ["round", "candidates"]
    )
    rows = []
    for line in lines[header + 1 :]:
        if not line.strip():
            break
        rows.append(line.split())
    return lines[header], rows


def test_tune_prints_the_table_of_rounds_and_the_best_parameters(digits_run):
    _, stdout, _, _, model = digits_run
    search = model.search_
    assert "rounds, by CV accuracy (the mean over 2 folds):" in stdout
    header, rows = _table(stdout)
    assert re.match(r"^ *round +candidates +best of the round +best so far$", header)
    assert [row[:2] for row in rows] == [["0", "4"], ["1", "2"]]
    scores = search.cv_results_["mean_test_score"]
    assert [float(row[3]) for row in rows] == [
        round(scores[:4].max(), 4),
        round(scores.max(), 4),
    ]
    best = stdout[stdout.index("best parameters") :]
    names = ["learning_rate_init", "hidden_layer_sizes", "dropout", "weight_decay"]
    for name in [*names, "label_smoothing"]:
        assert re.search(rf"^  {name} +\S", best, re.MULTILINE), best
    assert f"(CV accuracy {scores.max():.4f}, round" in best
    ensemble = sorted(scores)[-2:]
    assert (
        f"final model: the 2 best candidates (CV accuracy {ensemble[0]:.4f} to "
        f"{ensemble[1]:.4f}) refitted on all the search's rows, their "
        "probabilities averaged"
    ) in _flat(best)


def test_tune_prints_what_the_first_and_last_rounds_sampled(digits_run):
    _, stdout, _, _, model = digits_run
    spaces = model.search_.search_spaces_
    title = "what the search sampled in its first and last rounds (0 and 1):"
    block = stdout[stdout.index(title) :].split("\n\n")[0]
    lines = block.splitlines()[1:]
    assert lines[0].split() == ["parameter", "round", "sampled", "from"]
    assert lines[1].split() == ["learning_rate_init", "0", "0.0003..0.03"]
    assert lines[2].split() == ["1", spaces[1]["mlp__learning_rate_init"].describe()]
    # every value of a list with its probability, not only the likeliest
    dropout = next(i for i, line in enumerate(lines) if line.startswith("dropout"))
    assert _flat(lines[dropout]).endswith("0 0, 0.1, 0.2, 0.3, 0.4 (equally likely)")
    weights = spaces[1]["mlp__dropout"].p
    expected = ", ".join(
        f"{v:g} ({w:.0%})" for v, w in zip([0, 0.1, 0.2, 0.3, 0.4], weights)
    )
    assert _flat(lines[dropout + 1]) == f"1 {expected}"
    assert "layers of 64..512 units" in block
    # the columns are standardised, not searched over
    assert "scale" not in block


def test_tune_writes_results_model_and_plots(digits_run):
    _, stdout, _, out, tuned = digits_run
    # the model first
    expected = ["model.skops", "cv_results.csv", "search.png", "learning_curve.png"]
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)
    assert f"wrote to {out}: {', '.join(expected)}" in _flat(stdout)
    results = pd.read_csv(out / "cv_results.csv")
    assert results["round"].tolist() == [0, 0, 0, 0, 1, 1]
    assert "param_mlp__learning_rate_init" in results
    model, untrusted = _load_skops(out / "model.skops")
    assert "sknormnet._mlp.MLPBatchNormClassifier" in untrusted
    assert "sknormnet.preprocessing.as_float32" in untrusted
    X, y = load_digits(return_X_y=True, as_frame=True)
    predictions = model.predict(X.head(50))
    assert set(predictions) <= set(range(10))
    assert model.score(X, y) > 0.5
    # the final model as it is in the process that made it
    assert_array_equal(model.predict_proba(X), tuned.predict_proba(X))
    assert_array_equal(model.predict_proba(X), tuned.estimator_.predict_proba(X))
    assert len(model.estimators_) == 2
    assert "model.joblib" not in stdout
    for name in ("search.png", "learning_curve.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -------------------------------------------------------------- CSV, end to end


def _mixed_table(n_rows=160, seed=0):
    """Numeric, text and boolean columns with gaps; the label depends on both
    kinds; and columns that are not features: an ID, dates, no values, and
    text of many values."""
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        rng.integers(0, 400, n_rows), "D"
    )
    table = pd.DataFrame(
        {
            "customer_id": rng.permutation(n_rows) * 7 + 1000,
            "signed_up": days.strftime("%Y-%m-%d"),
            "city": rng.choice([f"city {i}" for i in range(30)], n_rows),
            "income": rng.normal(50, 15, n_rows).round(1),
            "visits": rng.poisson(3, n_rows).astype(float),
            "plan": rng.choice(["basic", "plus", "pro"], n_rows),
            "member": rng.choice([True, False], n_rows).astype(object),
        }
    )
    score = (table["income"] - 50) / 15 + (table["plan"] == "pro") * 1.5
    table["label"] = np.where(score > 0.3, "buys", "leaves")
    table.loc[::9, "income"] = np.nan
    table.loc[::11, "plan"] = None
    table.loc[::13, "member"] = None
    table.loc[[4, 7], "label"] = None
    table["notes"] = np.nan  # a column without any value
    return table


def test_tune_on_a_csv_with_numeric_and_categorical_columns(tmp_path):
    path = tmp_path / "customers.csv"
    table = _mixed_table()
    table.to_csv(path, index=False)
    out = tmp_path / "out"
    args = ["--csv", str(path), "--target", "label", "--out", str(out), "--joblib"]
    args += ["--scoring", "balanced_accuracy"]
    status, stdout, stderr = _run(["tune", *args, *TINY])
    assert status == 0, stderr
    # one note per decision, naming the column, in the order of the columns
    notes = [line for line in stdout.splitlines() if line.startswith("note: ")]
    expected = [
        "note: dropped 2 rows without a value of 'label'",
        "note: dropped 'customer_id': a different value in every row (an identifier)",
        "note: dropped 'signed_up': dates or times, which sknormnet tune does not use",
        f"note: capped 'city': 30 values, one-hot encoded as the {MAX_CATEGORIES - 1} "
        "most frequent and one for the rest",
        "note: dropped 'notes': no values",
    ]
    assert len(notes) == len(expected)
    flat = _flat(stdout)
    assert [flat.index(note) for note in expected] == sorted(
        flat.index(note) for note in expected
    )
    assert "158 rows, 2 numeric, 3 categorical feature columns, 2 classes" in flat
    # the metric is named everywhere, and given by the user: no note about it
    assert "scored by 2-fold CV balanced_accuracy" in flat
    assert "rounds, by CV balanced_accuracy" in flat
    assert "(CV balanced_accuracy " in flat
    match = re.search(r"held-out test balanced_accuracy: (\d\.\d{4}) \(40 rows\)", flat)
    assert match
    assert "scoring by accuracy" not in flat
    results = pd.read_csv(out / "cv_results.csv")
    assert "mean_test_score" in results
    model, untrusted = _load_skops(out / "model.skops")
    # the rows as the command read them: a round trip through the CSV file
    # changes the types of some columns (booleans with gaps, on pandas 2)
    labelled = pd.read_csv(path).dropna(subset=["label"])
    _, X_test, _, y_test = train_test_split(
        labelled,
        labelled["label"],
        test_size=TEST_SIZE,
        stratify=labelled["label"],
        random_state=0,
    )
    assert list(model.feature_names_in_) == [
        "city",
        "income",
        "visits",
        "plan",
        "member",
    ]
    expected = balanced_accuracy_score(
        y_test, model.predict(X_test[model.feature_names_in_])
    )
    assert float(match.group(1)) == round(expected, 4)

    # --joblib writes a pickle besides model.skops, with a one-line warning
    warning = (
        "warning: model.joblib is a pickle, and loading a pickle runs code: load it "
        "only from a source you trust (model.skops loads safely)"
    )
    assert flat.count(warning) == 1
    assert f"wrote to {out}: model.skops, model.joblib, cv_results.csv" in flat
    model, untrusted = _load_skops(out / "model.skops")
    assert "sknormnet.preprocessing.as_text" in untrusted
    pickled = joblib.load(out / "model.joblib")

    # the saved pipeline takes raw rows, with gaps and unseen categories
    new = pd.DataFrame(
        {
            "income": [30.0, np.nan, 80.0],
            "visits": [1.0, 2.0, np.nan],
            "plan": ["pro", "enterprise", None],
            "member": [True, None, False],
            "city": ["city 1", "nowhere", None],
        }
    )
    assert set(model.predict(new)) <= {"buys", "leaves"}
    assert model.predict_proba(new).shape == (3, 2)
    # the capped column: at most MAX_CATEGORIES features, unseen values included
    # (the model averages two pipelines, TINY's ensemble)
    preprocess = model.estimators_[0]["preprocess"]
    columns = {name: list(cols) for name, _, cols in preprocess.transformers_}
    city = columns["categorical"].index("city")
    encoder = preprocess.named_transformers_["categorical"][-1]
    n_features = (
        len(encoder.categories_[city]) - len(encoder.infrequent_categories_[city]) + 1
    )
    assert n_features == MAX_CATEGORIES < len(encoder.categories_[city])
    assert_array_equal(pickled.predict_proba(new), model.predict_proba(new))


# ------------------------------------------------------------------ ONNX


def _documented_onnx_recipe():
    """The code with which the page "Saving and deploying" serves the
    ``model.onnx`` of ``sknormnet tune``, from ``results/`` to the rows of
    ``new_rows.csv``."""
    with open(
        _repository_file("docs/user_guide/deploying.rst"), encoding="utf-8"
    ) as page:
        text = page.read()
    blocks = re.findall(
        r"^\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", text, re.MULTILINE
    )
    (block,) = [block for block in blocks if "model.onnx" in block]
    return textwrap.dedent(block)


def _serve_onnx_as_documented(directory, rows):
    """Run the page's code on ``rows``, in ``directory`` (which holds
    ``results/model.onnx``); return its labels and probabilities."""
    rows.to_csv(directory / "new_rows.csv", index=False)
    namespace = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        exec(_documented_onnx_recipe(), namespace)
    return namespace["labels"], namespace["probabilities"]


@pytest.mark.extra("onnx")
def test_tune_exports_onnx_that_computes_the_saved_probabilities(tmp_path):
    import onnxruntime

    out = tmp_path / "results"
    status, stdout, stderr = _run(["tune", *TINY, "--out", str(out), "--onnx"])
    assert status == 0, stderr
    assert f"wrote to {out}: model.skops, model.onnx, cv_results.csv" in _flat(stdout)
    model, _ = _load_skops(out / "model.skops")
    X, y = load_digits(return_X_y=True, as_frame=True)
    _, X_test = train_test_split(X, test_size=TEST_SIZE, stratify=y, random_state=0)
    expected = model.predict_proba(X_test)
    # served as the page says, on the columns in the reverse order
    reordered = X_test[X_test.columns[::-1]]
    labels, probabilities = _serve_onnx_as_documented(tmp_path, reordered)
    assert_allclose(probabilities, expected, rtol=0, atol=1e-5)
    assert_array_equal(labels, model.classes_[probabilities.argmax(axis=1)])
    # pairing the inputs with the columns by position would be wrong
    session = onnxruntime.InferenceSession(
        str(out / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    by_position = {
        node.name: reordered[[column]].to_numpy(np.float32)
        for node, column in zip(session.get_inputs(), reordered.columns)
    }
    wrong = session.run(["probabilities"], by_position)[0]
    assert np.mean(wrong.argmax(axis=1) == expected.argmax(axis=1)) < 0.5


@pytest.mark.extra("onnx")
def test_onnx_inputs_are_fed_by_column_names_that_onnx_cannot_spell(tmp_path):
    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = ["petal length (cm)", "x.y", "1st", "naïve"]
    table = X.assign(species=np.array(["a", "b", "c"])[y])
    path = _write(tmp_path / "iris.csv", table.to_csv(index=False))
    out = tmp_path / "results"
    args = ["--csv", str(path), "--target", "species", "--out", str(out), "--onnx"]
    status, _, stderr = _run(["tune", *args, *TINY])
    assert status == 0, stderr
    model, _ = _load_skops(out / "model.skops")
    shuffled = X[["naïve", "x.y", "petal length (cm)", "1st"]]
    labels, probabilities = _serve_onnx_as_documented(tmp_path, shuffled)
    assert_allclose(probabilities, model.predict_proba(X), rtol=0, atol=1e-5)
    assert_array_equal(labels, model.predict(X))
    with pytest.raises(ValueError, match=r"lacks the model's columns \['1st'\]"):
        _serve_onnx_as_documented(tmp_path, X.drop(columns="1st"))


@pytest.mark.extra("onnx")
def test_onnx_with_non_numeric_columns_fails_before_the_search(tmp_path):
    path = _write(tmp_path / "data.csv", "x,plan,y\n" + "1,a,u\n2,b,v\n" * 10)
    args = ["--csv", str(path), "--target", "y", "--out", str(tmp_path / "o")]
    status, stdout, stderr = _run(["tune", *args, "--onnx", *TINY])
    assert status == 1
    assert stderr == (
        "sknormnet: error: --onnx exports pipelines of numeric columns only; not "
        "numeric: 'plan'. Encode these columns as numbers in the CSV file, or "
        "leave out --onnx\n"
    )
    assert stdout == ""


def test_onnx_without_skl2onnx_is_one_line_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.delitem(sys.modules, "sknormnet.onnx", raising=False)
    # none of the onnx extra, whether it is installed or not: onnx is the
    # first that sknormnet.onnx imports
    for name in ("onnx", "skl2onnx", "onnxruntime"):
        monkeypatch.setitem(sys.modules, name, None)
    status, stdout, stderr = _run(["tune", "--out", str(tmp_path), "--onnx"])
    assert status == 1
    assert stderr == (
        "sknormnet: error: --onnx needs skl2onnx (onnx is missing); install "
        'the onnx extra from sknormnet\'s source folder: pip install ".[onnx]"\n'
    )
    assert stdout == ""


# ------------------------------------------------------------------ bad input


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _rows(labels):
    """A CSV text with a numeric feature (not an identifier: its values repeat)
    and the given labels."""
    return "x,y\n" + "".join(f"{i % 7},{label}\n" for i, label in enumerate(labels))


DATA_ERRORS = {
    "missing file": (None, [], "no such file: "),
    "directory": ("DIR", [], "is a directory, not a CSV file"),
    "binary garbage": (
        b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x81" * 50,
        [],
        "is not a text CSV file",
    ),
    "parser error": ("x,y\n1,a\n2,b,3,4\n", [], "cannot parse"),
    "empty file": ("", [], "is empty"),
    "header only": ("x,y\n", [], "has a header but no data rows"),
    "unknown target": (
        "x,label\n1,a\n",
        ["--target", "lable"],
        "no column 'lable' in data.csv; its columns are 'x', 'label'; did you "
        "mean 'label'?",
    ),
    "target without values": ("x,y\n1,\n2,\n", [], "'y' of data.csv has no values"),
    "no feature column": ("y\na\nb\n", [], "no feature columns besides the target"),
    "one class": (_rows("a" * 20), [], "has a single class ('a') in all 20 rows"),
    "continuous target": ("x,y\n1,0.5\n2,1.25\n", [], "holds continuous values"),
    "class of one row": (
        _rows("a" * 20 + "b"),
        [],
        "class 'b' of 'y' has 1 row; holding out a stratified test set",
    ),
    "more classes than test rows": (
        _rows("aabbccdd"),
        [],
        "8 rows leave a test set of 2 rows for 4 classes",
    ),
    "infinite value": (
        "x,y\n" + "1,a\n2,b\n" * 20 + "inf,a\n",
        [],
        "column 'x' of data.csv holds inf in row 41, which no scaler can "
        "standardize; replace it with a number, or leave the cell empty for the "
        "column's median",
    ),
    "values beyond float64": (
        "x,y\n" + "1,a\n-1e400,b\n" * 20,
        [],
        "column 'x' of data.csv holds -inf in row 2 (and 19 more rows), which no "
        "scaler can standardize",
    ),
    "a column of 1e300": (
        "x,z,y\n" + "1e300,1,a\n-1e300,2,b\n" * 20,
        [],
        "column 'x' of data.csv holds 1e+300 in row 1 (and 39 more rows), too "
        "large to standardize: over 40 rows the sum of squares overflows float64 "
        "beyond 1.06e+153; rescale the column (to other units, say), or leave it "
        "out with --drop",
    ),
}


@pytest.mark.parametrize("case", DATA_ERRORS, ids=list(DATA_ERRORS))
def test_bad_data_is_one_line_on_stderr_and_exit_1(case, tmp_path):
    content, extra, message = DATA_ERRORS[case]
    path = tmp_path / "data.csv"
    if content == "DIR":
        path.mkdir()
    elif content is not None:
        _write(path, content)
    # the last of a repeated option wins: extra may replace --target or --cv
    args = ["tune", "--csv", str(path), "--target", "y", *TINY[:4], *extra]
    status, stdout, stderr = _run(args)
    assert status == 1
    assert "Traceback" not in stderr
    assert stderr.count("\n") == 1 and stderr.startswith("sknormnet: error: ")
    assert message in stderr.replace(str(tmp_path) + os.sep, "")
    assert "held-out" not in stdout


@pytest.mark.parametrize("folds", ["auto", "5"])
def test_a_class_of_four_rows_gets_a_model(folds, tmp_path):
    # 3 of its rows are left for the search: fewer than the folds asked for
    path = _write(tmp_path / "data.csv", _rows("a" * 40 + "b" * 4))
    args = ["--csv", str(path), "--target", "y", *TINY, "--cv", folds]
    status, stdout, stderr = _run(["tune", *args])
    assert status == 0, stderr
    assert ACCURACY.search(_flat(stdout))
    flat = _flat(stdout)
    fewer = "note: a class has 3 rows, fewer than the 5 folds of the search: 3 folds"
    assert (fewer in flat) == (folds == "5")
    assert flat.count(fewer) <= 1


@pytest.mark.parametrize("earlier", ["model.skops", "cv_results.csv", "search.png"])
def test_out_holding_an_earlier_result_is_refused_before_the_search(earlier, tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    _write(out / earlier, "an earlier result")
    _write(out / "notes.txt", "the user's own file")
    status, stdout, stderr = _run(["tune", *TINY, "--out", str(out)])
    assert status == 1
    assert stderr == (
        f"sknormnet: error: --out {out} holds an earlier result ({earlier}); "
        "choose another directory, or add --force to overwrite it\n"
    )
    assert stdout == ""
    assert (out / earlier).read_text() == "an earlier result"


def _files(directory):
    """The names in ``directory``, temporary files included."""
    return sorted(path.name for path in directory.iterdir())


def test_force_overwrites_an_earlier_result(digits_run, tmp_path):
    tuned = digits_run[4]
    out = tmp_path / "results"
    out.mkdir()
    _write(out / "model.skops", "an earlier result")
    with contextlib.redirect_stdout(io.StringIO()):
        paths = write_outputs(tuned, prepare_out(out, force=True))
    assert [path.name for path in paths] == [
        "model.skops",
        "cv_results.csv",
        "search.png",
        "learning_curve.png",
    ]
    assert _files(out) == sorted(path.name for path in paths)
    model, _ = _load_skops(out / "model.skops")
    X, _ = load_digits(return_X_y=True, as_frame=True)
    assert_array_equal(model.predict(X), tuned.predict(X))


def test_a_write_failure_names_the_file_and_what_was_saved(digits_run, tmp_path):
    # the case: --force over a result whose cv_results.csv is a directory
    tuned = digits_run[4]
    out = tmp_path / "results"
    (out / "cv_results.csv").mkdir(parents=True)
    with contextlib.redirect_stdout(io.StringIO()):
        with pytest.raises(DataError) as error:
            write_outputs(tuned, prepare_out(out, force=True))
    assert str(error.value) == (
        f"--out {out}: cannot write cv_results.csv (Is a directory); saved before "
        "it: model.skops"
    )
    assert _files(out) == ["cv_results.csv", "model.skops"]  # no temporary file
    _load_skops(out / "model.skops")


def test_a_file_is_written_whole_or_left_as_it_was(digits_run, tmp_path, monkeypatch):
    # A write that fails midway (a full disk) leaves the earlier file intact:
    # each file goes to a temporary file, renamed once complete.
    tuned = digits_run[4]
    out = tmp_path / "results"
    out.mkdir()
    _write(out / "model.skops", b"the earlier model")

    def disk_full(obj, file):
        with open(file, "wb") as partial:
            partial.write(b"half a mod")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(skops.io, "dump", disk_full)
    with contextlib.redirect_stdout(io.StringIO()):
        with pytest.raises(DataError) as error:
            write_outputs(tuned, prepare_out(out, force=True))
    assert str(error.value) == (
        f"--out {out}: cannot write model.skops (No space left on device); saved "
        "before it: nothing"
    )
    assert _files(out) == ["model.skops"]
    assert (out / "model.skops").read_bytes() == b"the earlier model"


def test_a_write_failure_in_the_command_is_one_line(tmp_path):
    out = tmp_path / "results"
    (out / "model.skops").mkdir(parents=True)
    status, stdout, stderr = _run(["tune", *TINY, "--out", str(out), "--force"])
    assert status == 1
    assert stderr == (
        f"sknormnet: error: --out {out}: cannot write model.skops (Is a "
        "directory); saved before it: nothing\n"
    )
    assert "held-out test accuracy" in stdout  # the report came first


def test_out_that_is_a_file_fails_before_the_search(tmp_path):
    taken = _write(tmp_path / "taken", "not a directory")
    status, stdout, stderr = _run(["tune", *TINY, "--out", str(taken)])
    assert status == 1
    assert stderr == f"sknormnet: error: --out {taken}: exists and is not a directory\n"
    assert stdout == ""


USAGE_ERRORS = {
    "target without csv": (["--target", "y"], "--target needs --csv PATH"),
    "joblib without out": (["--joblib"], "--joblib needs --out DIR"),
    "onnx without out": (["--onnx"], "--onnx needs --out DIR"),
    "force without out": (["--force"], "--force needs --out DIR"),
    "csv without target": (["--csv", "data.csv"], "--csv needs --target COLUMN"),
    "n-candidates 0": (
        ["--n-candidates", "0"],
        "argument --n-candidates: must be at least 1, got 0",
    ),
    "cv 1": (["--cv", "1"], "argument --cv: must be at least 2, got 1"),
    "cv a word": (["--cv", "many"], "argument --cv: 'many' is not an integer"),
    "ensemble 0": (["--ensemble", "0"], "argument --ensemble: must be at least 1"),
    "training-steps 0": (
        ["--training-steps", "0"],
        "argument --training-steps: must be at least 1, got 0",
    ),
    "n-candidates not an int": (["--n-candidates", "two"], "'two' is not an integer"),
    "time-budget 0": (
        ["--time-budget", "0"],
        "argument --time-budget: must be a finite number of seconds above 0, got 0",
    ),
    "time-budget a word": (
        ["--time-budget", "soon"],
        "argument --time-budget: 'soon' is not a number of seconds",
    ),
    "n-jobs 0": (["--n-jobs", "0"], "argument --n-jobs: 0 runs nothing"),
    "negative seed": (["--random-state", "-1"], "must be at least 0, got -1"),
    "huge seed": (["--random-state", str(2**32)], "must be below 2**32"),
    "misspelt scoring": (
        ["--scoring", "balanced_acuracy"],
        "argument --scoring: 'balanced_acuracy' is not a scikit-learn scorer name; "
        "did you mean 'balanced_accuracy'? sklearn.metrics.get_scorer_names() lists "
        "them all",
    ),
    "unknown scoring": (
        ["--scoring", "zzz"],
        "argument --scoring: 'zzz' is not a scikit-learn scorer name; "
        "sklearn.metrics.get_scorer_names() lists them all",
    ),
    "drop without a column": (["--drop"], "argument --drop: expected at least one"),
    "factor 1": (
        ["--factor", "1"],
        "argument --factor: must be a finite number greater than 1, got 1",
    ),
    "factor not a number": (
        ["--factor", "x"],
        "argument --factor: 'x' is not a number",
    ),
    **{
        f"factor {value}": (
            ["--factor", value],
            f"argument --factor: must be a finite number greater than 1, got {value}",
        )
        for value in ["inf", "Infinity", "1e400", "nan", "1.0", "0.5"]
    },
    **{
        f"csv {url}": (
            ["--csv", url, "--target", "y"],
            f"argument --csv: {url!r} is a URL; sknormnet tune reads local files "
            "only: download the file and give its path",
        )
        for url in [
            "https://example.com/data.csv",
            "http://example.com/data.csv",
            "HTTP://example.com/data.csv",
            "ftp://example.com/data.csv",
            "s3://bucket/data.csv",
            "gcs://bucket/data.csv",
            "file:///tmp/data.csv",
            "http:data.csv",
        ]
    },
}


@pytest.mark.parametrize("case", USAGE_ERRORS, ids=list(USAGE_ERRORS))
def test_usage_errors_exit_2_with_argparse_message(case, monkeypatch):
    def nothing_is_read(*args, **kwargs):
        raise AssertionError("a usage error reads no file and fetches no URL")

    monkeypatch.setattr(pd, "read_csv", nothing_is_read)
    args, message = USAGE_ERRORS[case]
    status, stdout, stderr = _run(["tune", *args])
    assert status == 2
    assert stderr.startswith("usage: sknormnet tune")
    assert stderr.splitlines()[-1].startswith("sknormnet tune: error: ")
    assert message in stderr.splitlines()[-1]
    assert "Traceback" not in stderr
    assert stdout == ""


@pytest.mark.parametrize("name", ["data:2024.csv", "a b.csv", "c:d.csv"])
def test_csv_takes_local_paths_that_look_like_urls_to_no_one(name, tmp_path):
    path = _write(tmp_path / name, "x,y\n" + "1,a\n2,b\n" * 40)
    args = ["--csv", str(path), "--target", "y", *TINY]
    status, stdout, stderr = _run(["tune", *args])
    assert status == 0, stderr
    assert _flat(stdout).startswith(f"data: {path}, 80 rows")


def test_a_command_is_required():
    status, _, stderr = _run([])
    assert status == 2
    assert "sknormnet: error: the following arguments are required: COMMAND" in stderr


def test_interrupt_exits_130(monkeypatch):
    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("sknormnet._cli.tune", interrupted)
    status, _, stderr = _run(["tune"])
    assert (status, stderr) == (130, "sknormnet: interrupted\n")


# ----------------------------------------------------------------- help, version


def test_help_and_version():
    status, stdout, _ = _run(["--help"])
    assert status == 0 and stdout.startswith("usage: sknormnet ")
    assert "tune" in stdout
    status, stdout, _ = _run(["tune", "--help"])
    assert status == 0
    for option in (
        "--csv PATH",
        "--target COLUMN",
        "--time-budget SECONDS",
        "--n-candidates N",
        "--ensemble K",
        "--n-jobs N",
        "--cv K",
        "--random-state SEED",
        "--training-steps N",
        "--rungs",
        "--factor F",
        "--out DIR",
        "--joblib",
        "--onnx",
        "--scoring NAME",
        "--drop COLUMN [COLUMN ...]",
    ):
        assert option in stdout
    assert "(default: accuracy)" in stdout
    assert "(default: auto)" in _flat(stdout) and "(default: 1500)" in stdout
    assert "(default: None)" not in stdout
    status, stdout, _ = _run(["--version"])
    assert (status, stdout) == (0, f"sknormnet {sknormnet.__version__}\n")


def test_the_examples_of_help_print_as_written():
    # Read as a shell reads them: a line ending in a backslash goes on in the
    # next one. Each example is a command that the parser takes, and each of
    # its lines fits the terminal, as written.
    status, stdout, _ = _run(["tune", "--help"], columns=80)
    assert status == 0
    lines = stdout.partition("\nexamples:\n")[2].splitlines()
    assert lines and all(len(line) <= 80 for line in lines)
    commands = "\n".join(lines).replace("\\\n", "").splitlines()
    _, tune_parser = _build_parser()
    for command in commands:
        words = shlex.split(command)
        assert words[:2] == ["sknormnet", "tune"], command
        tune_parser.parse_args(words[2:])


def test_the_example_of_main_runs():
    # pytest's --doctest-modules leaves __main__.py out; run its examples here
    results = doctest.testmod(importlib.import_module("sknormnet.__main__"))
    assert (results.attempted, results.failed) == (2, 0)


def test_python_dash_m_help_in_a_subprocess(run_python):
    result = run_python("-m", "sknormnet", "tune", "--help", timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: sknormnet tune")
    assert "--time-budget SECONDS" in result.stdout


def test_python_dash_m_tune_in_a_subprocess(run_python):
    result = run_python("-m", "sknormnet", "tune", *TINY)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert len(ROUND_LINE.findall(result.stdout)) == 2
    match = ACCURACY.search(result.stdout)
    assert match and 0.0 <= float(match.group(1)) <= 1.0


HEAVY = ("sklearn", "pandas", "numba", "scipy", "numpy", "joblib")


@pytest.mark.parametrize("args", [["tune", "--help"], ["--version"], ["tune", "-x"]])
def test_help_imports_none_of_the_heavy_libraries(run_python, args):
    # -X importtime lists on stderr every module the command imports
    result = run_python("-X", "importtime", "-m", "sknormnet", *args, timeout=120)
    assert result.returncode in (0, 2), result.stderr[-2000:]
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "sknormnet" in imported  # the listing was read
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_bad_input_in_a_subprocess_is_one_line_without_traceback(run_python):
    result = run_python(
        "-m", "sknormnet", "tune", "--csv", "no.csv", "--target", "y", timeout=120
    )
    assert result.returncode == 1
    assert result.stderr == "sknormnet: error: no such file: no.csv\n"


# ------------------------------------------------------------------ the pieces


def test_an_infinite_value_in_a_held_out_row_stops_before_the_search(tmp_path):
    # The row is one of those held out to measure the tuned model, which the
    # search never sees: it is caught when the table is read all the same.
    y = pd.Series(list("ab" * 40), name="y")
    held_out = train_test_split(y, test_size=TEST_SIZE, stratify=y, random_state=0)
    row = int(held_out[1].index[0])
    x = np.arange(80) % 7 + 0.5
    x[row] = np.inf
    path = tmp_path / "data.csv"
    pd.DataFrame({"x": x, "y": y}).to_csv(path, index=False)
    out = tmp_path / "results"
    status, stdout, stderr = _run(
        ["tune", "--csv", str(path), "--target", "y", *TINY, "--out", str(out)]
    )
    assert status == 1
    assert stderr == (
        f"sknormnet: error: column 'x' of {path} holds inf in row {row + 1}, which "
        "no scaler can standardize; replace it with a number, or leave the cell "
        "empty for the column's median\n"
    )
    assert "search:" not in stdout
    assert list(out.iterdir()) == []


def test_every_fit_failing_is_one_line_with_the_last_error(tmp_path, monkeypatch):
    def broken(self, X, y, **kwargs):
        raise ValueError("the network cannot train here")

    monkeypatch.setattr(MLPBatchNormClassifier, "fit", broken)
    # the steps before the search train networks too
    monkeypatch.setattr("sknormnet._cli.warm_up_kernels", lambda: False)
    monkeypatch.setattr("sknormnet._cli._check_scoring_applies", lambda *args: None)
    status, stdout, stderr = _run(["tune", *TINY])
    assert status == 1
    assert stderr == (
        "sknormnet: error: the search could not train the network: All the 8 fits "
        "failed. The last error: ValueError: the network cannot train here\n"
    )
    assert "held-out" not in stdout


@pytest.mark.parametrize(
    "column, labels",
    [
        ("True,False,,True", [False, True]),
        ("1,2,,2", [1, 2]),
        ("yes,no,,no", ["no", "yes"]),
    ],
    ids=["booleans", "integers", "strings"],
)
def test_a_target_with_gaps_keeps_the_type_of_its_values(column, labels, tmp_path):
    values = column.split(",")
    rows = "".join(f"{i % 7},{values[i % 4]}\n" for i in range(80))
    path = _write(tmp_path / "data.csv", "x,y\n" + rows)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model, _ = tune(csv=str(path), target="y", **TINY_ARGUMENTS)
    assert "note: dropped 20 rows without a value of 'y'" in out.getvalue()
    classes = model.classes_
    assert classes.tolist() == labels
    first = classes[0].item() if isinstance(classes[0], np.generic) else classes[0]
    assert type(first) is type(labels[0])


# A search of three rounds of three candidates on iris, a few seconds at most.
SMALL_SEARCH = {
    "param_distributions": {"alpha": loguniform(1e-3, 1e3)},
    "n_iter": 3,
    "n_rounds": 3,
    "cv": 3,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def small_search():
    X, y = load_iris(return_X_y=True)
    return CoarseToFineSearchCV(RidgeClassifier(), **SMALL_SEARCH).fit(X, y)


def test_rungs_train_candidates_in_rungs_and_the_report_shows_them(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model, _ = tune(**TINY_ARGUMENTS, rungs=True, factor=3)
    stdout = out.getvalue()
    search = model.search_
    assert search.resource == "mlp__max_iter" and search.factor == 3
    epochs = search.estimator["mlp"].max_iter
    resources = search.cv_results_["n_resources"]
    assert resources.max() == epochs and resources.min() < epochs
    # three times the candidates of TINY's rounds; the ensemble of the best
    # of those trained fully
    assert search.n_candidates_ == [12, 6]
    assert (resources[model.ensemble_candidates_] == epochs).all()
    assert "in rungs of growing epochs, 1/3 promoted at each" in _flat(stdout)
    table = rounds_table(search)
    assert table["candidates"].tolist() == [12, 6]
    full = resources == epochs
    rounds = search.cv_results_["round"]
    assert table["trained fully"].tolist() == [
        np.sum(full & (rounds == number)) for number in (0, 1)
    ]
    header = next(line for line in stdout.splitlines() if "trained fully" in line)
    assert header.split()[:3] == ["round", "candidates", "trained"]
    assert not _too_wide(stdout, 80)


def test_rounds_table(small_search):
    table = rounds_table(small_search)
    assert list(table.columns) == [
        "round",
        "candidates",
        "best of the round",
        "best so far",
    ]
    scores = small_search.cv_results_["mean_test_score"]
    assert table["round"].tolist() == [0, 1, 2]
    assert table["candidates"].tolist() == [3, 3, 3]
    assert table["best of the round"].tolist() == [
        scores[3 * r : 3 * r + 3].max() for r in range(3)
    ]
    assert table["best so far"].tolist() == [
        scores[: 3 * r + 3].max() for r in range(3)
    ]
    assert table["best so far"].iloc[-1] == small_search.best_score_


def test_spaces_table(small_search):
    # the first and the last rounds: the one in between narrows from one
    # to the other
    table = spaces_table(small_search)
    assert list(table.columns) == ["parameter", "round", "sampled from"]
    assert table["parameter"].tolist() == ["alpha", ""]
    assert table["round"].tolist() == ["0", "2"]
    spaces = small_search.search_spaces_
    assert table["sampled from"].tolist() == [
        spaces[0]["alpha"].describe(),
        spaces[2]["alpha"].describe(),
    ]
    assert table["sampled from"].iloc[0] == "0.001..1e+03"


def test_spaces_table_breaks_long_descriptions_between_values(small_search):
    search = copy.copy(small_search)
    values = [2**k for k in range(5, 16)]
    weights = np.arange(1.0, 12.0)
    search.search_spaces_ = [
        {"mlp__batch_size": values},
        {"mlp__batch_size": categorical(values, p=weights)},
    ]
    table = spaces_table(search, width=MIN_WIDTH)
    text = table.to_string(index=False)
    assert not _too_wide(text, MIN_WIDTH)
    # a value and its probability stay on one line
    first = table["round"].tolist().index("1")
    described = " ".join(table["sampled from"].iloc[first:])
    probabilities = weights / weights.sum()
    assert described == ", ".join(
        f"{v} ({w:.0%})" for v, w in zip(values, probabilities)
    )
    assert table["parameter"].tolist()[:2] == ["batch_size", ""]
    assert table["round"].tolist()[0] == "0" and "1" in table["round"].tolist()


def test_the_report_shows_rounds_where_every_fit_failed(digits_run, monkeypatch):
    model = copy.copy(digits_run[4])
    search = model.search_ = copy.copy(model.search_)
    results = search.cv_results_ = dict(search.cv_results_)
    failed = results["round"] == 1
    scores = np.where(failed, np.nan, results["mean_test_score"])
    results["mean_test_score"] = scores
    model.ensemble_candidates_ = np.argsort(np.where(failed, np.inf, -scores))[:2]
    table = rounds_table(search)
    assert np.isnan(table["best of the round"].iloc[1])
    assert table["best so far"].iloc[1] == np.nanmax(scores)
    monkeypatch.setenv("COLUMNS", "80")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_report(model, "accuracy", 0.5, 10)
    lines = out.getvalue().splitlines()
    assert lines[1] == "rounds, by CV accuracy (the mean over 2 folds):"
    assert lines[2].split()[:2] == ["round", "candidates"]
    assert lines[4].split()[:4] == ["1", "2", "n/a", f"{np.nanmax(scores):.4f}"]
    assert "held-out test accuracy: 0.5000 (10 rows)" in lines


# ------------------------------------------------------------ metric, columns


def test_scoring_roc_auc_on_several_classes_fails_before_the_search():
    status, stdout, stderr = _run(["tune", *TINY, "--scoring", "roc_auc"])
    assert status == 1
    assert stderr.startswith(
        "sknormnet: error: --scoring roc_auc cannot score this classifier: "
    )
    assert stderr.rstrip().endswith(
        "choose a classification metric, such as accuracy, balanced_accuracy, "
        "f1_macro or neg_log_loss"
    )
    assert stderr.count("\n") == 1
    assert "Fitting" not in stdout and "rounds, by CV" not in stdout


def _balanced_binary(n_rows=40):
    return pd.Series(["a", "b"] * (n_rows // 2), name="y")


@pytest.mark.parametrize(
    "y, scoring, expected",
    [
        (pd.Series(list("aaabbbccc")), "accuracy", None),
        (_balanced_binary(), "accuracy", "for a binary target --scoring roc_auc"),
        (
            pd.Series(list("a" * 30 + "b" * 10 + "c" * 5)),
            "accuracy",
            "imbalanced (from 67% to 11% of the rows), and --scoring "
            "balanced_accuracy would weigh them equally",
        ),
        (pd.Series(list("a" * 30 + "b" * 5)), "f1_macro", None),
    ],
)
def test_the_metric_is_named_for_binary_and_imbalanced_targets(y, scoring, expected):
    note = _note_the_metric(y, "y", scoring)
    if expected is None:
        assert note is None
    else:
        assert note.startswith("note: scoring by accuracy")
        assert expected in note


def test_drop_leaves_out_the_columns_it_names(tmp_path):
    path = tmp_path / "data.csv"
    _mixed_table().to_csv(path, index=False)
    args = ["tune", "--csv", str(path), "--target", "label", *TINY]
    status, stdout, stderr = _run([*args, "--drop", "visits", "plan"])
    assert status == 0, stderr
    flat = _flat(stdout)
    assert "note: dropped 'visits': as --drop asks" in flat
    assert "note: dropped 'plan': as --drop asks" in flat
    assert "1 numeric, 2 categorical feature columns" in flat


DROP_ERRORS = {
    "unknown column": (
        ["--drop", "incme"],
        "--drop 'incme': no such column in data.csv; did you mean 'income'?",
    ),
    "the target": (
        ["--drop", "label"],
        "--drop 'label': that is the target column; --target names the column to "
        "predict, --drop the features to leave out",
    ),
    "every column": (
        ["--drop", "income", "visits", "plan", "member", "city"],
        "no feature columns left in data.csv: all were dropped (see the notes "
        "above); give a table with columns that describe the rows",
    ),
}


@pytest.mark.parametrize("case", DROP_ERRORS, ids=list(DROP_ERRORS))
def test_drop_errors_are_one_line(case, tmp_path):
    extra, message = DROP_ERRORS[case]
    path = tmp_path / "data.csv"
    _mixed_table().to_csv(path, index=False)
    args = ["tune", "--csv", str(path), "--target", "label", *TINY, *extra]
    status, _, stderr = _run(args)
    assert status == 1
    assert stderr.replace(str(tmp_path) + os.sep, "") == (
        f"sknormnet: error: {message}\n"
    )


# --------------------------------------------------------------- compiling


def test_the_compiling_notice_is_said_while_the_warm_up_runs():
    told, said = [], threading.Event()

    def tell(text):
        told.append(text)
        said.set()

    # the warm-up lasts until the notice is said: patience 0 must say it
    assert warm_up_kernels(0.0, warm_up=lambda: said.wait(60), tell=tell)
    assert told == [
        "note: compiling sknormnet's kernels for this machine; this happens once, "
        "and takes a minute or two"
    ]


def test_the_compiling_notice_is_not_said_when_the_kernels_load_at_once():
    told = []
    assert not warm_up_kernels(60.0, warm_up=lambda: None, tell=told.append)
    assert told == []


def test_an_error_of_the_warm_up_is_not_hidden():
    def broken():
        raise RuntimeError("numba failed")

    with pytest.raises(RuntimeError, match="numba failed"):
        warm_up_kernels(60.0, warm_up=broken, tell=print)


def test_write_outputs_without_matplotlib(digits_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        paths = write_outputs(digits_run[4], tmp_path)
    assert [p.name for p in paths] == ["model.skops", "cv_results.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cv_results.csv",
        "model.skops",
    ]
    assert "matplotlib is not installed" in out.getvalue()


# ----------------------------------------------------- the README's main job


def _repository_file(name):
    return os.path.join(os.path.dirname(os.path.dirname(__file__)), name)


def test_the_readme_main_job_is_the_tune_command_of_the_console_script():
    # .ci/run runs the README's set-up lines; here we check that the first is
    # `sknormnet tune` and that the console script it calls is this main().
    with open(_repository_file("README.md"), encoding="utf-8") as readme:
        text = readme.read()
    block = text.split("<!-- set-up commands", 1)[1].split("```bash", 1)[1]
    commands = block.split("```", 1)[0].strip().splitlines()
    assert len(commands) == 2
    assert commands[0].endswith("&& sknormnet tune --out results")
    assert "pytest" in commands[1]

    with open(_repository_file("pyproject.toml"), encoding="utf-8") as pyproject:
        scripts = pyproject.read().split("[project.scripts]", 1)[1]
    entry = re.search(r'^sknormnet = "([\w.]+):(\w+)"$', scripts, re.MULTILINE)
    assert entry, "no sknormnet console script in pyproject.toml"
    module, function = entry.groups()
    assert getattr(importlib.import_module(module), function) is main


def test_the_readme_loads_the_main_jobs_model_as_it_says(digits_run, tmp_path):
    with open(_repository_file("README.md"), encoding="utf-8") as readme:
        text = readme.read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    (block,) = [block for block in blocks if "results/model.skops" in block]
    (tmp_path / "results").mkdir()
    shutil.copy(digits_run[3] / "model.skops", tmp_path / "results")
    namespace = {}
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stdout(io.StringIO()),
    ):
        patch.chdir(tmp_path)
        exec(block, namespace)
    X, y = load_digits(return_X_y=True, as_frame=True)
    assert namespace["model"].score(X, y) == digits_run[4].score(X, y)


# ---------------------------------------------------------------------- Ctrl-C


def _tune_until_the_first_round(tmp_path, out):
    """Run ``sknormnet tune`` in a subprocess, press Ctrl-C as soon as the
    first round's line appears, and return the exit status, stdout, stderr."""
    environment = dict(os.environ, MPLBACKEND="Agg", COLUMNS="80")
    environment.pop("SCIPY_ARRAY_API", None)
    # rounds of 4, then 2 candidates: Ctrl-C comes early in the second
    budget = [*TINY[:2], "--n-candidates", "12", *TINY[4:6], "--training-steps", "300"]
    budget += ["--ensemble", "2", "--n-jobs", "1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "sknormnet", "tune", *budget, "--out", str(out)],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        if ROUND_LINE.match(line):
            process.send_signal(signal.SIGINT)
            break
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, "".join(lines) + stdout, stderr


def test_ctrl_c_stops_tune_reports_saves_the_finished_rounds_and_exits_130(
    tmp_path,
):
    out = tmp_path / "results"
    status, stdout, stderr = _tune_until_the_first_round(tmp_path, out)
    assert status == 130
    # wrapped to the terminal's 80 columns, as the report's lines are
    assert _flat(stderr).startswith(
        "sknormnet: interrupted: the search stopped after 1 round; the report "
        "covers their 4 candidates, saved to "
    )
    assert "Traceback" not in stderr and not _too_wide(stderr, 80)
    assert stderr.count("\n") > 1
    assert len(ROUND_LINE.findall(stdout)) == 1
    assert ACCURACY.search(stdout)
    results = pd.read_csv(out / "cv_results.csv")
    assert (results["round"] == 0).all() and len(results) == 4
    assert np.isfinite(results["mean_test_score"]).all()
