"""The command line: ``sknormnet tune`` end to end, its reports, its errors."""

import contextlib
import copy
import doctest
import importlib
import io
import os
import re
import signal
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, load_iris
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import StratifiedKFold, train_test_split

import sknormnet
from sknormnet import MLPBatchNormClassifier
from sknormnet.__main__ import main
from sknormnet._cli import (
    TEST_SIZE,
    print_report,
    rounds_table,
    tune,
    write_outputs,
)
from sknormnet.distributions import as_distribution, loguniform
from sknormnet.model_selection import CoarseToFineSearchCV

# A budget of a few seconds: 2 rounds of 2 candidates, 2 folds, 5 epochs.
TINY = ["--rounds", "2", "--n-iter", "2", "--cv", "2", "--max-iter", "5"]
ACCURACY = re.compile(r"held-out test accuracy: (\d\.\d{4}) \((\d+) rows\)")
ROUND_LINE = re.compile(
    r"^round (\d+): (\d+)/(\d+) candidates done, best CV score so far (\d\.\d{4}) \| "
    r"(.*)$",
    re.MULTILINE,
)


def _run(argv):
    """``main(argv)`` with its exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


OLD_SKLEARN_REMAINDER = "sklearn.compose._column_transformer._RemainderColsList"
SKLEARN_VERSION = tuple(int(part) for part in sklearn.__version__.split(".")[:2])


def _documented_trusted_types():
    """The list of types the page of the command line tells users to trust
    when loading ``model.skops``."""
    with open(_repository_file("docs/cli.rst"), encoding="utf-8") as page:
        text = page.read()
    block = re.search(r"^ +trusted = \[\n(.*?)^ +\]", text, re.MULTILINE | re.DOTALL)
    assert block, "no `trusted = [...]` list in docs/cli.rst"
    return re.findall(r'"([\w.]+)",', block.group(1))


def _load_skops(path):
    """The model saved at ``path``, loaded as the documentation says; checks
    that the file asks to trust only public names of sknormnet."""
    skops_io = pytest.importorskip("skops.io")
    untrusted = skops_io.get_untrusted_types(file=path)
    trusted = _documented_trusted_types()
    if SKLEARN_VERSION < (1, 7):
        # the page's note for older scikit-learn
        trusted.append(OLD_SKLEARN_REMAINDER)
    assert set(untrusted) <= set(trusted)
    for name in untrusted:
        if name in ("numpy.dtype", OLD_SKLEARN_REMAINDER):
            continue  # types of numpy's and scikit-learn's, see the page
        module, _, attribute = name.rpartition(".")
        assert module.split(".")[0] == "sknormnet", name
        value = getattr(importlib.import_module(module), attribute)
        public = getattr(sknormnet, attribute, None) is value or (
            not any(part.startswith("_") for part in module.split("."))
            and attribute in importlib.import_module(module).__all__
        )
        assert public, f"{name} is not a public name of sknormnet"
    return skops_io.load(path, trusted=trusted), untrusted


def _range(line, name):
    """The ``low..high`` range of ``name`` in a progress line, as two floats."""
    match = re.search(rf"{name} ([-+.\de]+)\.\.([-+.\de]+)", line)
    assert match, f"no range of {name} in {line!r}"
    return float(match.group(1)), float(match.group(2))


# ----------------------------------------------------------- digits, end to end


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """The exit status, stdout, stderr, output directory and search of a run."""
    out = tmp_path_factory.mktemp("cli") / "results"
    searches = []

    def keep_the_search(**kwargs):
        search, accuracy = tune(**kwargs)
        searches.append(search)
        return search, accuracy

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sknormnet.__main__.tune", keep_the_search)
        status, stdout, stderr = _run(["tune", *TINY, "--out", str(out)])
    return status, stdout, stderr, out, searches[0] if searches else None


def test_tune_on_digits_succeeds_and_prints_the_accuracy(digits_run):
    status, stdout, stderr, _, _ = digits_run
    assert status == 0, stderr
    assert "Traceback" not in stderr
    assert stdout.startswith("data: scikit-learn's digits, 1797 rows, 64 numeric")
    match = ACCURACY.search(stdout)
    assert match, stdout
    assert 0.0 <= float(match.group(1)) <= 1.0
    assert int(match.group(2)) == 450  # a quarter of 1797, rounded up


def test_tune_prints_one_progress_line_per_round(digits_run):
    _, stdout, _, _, _ = digits_run
    lines = [m.group(0) for m in ROUND_LINE.finditer(stdout)]
    assert [m.groups()[:3] for m in ROUND_LINE.finditer(stdout)] == [
        ("0", "2", "4"),
        ("1", "4", "4"),
    ]
    for line in lines:
        for name in ("learning_rate_init", "beta_1", "batch_size"):
            assert f"mlp__{name} " in line
        assert "mlp__hidden_layer_sizes 1 x " in line
    # round 0 samples the whole space; round 1 a narrower one, inside it
    assert _range(lines[0], "learning_rate_init") == (0.0001, 1.0)
    low, high = _range(lines[1], "learning_rate_init")
    assert 0.0001 <= low < high <= 1.0
    assert high / low < 1e4
    # each round's line follows scikit-learn's line about its fits, and the
    # progress comes before the final report
    fits = "Fitting 2 folds for each of 2 candidates, totalling 4 fits\n"
    assert stdout.count(fits) == 2
    assert stdout.index(fits) < stdout.index(lines[0])
    assert stdout.index(lines[-1]) < stdout.index("best parameters")


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
    _, stdout, _, _, _ = digits_run
    header, rows = _table(stdout)
    assert re.match(
        r"^ *round +candidates +best \(round\) +best \(so far\) +"
        r"learning_rate_init +beta_1 +batch_size +hidden_layer_sizes$",
        header,
    )
    assert [row[:2] for row in rows] == [["0", "2"], ["1", "2"]]
    best_so_far = [float(row[3]) for row in rows]
    assert best_so_far[1] >= best_so_far[0]
    assert best_so_far[1] == max(float(row[2]) for row in rows)
    assert rows[0][4] == "0.0001..1"
    best = stdout[stdout.index("best parameters") :]
    for name in ("learning_rate_init", "beta_1", "batch_size", "hidden_layer_sizes"):
        assert re.search(rf"^  {name} +\S", best, re.MULTILINE), best
    assert f"(CV score {best_so_far[1]:.4f}, round" in best


def test_tune_writes_results_model_and_plots(digits_run):
    _, stdout, _, out, search = digits_run
    expected = ["cv_results.csv", "model.skops", "search.png", "learning_curve.png"]
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)
    assert f"wrote to {out}: {', '.join(expected)}" in stdout
    results = pd.read_csv(out / "cv_results.csv")
    assert results["round"].tolist() == [0, 0, 1, 1]
    assert "param_mlp__learning_rate_init" in results
    model, untrusted = _load_skops(out / "model.skops")
    assert "sknormnet._mlp.MLPBatchNormClassifier" in untrusted
    X, y = load_digits(return_X_y=True, as_frame=True)
    predictions = model.predict(X.head(50))
    assert set(predictions) <= set(range(10))
    assert model.score(X, y) > 0.5
    assert_array_equal(model.predict_proba(X), search.best_estimator_.predict_proba(X))
    assert "model.joblib" not in stdout
    for name in ("search.png", "learning_curve.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -------------------------------------------------------------- CSV, end to end


def _mixed_table(n_rows=160, seed=0):
    """Numeric, text and boolean columns with gaps; the label depends on both kinds."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
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
    _mixed_table().to_csv(path, index=False)
    out = tmp_path / "out"
    args = ["--csv", str(path), "--target", "label", "--out", str(out), "--joblib"]
    status, stdout, stderr = _run(["tune", *args, *TINY])
    assert status == 0, stderr
    assert "note: dropped 2 rows without a value of 'label'" in stdout
    assert "note: ignored columns without any value: ['notes']" in stdout
    assert "158 rows, 2 numeric, 2 categorical feature columns, 2 classes" in stdout
    assert len(ROUND_LINE.findall(stdout)) == 2
    match = ACCURACY.search(stdout)
    assert match and 0.0 <= float(match.group(1)) <= 1.0

    # --joblib writes a pickle besides model.skops, with a one-line warning
    warning = (
        "warning: model.joblib is a pickle, and loading a pickle runs code: load it "
        "only from a source you trust (model.skops loads safely)\n"
    )
    assert stdout.count(warning) == 1
    assert (
        "wrote to " + str(out) + ": cv_results.csv, model.skops, model.joblib" in stdout
    )
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
        }
    )
    assert set(model.predict(new)) <= {"buys", "leaves"}
    assert model.predict_proba(new).shape == (3, 2)
    assert_array_equal(pickled.predict_proba(new), model.predict_proba(new))


# ------------------------------------------------------------------ ONNX


def test_tune_exports_onnx_that_computes_the_saved_probabilities(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("skl2onnx")
    out = tmp_path / "results"
    tiny = ["--rounds", "1", "--n-iter", "1", "--cv", "2", "--max-iter", "3"]
    status, stdout, stderr = _run(["tune", *tiny, "--out", str(out), "--onnx"])
    assert status == 0, stderr
    assert f"wrote to {out}: cv_results.csv, model.skops, model.onnx, " in stdout
    model, _ = _load_skops(out / "model.skops")
    X, y = load_digits(return_X_y=True, as_frame=True)
    _, X_test = train_test_split(X, test_size=TEST_SIZE, stratify=y, random_state=0)
    # as docs/user_guide/deploying.rst serves it: one input per column
    session = onnxruntime.InferenceSession(
        str(out / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    feeds = {
        node.name: X_test[[column]].to_numpy(np.float32)
        for node, column in zip(session.get_inputs(), X_test.columns)
    }
    labels, probabilities = session.run(["label", "probabilities"], feeds)
    assert_allclose(probabilities, model.predict_proba(X_test), rtol=0, atol=1e-5)
    assert_array_equal(labels, model.classes_[probabilities.argmax(axis=1)])


def test_onnx_with_non_numeric_columns_fails_before_the_search(tmp_path):
    pytest.importorskip("skl2onnx")
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
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    status, stdout, stderr = _run(["tune", "--out", str(tmp_path), "--onnx"])
    assert status == 1
    assert stderr == (
        "sknormnet: error: --onnx needs skl2onnx (skl2onnx is missing); "
        'pip install "sknormnet[onnx]"\n'
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
    """A CSV text with a numeric feature and the given labels."""
    return "x,y\n" + "".join(f"{i},{label}\n" for i, label in enumerate(labels))


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
    "class smaller than cv": (
        _rows("a" * 30 + "b" * 4),
        ["--cv", "5"],
        "too few rows for --cv 5: class 'b' has 3 rows in the training split",
    ),
    "fold too small for early stopping": (
        _rows("a" * 30 + "b" * 4),
        ["--cv", "2"],
        "--cv 2: the classifier cannot train on a training fold of 12 rows: "
        "early_stopping needs a stratified validation set",
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
    "csv without target": (["--csv", "data.csv"], "--csv needs --target COLUMN"),
    "rounds 0": (["--rounds", "0"], "argument --rounds: must be at least 1, got 0"),
    "n-iter 0": (["--n-iter", "0"], "argument --n-iter: must be at least 1, got 0"),
    "cv 1": (["--cv", "1"], "argument --cv: must be at least 2, got 1"),
    "max-iter 0": (["--max-iter", "0"], "argument --max-iter: must be at least 1"),
    "rounds not an int": (["--rounds", "two"], "'two' is not an integer"),
    "priority 4": (["--priority", "4"], "argument --priority: invalid choice: 4"),
    "n-jobs 0": (["--n-jobs", "0"], "argument --n-jobs: 0 runs nothing"),
    "negative seed": (["--random-state", "-1"], "must be at least 0, got -1"),
    "huge seed": (["--random-state", str(2**32)], "must be below 2**32"),
}


@pytest.mark.parametrize("case", USAGE_ERRORS, ids=list(USAGE_ERRORS))
def test_usage_errors_exit_2_with_argparse_message(case):
    args, message = USAGE_ERRORS[case]
    status, stdout, stderr = _run(["tune", *args])
    assert status == 2
    assert stderr.startswith("usage: sknormnet tune")
    assert stderr.splitlines()[-1].startswith("sknormnet tune: error: ")
    assert message in stderr.splitlines()[-1]
    assert "Traceback" not in stderr
    assert stdout == ""


def test_a_command_is_required():
    status, _, stderr = _run([])
    assert status == 2
    assert "sknormnet: error: the following arguments are required: COMMAND" in stderr


def test_interrupt_exits_130(monkeypatch):
    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("sknormnet.__main__.tune", interrupted)
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
        "--rounds N",
        "--n-iter N",
        "--priority {1,2,3}",
        "--n-jobs N",
        "--cv K",
        "--random-state SEED",
        "--max-iter EPOCHS",
        "--out DIR",
        "--joblib",
        "--onnx",
    ):
        assert option in stdout
    assert "(default: 3)" in stdout
    assert "(default: None)" not in stdout
    status, stdout, _ = _run(["--version"])
    assert (status, stdout) == (0, f"sknormnet {sknormnet.__version__}\n")


def test_the_example_of_main_runs():
    # pytest's --doctest-modules leaves __main__.py out; run its examples here
    results = doctest.testmod(importlib.import_module("sknormnet.__main__"))
    assert (results.attempted, results.failed) == (2, 0)


def test_python_dash_m_help_in_a_subprocess(run_python):
    result = run_python("-m", "sknormnet", "tune", "--help", timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: sknormnet tune")
    assert "--max-iter EPOCHS" in result.stdout


def test_python_dash_m_tune_in_a_subprocess(run_python):
    tiny = ["--rounds", "1", "--n-iter", "1", "--cv", "2", "--max-iter", "3"]
    result = run_python("-m", "sknormnet", "tune", *tiny)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert len(ROUND_LINE.findall(result.stdout)) == 1
    match = ACCURACY.search(result.stdout)
    assert match and 0.0 <= float(match.group(1)) <= 1.0


def test_bad_input_in_a_subprocess_is_one_line_without_traceback(run_python):
    result = run_python(
        "-m", "sknormnet", "tune", "--csv", "no.csv", "--target", "y", timeout=120
    )
    assert result.returncode == 1
    assert result.stderr == "sknormnet: error: no such file: no.csv\n"


# ------------------------------------------------------------------ the pieces


def test_a_fold_too_small_for_early_stopping_reports_the_classifier_error(tmp_path):
    labels = "a" * 30 + "b" * 4
    path = _write(tmp_path / "data.csv", _rows(labels))
    args = ["tune", "--csv", str(path), "--target", "y", *TINY[:4], "--cv", "2"]
    status, stdout, stderr = _run(args)
    assert status == 1
    assert "Traceback" not in stderr and stderr.count("\n") == 1
    # the classifier's own error on the first training fold of the search
    y = pd.Series(list(labels))
    y_train = train_test_split(y, test_size=0.25, stratify=y, random_state=0)[0]
    train, _ = next(StratifiedKFold(2).split(np.zeros(len(y_train)), y_train))
    with pytest.raises(ValueError) as error:
        MLPBatchNormClassifier(early_stopping=True).fit(
            np.zeros((len(train), 1)), y_train.iloc[train]
        )
    assert "early_stopping" in str(error.value)
    assert str(error.value).rstrip(".") in stderr
    assert stderr.rstrip().endswith("; with sknormnet tune, give more rows")
    assert "search:" not in stdout


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


def test_rounds_table(small_search):
    table = rounds_table(small_search)
    assert list(table.columns) == [
        "round",
        "candidates",
        "best (round)",
        "best (so far)",
        "alpha",
    ]
    scores = small_search.cv_results_["mean_test_score"]
    assert table["round"].tolist() == [0, 1, 2]
    assert table["candidates"].tolist() == [3, 3, 3]
    assert table["best (round)"].tolist() == [
        scores[3 * r : 3 * r + 3].max() for r in range(3)
    ]
    assert table["best (so far)"].tolist() == [
        scores[: 3 * r + 3].max() for r in range(3)
    ]
    assert table["best (so far)"].iloc[-1] == small_search.best_score_
    assert table["alpha"].tolist() == [
        as_distribution(space["alpha"]).describe()
        for space in small_search.search_spaces_
    ]
    assert table["alpha"].iloc[0] == "0.001..1e+03"


def test_rounds_table_shows_rounds_where_every_fit_failed(small_search):
    search = copy.copy(small_search)
    search.cv_results_ = dict(small_search.cv_results_)
    scores = np.array(search.cv_results_["mean_test_score"], dtype=float)
    scores[3:6] = np.nan
    search.cv_results_["mean_test_score"] = scores
    table = rounds_table(search)
    assert np.isnan(table["best (round)"].iloc[1])
    assert table["best (so far)"].iloc[1] == scores[:3].max()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_report(search, 0.5, 10)
    lines = out.getvalue().splitlines()
    assert lines[1].split()[:2] == ["round", "candidates"]
    assert lines[3].split()[:4] == ["1", "3", "n/a", f"{scores[:3].max():.4f}"]
    assert lines[-1] == "held-out test accuracy: 0.5000 (10 rows)"


def test_write_outputs_without_matplotlib(small_search, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        paths = write_outputs(small_search, tmp_path)
    assert [p.name for p in paths] == ["cv_results.csv", "model.skops"]
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
    assert commands[0].endswith("&& sknormnet tune")
    assert "pytest" in commands[1]

    with open(_repository_file("pyproject.toml"), encoding="utf-8") as pyproject:
        scripts = pyproject.read().split("[project.scripts]", 1)[1]
    entry = re.search(r'^sknormnet = "([\w.]+):(\w+)"$', scripts, re.MULTILINE)
    assert entry, "no sknormnet console script in pyproject.toml"
    module, function = entry.groups()
    assert getattr(importlib.import_module(module), function) is main


# ---------------------------------------------------------------------- Ctrl-C


def _tune_until_the_first_round(tmp_path, out):
    """Run ``sknormnet tune`` in a subprocess, press Ctrl-C as soon as the
    first round's line appears, and return the exit status, stdout, stderr."""
    environment = dict(os.environ, MPLBACKEND="Agg")
    environment.pop("SCIPY_ARRAY_API", None)
    budget = ["--rounds", "3", "--n-iter", "4", "--cv", "2", "--max-iter", "60"]
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
    assert stderr.startswith("sknormnet: interrupted: the search stopped after 1 ")
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert len(ROUND_LINE.findall(stdout)) == 1
    assert ACCURACY.search(stdout)
    results = pd.read_csv(out / "cv_results.csv")
    assert (results["round"] == 0).all() and len(results) == 4
    assert np.isfinite(results["mean_test_score"]).all()
