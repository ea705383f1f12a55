"""The command line: ``sknormnet tune`` (also ``python -m sknormnet tune``).

This module parses the arguments and dispatches; ``sknormnet/_cli.py`` does the
work. See ``sknormnet tune --help`` and the "Command line" page of the
documentation. It imports ``_cli`` (and so scikit-learn, pandas and numba,
seconds of imports) only once the arguments are parsed, so that ``--help``
and usage errors answer at once.
"""

import argparse
import difflib
import math
import re
import sys
from urllib.parse import urlsplit, uses_netloc, uses_params, uses_relative

from sknormnet import __version__

_TUNE_DESCRIPTION = """\
Tune MLPBatchNormClassifier for a table (sknormnet.tabular.TunedMLPClassifier):
numeric columns imputed and scaled, the others one-hot encoded; a coarse-to-fine
search of the learning rate, the layers, the regularisers and the scaling,
within a time budget on every core; then the best candidates refitted on all
the search's rows and their probabilities averaged. A stratified quarter of the
rows is held out to measure the final model. Without --csv, tunes on
scikit-learn's digits (1797 images of 8x8 pixels, 10 classes).

Prints a line for each column it leaves out, a line as each round of the search
ends, then a table of the rounds, what the search sampled, the best parameters,
the final model and its score on the held-out rows, every line fitted to the
terminal's width (COLUMNS)."""

# Printed as written. A shell's line continuation is a doubled backslash here:
# a single one would end the line of the Python string and join the two.
_TUNE_EPILOG = """\
examples:
  sknormnet tune
  sknormnet tune --time-budget 120 --ensemble 3 --out results
  sknormnet tune --csv customers.csv --target outcome --out results
  sknormnet tune --csv customers.csv --target outcome --drop email \\
      --scoring balanced_accuracy
  sknormnet tune --out results --onnx"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of descriptions and epilogs; shows the set defaults
    of the options that take a value."""

    def _get_help_string(self, action):
        if (
            action.default in (None, argparse.SUPPRESS)
            or action.help is None
            or action.nargs == 0  # a flag, such as --joblib
        ):
            return action.help
        return f"{action.help} (default: %(default)s)"


def _int_at_least(minimum):
    """An argparse type: an int no smaller than ``minimum``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _number_above_one(text):
    """An argparse type: a finite number greater than 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 1):
        raise argparse.ArgumentTypeError(
            f"must be a finite number greater than 1, got {text}"
        )
    return value


# What pandas would fetch rather than open: a URL of a scheme that urllib
# knows, or anything of the form scheme://, which fsspec handles (s3://,
# gcs://, ...).
_URL_SCHEMES = {
    scheme for scheme in uses_relative + uses_netloc + uses_params if scheme
}
_SCHEME_SLASHES = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _local_path(text):
    """An argparse type: the path of a local file, not a URL."""
    if _SCHEME_SLASHES.match(text) or urlsplit(text).scheme.lower() in _URL_SCHEMES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is a URL; sknormnet tune reads local files only: "
            "download the file and give its path"
        )
    return text


def _n_jobs(text):
    """An argparse type: a number of joblib workers, not 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value == 0:
        raise argparse.ArgumentTypeError(
            "0 runs nothing; give a number of processes, or -1 for all the cores"
        )
    return value


def _time_budget(text):
    """An argparse type: seconds above 0, "auto" or "none"."""
    if text in ("auto", "none"):
        return None if text == "none" else text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds, 'auto' or 'none'"
        ) from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"must be a finite number of seconds above 0, got {text}"
        )
    return value


def _folds(text):
    """An argparse type: a number of folds, at least 2, or "auto"."""
    return text if text == "auto" else _int_at_least(2)(text)


def _seed(text):
    """An argparse type: a seed for NumPy, an int in [0, 2**32)."""
    value = _int_at_least(0)(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"must be below 2**32, got {value}")
    return value


def _build_parser():
    """The parser of ``sknormnet`` and the one of its ``tune`` command."""
    parser = argparse.ArgumentParser(
        prog="sknormnet",
        description="Tune sknormnet's batch-normalized MLP on a table.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(
        title="commands", dest="command", required=True, metavar="COMMAND"
    )
    tune_parser = commands.add_parser(
        "tune",
        help="tune the MLP on a CSV file or on the digits data",
        description=_TUNE_DESCRIPTION,
        epilog=_TUNE_EPILOG,
        formatter_class=_Formatter,
    )
    data = tune_parser.add_argument_group("data (default: scikit-learn's digits)")
    data.add_argument(
        "--csv",
        metavar="PATH",
        type=_local_path,
        help="a local CSV file with a header row (not a URL); missing values "
        "are imputed",
    )
    data.add_argument(
        "--target", metavar="COLUMN", help="the column of class labels to predict"
    )
    data.add_argument(
        "--drop",
        metavar="COLUMN",
        nargs="+",
        default=[],
        help="columns to leave out; identifiers (a different value in every "
        "row), dates and columns without values are left out anyway, each with "
        "a note",
    )
    search = tune_parser.add_argument_group("search")
    search.add_argument(
        "--time-budget",
        metavar="SECONDS",
        type=_time_budget,
        default="auto",
        help="the time the search and the final refits may take; no round of the "
        "search starts beyond 70%% of it, and the rest refits the final model. "
        "'auto': 45 s up to 7,500 rows, then 0.01 s more per row, up to 100 s; "
        "'none': no limit (then --n-candidates, or 3 rounds)",
    )
    search.add_argument(
        "--n-candidates",
        metavar="N",
        type=_int_at_least(1),
        help="the most candidates to search; with --time-budget none, the "
        "search's size, the same on every machine",
    )
    search.add_argument(
        "--ensemble",
        metavar="K",
        type=_int_at_least(1),
        default=5,
        help="how many of the best candidates the final model averages "
        "(fewer if the time budget runs out); 1 refits the best alone",
    )
    search.add_argument(
        "--scoring",
        metavar="NAME",
        help="the metric that ranks the candidates and scores the held-out rows: "
        "a scikit-learn scorer name, such as balanced_accuracy, f1_macro, "
        "roc_auc (two classes) or neg_log_loss (default: accuracy)",
    )
    search.add_argument(
        "--cv",
        metavar="K",
        type=_folds,
        default="auto",
        help="cross-validation folds scoring each candidate; 'auto': 3, or one "
        "held-out fifth above 3,000 rows",
    )
    search.add_argument(
        "--training-steps",
        metavar="N",
        type=_int_at_least(1),
        default=1500,
        help="about how many optimizer steps each fit trains (within 10 to 500 "
        "epochs): small tables get many epochs, large ones few",
    )
    search.add_argument(
        "--rungs",
        action="store_true",
        help="fit each round's candidates in rungs of growing epochs, FACTOR "
        "times as many candidates: only the best 1/FACTOR of a rung are fitted "
        "again, with FACTOR times the epochs, up to the full budget",
    )
    search.add_argument(
        "--factor",
        metavar="F",
        type=_number_above_one,
        default=3,
        help="with --rungs, the ratio between the epochs of two rungs and "
        "between the candidates they fit",
    )
    search.add_argument(
        "--n-jobs",
        metavar="N",
        type=_n_jobs,
        default=-1,
        help="fits run in parallel; -1 uses all the cores",
    )
    search.add_argument(
        "--random-state",
        metavar="SEED",
        type=_seed,
        default=0,
        help="seeds the test split, the candidates and the networks",
    )
    output = tune_parser.add_argument_group("output")
    output.add_argument(
        "--out",
        metavar="DIR",
        help="write model.skops, cv_results.csv and, with matplotlib, search.png "
        "and learning_curve.png to this directory (created if missing); one "
        "holding an earlier result is refused",
    )
    output.add_argument(
        "--force",
        action="store_true",
        help="with --out, overwrite the files of an earlier result in DIR",
    )
    output.add_argument(
        "--joblib",
        action="store_true",
        help="with --out, also save the model as model.joblib, a pickle: loading "
        "it runs code, so share model.skops instead",
    )
    output.add_argument(
        "--onnx",
        action="store_true",
        help="with --out, also export the model to model.onnx, for onnxruntime; "
        "tables of numeric columns only; needs the onnx extra "
        '(pip install ".[onnx]" in sknormnet\'s source folder)',
    )
    return parser, tune_parser


def _check_scoring(parser, name):
    """Exit with a usage error unless ``name`` is a scikit-learn scorer name."""
    from sklearn.metrics import get_scorer_names

    names = get_scorer_names()
    if name in names:
        return
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    parser.error(
        f"argument --scoring: {name!r} is not a scikit-learn scorer name; {hint}"
        "sklearn.metrics.get_scorer_names() lists them all"
    )


def main(argv=None):
    """Run the command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        0 on success, 1 for a problem with the data or the paths (one line on
        stderr), 2 for a usage error, 130 when Ctrl-C stopped it (one line on
        stderr, after the report of the rounds that finished, if any).

    Examples
    --------
    >>> from sknormnet.__main__ import main
    >>> main(["--version"])  # doctest: +ELLIPSIS
    sknormnet ...
    0
    """
    parser, tune_parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if args.target is not None and args.csv is None:
            tune_parser.error(
                "--target needs --csv PATH; without --csv the digits data is used"
            )
        if args.csv is not None and args.target is None:
            tune_parser.error("--csv needs --target COLUMN, the column to predict")
        if args.joblib and args.out is None:
            tune_parser.error("--joblib needs --out DIR, where to write model.joblib")
        if args.onnx and args.out is None:
            tune_parser.error("--onnx needs --out DIR, where to write model.onnx")
        if args.force and args.out is None:
            tune_parser.error("--force needs --out DIR, whose files to overwrite")
        if args.scoring is not None:
            _check_scoring(tune_parser, args.scoring)
    except SystemExit as exc:  # --help, --version, or a usage error
        return exc.code
    from sknormnet._cli import DataError, SearchInterrupted, say, tune

    try:
        tune(
            csv=args.csv,
            target=args.target,
            time_budget=args.time_budget,
            n_candidates=args.n_candidates,
            ensemble=args.ensemble,
            cv=args.cv,
            training_steps=args.training_steps,
            n_jobs=args.n_jobs,
            random_state=args.random_state,
            rungs=args.rungs,
            factor=args.factor,
            scoring=args.scoring,
            drop=args.drop,
            out=args.out,
            force=args.force,
            save_joblib=args.joblib,
            save_onnx=args.onnx,
        )
    except DataError as exc:
        print(f"sknormnet: error: {exc}", file=sys.stderr)
        return 1
    except SearchInterrupted as exc:
        # a sentence of the report: wrapped like its other lines
        say(f"sknormnet: interrupted: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("sknormnet: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
