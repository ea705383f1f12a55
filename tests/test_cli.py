"""The command line: ``sknormnet tune`` end to end, its reports, its errors."""

import contextlib
import doctest
import importlib
import io
import os
import re
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.datasets import load_digits, load_iris
from sklearn.linear_model import RidgeClassifier

import sknormnet
from sknormnet.__main__ import main
from sknormnet._cli import (
    _ReportingSearch,
    describe_entry,
    round_summaries,
    rounds_table,
    write_outputs,
)
from sknormnet.distributions import (
    categorical,
    layer_sizes,
    loguniform,
    loguniform_int,
    one_minus_loguniform,
    quantile_window,
)
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


def _range(line, name):
    """The ``low..high`` range of ``name`` in a progress line, as two floats."""
    match = re.search(rf"{name} ([-+.\de]+)\.\.([-+.\de]+)", line)
    assert match, f"no range of {name} in {line!r}"
    return float(match.group(1)), float(match.group(2))


# ----------------------------------------------------------- digits, end to end


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "results"
    status, stdout, stderr = _run(["tune", *TINY, "--out", str(out)])
    return status, stdout, stderr, out


def test_tune_on_digits_succeeds_and_prints_the_accuracy(digits_run):
    status, stdout, stderr, _ = digits_run
    assert status == 0, stderr
    assert "Traceback" not in stderr
    assert stdout.startswith("data: scikit-learn's digits, 1797 rows, 64 numeric")
    match = ACCURACY.search(stdout)
    assert match, stdout
    assert 0.0 <= float(match.group(1)) <= 1.0
    assert int(match.group(2)) == 450  # a quarter of 1797, rounded up


def test_tune_prints_one_progress_line_per_round(digits_run):
    _, stdout, _, _ = digits_run
    lines = [m.group(0) for m in ROUND_LINE.finditer(stdout)]
    assert [m.groups()[:3] for m in ROUND_LINE.finditer(stdout)] == [
        ("0", "2", "4"),
        ("1", "4", "4"),
    ]
    for line in lines:
        for name in ("learning_rate_init", "beta_1", "batch_size"):
            assert f"{name} " in line
        assert "hidden_layer_sizes 1 x " in line
    # round 0 samples the whole space; round 1 a narrower one, inside it
    assert _range(lines[0], "learning_rate_init") == (0.0001, 1.0)
    low, high = _range(lines[1], "learning_rate_init")
    assert 0.0001 <= low < high <= 1.0
    assert high / low < 1e4
    # the progress comes before the final report
    assert stdout.index(lines[-1]) < stdout.index("best parameters")


def test_tune_prints_the_table_of_rounds_and_the_best_parameters(digits_run):
    _, stdout, _, _ = digits_run
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("round  "))
    assert lines[header].split("  ")[:4] == [
        "round",
        "candidates",
        "best (round)",
        "best (so far)",
    ]
    assert "learning_rate_init" in lines[header]
    rows = [line.split() for line in lines[header + 1 : header + 3]]
    assert [row[:2] for row in rows] == [["0", "2"], ["1", "2"]]
    best_so_far = [float(row[3]) for row in rows]
    assert best_so_far[1] >= best_so_far[0]
    assert best_so_far[1] == max(float(row[2]) for row in rows)
    best = stdout[stdout.index("best parameters") :]
    for name in ("learning_rate_init", "beta_1", "batch_size", "hidden_layer_sizes"):
        assert re.search(rf"^  {name} +\S", best, re.MULTILINE), best
    assert f"(CV score {best_so_far[1]:.4f}, round" in best


def test_tune_writes_results_model_and_plots(digits_run):
    _, stdout, _, out = digits_run
    expected = ["cv_results.csv", "model.joblib", "search.png", "learning_curve.png"]
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)
    assert f"wrote to {out}: {', '.join(expected)}" in stdout
    results = pd.read_csv(out / "cv_results.csv")
    assert results["round"].tolist() == [0, 0, 1, 1]
    assert "param_mlp__learning_rate_init" in results
    model = joblib.load(out / "model.joblib")
    X, y = load_digits(return_X_y=True, as_frame=True)
    predictions = model.predict(X.head(50))
    assert set(predictions) <= set(range(10))
    assert model.score(X, y) > 0.5
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
    status, stdout, stderr = _run(
        ["tune", "--csv", str(path), "--target", "label", *TINY, "--out", str(out)]
    )
    assert status == 0, stderr
    assert "note: dropped 2 rows without a value of 'label'" in stdout
    assert "note: ignored columns without any value: ['notes']" in stdout
    assert "158 rows, 2 numeric, 2 categorical feature columns, 2 classes" in stdout
    assert len(ROUND_LINE.findall(stdout)) == 2
    match = ACCURACY.search(stdout)
    assert match and 0.0 <= float(match.group(1)) <= 1.0

    # the saved pipeline takes raw rows, with gaps and unseen categories
    model = joblib.load(out / "model.joblib")
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
        "a training fold holds 1 row of class 'b', and early stopping",
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


@pytest.mark.parametrize(
    "entry, expected",
    [
        (loguniform(1e-4, 1.0), "0.0001..1"),
        (loguniform(3.98107e-4, 0.0251189), "0.000398..0.0251"),
        (one_minus_loguniform(0.9, 0.999), "0.9..0.999"),
        (loguniform_int(32, 512), "32..512"),
        (quantile_window(stats.uniform(0, 10), 0.2, 0.5), "2..5"),
        ([32, 64, 128], "32|64|128"),
        (["relu", "tanh"], "relu|tanh"),
        (categorical([32, 64], p=[0.5, 0.5]), "32|64"),
        (categorical(["relu", "tanh"], p=[0.2, 0.8]), "tanh (80%)"),
        (layer_sizes([1], loguniform_int(32, 512)), "1 x 32..512"),
        (
            layer_sizes(categorical([1, 2, 3], p=[0.1, 0.7, 0.2]), [64]),
            "2 (70%) x 64",
        ),
    ],
)
def test_describe_entry(entry, expected):
    assert describe_entry(entry) == expected


def test_describe_entry_falls_back_to_the_repr_without_a_support():
    class Sampler:
        def rvs(self, size=None, random_state=None):
            return 1.0

        def __repr__(self):
            return "Sampler()"

    assert describe_entry(Sampler()) == "Sampler()"


# A search of three rounds of three candidates on iris, a few seconds at most.
SMALL_SEARCH = {
    "param_distributions": {"alpha": loguniform(1e-3, 1e3)},
    "n_iter": 3,
    "n_rounds": 3,
    "cv": 3,
    "random_state": 0,
}


def _small_search(**kwargs):
    X, y = load_iris(return_X_y=True)
    return _ReportingSearch(RidgeClassifier(), **SMALL_SEARCH, **kwargs), X, y


def test_reporting_search_reports_each_round_as_it_is_scored():
    search, X, y = _small_search()
    calls = []
    search.on_round = lambda s, results: calls.append(
        (len(results["params"]), len(s.search_spaces_), list(results["round"]))
    )
    search.fit(X, y)
    assert [(n, rounds) for n, rounds, _ in calls] == [(3, 1), (6, 2), (9, 3)]
    assert calls[-1][2] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    plain = CoarseToFineSearchCV(RidgeClassifier(), **SMALL_SEARCH).fit(X, y)
    assert search.best_params_ == plain.best_params_


def test_round_summaries_and_table():
    search, X, y = _small_search()
    search.fit(X, y)
    summaries = round_summaries(search.cv_results_, search.search_spaces_)
    scores = search.cv_results_["mean_test_score"]
    assert [s["done"] for s in summaries] == [3, 6, 9]
    assert [s["best_round"] for s in summaries] == [
        scores[3 * r : 3 * r + 3].max() for r in range(3)
    ]
    assert summaries[-1]["best_so_far"] == search.best_score_
    assert summaries[0]["ranges"] == {"alpha": "0.001..1e+03"}
    lines = rounds_table(summaries)
    assert len(lines) == 4
    assert lines[0].split()[-1] == "alpha"
    # aligned: every column starts at the same offset on every line
    start = lines[0].index("alpha")
    assert all(line[start - 2 : start] == "  " for line in lines)


def test_write_outputs_without_matplotlib(tmp_path, monkeypatch):
    search, X, y = _small_search()
    search.fit(X, y)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        paths = write_outputs(search, tmp_path)
    assert [p.name for p in paths] == ["cv_results.csv", "model.joblib"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cv_results.csv",
        "model.joblib",
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
