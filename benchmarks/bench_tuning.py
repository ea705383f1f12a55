"""Hyperparameter searches for MLPBatchNormClassifier: held-out accuracy and time.

Each dataset is split once, stratified, into three quarters of search rows and
one quarter held out. For each search seed, every method searches the same
space for ``StandardScaler() -> MLPBatchNormClassifier(max_iter=20)`` with
the same 3-fold ``StratifiedKFold(shuffle=True, random_state=seed)`` on the
search rows, the network's ``random_state`` set to the seed, so that a search
is deterministic given its seed. The configuration it picks is then refitted
on all the search rows with ``--inits`` initialisations (``random_state`` of
the network 1000, 1001, ...) and scored on the held-out quarter. Only the
search is timed (``time.perf_counter``, in this process).

Datasets (``--datasets``):

- ``digits``: scikit-learn's digits (1,797 x 64, 10 classes), one hidden
  layer of 64 units; ``learning_rate_init`` log-uniform on 1e-5..10,
  ``beta_1`` on 0.5..0.9999 with ``1 - beta_1`` log-uniform, ``alpha``
  log-uniform on 1e-6..1;
- ``hard``: ``make_classification`` with 2,000 rows, 40 features of which 20
  informative, 8 classes, 10% of the labels flipped; the mixed space of
  ``tuning_space(3)`` (learning rate, ``beta_1``, batch size, 1 to 4 hidden
  layers of 32 to 512 units, ``decay_rate``) and the same ``alpha``.

Methods (``--methods``), each an entry of ``METHODS``:

- ``random``: ``RandomizedSearchCV(n_iter=48)``;
- ``halving``: ``HalvingRandomSearchCV(n_candidates=144)`` on the epochs
  (``max_iter`` 2, 6, 18);
- ``tpe``: Optuna's TPE, 48 trials, each the same 3-fold CV score
  (``cross_val_score``, its folds on ``--n-jobs`` processes);
- ``tpe_pruner``: the same with Optuna's ``MedianPruner``: each trial trains
  its 3 fold models one ``partial_fit`` epoch at a time (on ``--n-jobs``
  threads) and reports their mean validation accuracy after each epoch;
- ``c2f``: ``CoarseToFineSearchCV(n_iter=16, n_rounds=3)``;
- ``c2f_rungs``: the same candidates in rungs of 1, 3, 9 and 20 epochs
  (``resource="mlp__max_iter", factor=3``), fitted anew at each rung;
- ``c2f_mf``: three times the candidates, ``n_iter=48``, in the same rungs.

A refit whose training diverges counts at the held-out accuracy of always
predicting the most frequent class (the pick left the user without a model),
and the number of such refits is printed.

For a dataset whose space leaves the network's size alone (``digits``), a
cost model follows the table: a fit's fixed cost and its cost per epoch,
measured with ``cross_val_score`` on one process at 1 and 11 epochs, give each
method's time from its fits and epochs, and the least a search of three
times the candidates can cost, each fitted on every fold for at least one
epoch.

Rounds: ``--first-seed`` runs another set of seeds; ``--combine`` compares the
``--json`` files of several rounds, with each method's median over them, and
each coarse-to-fine method against each peer paired by seed (the two searched
the same splits from the same seed): the mean difference of their held-out
accuracies, its standard error, and the seeds won and lost. ``--versions
BEFORE.json AFTER.json`` compares two versions of the code the same way: each
method present in both against itself, paired by dataset and seed, and its
time relative to ``tpe`` of its own run.

Adding a search variant
-----------------------
A method is a factory ``(problem: Problem, seed: int) -> SearchRun``: it runs
one search of ``problem`` (its search rows ``problem.X, problem.y``, its
pipeline ``problem.estimator(seed)``, its space ``problem.space``, its splitter
``problem.cv(seed)``, ``problem.n_jobs``) and returns what it picked. The
harness times the call and refits the pick. For a scikit-learn search
(any ``BaseSearchCV``), ``sklearn_search(cls, **settings)`` builds the factory,
and ``coarse_to_fine(**settings)`` is that for ``CoarseToFineSearchCV``, so a
variant is one line in ``METHODS``::

    "c2f_top5": coarse_to_fine(top_k=5),

A search whose candidates carry their own ``mlp__max_iter`` in
``cv_results_["params"]`` (as ``HalvingRandomSearchCV`` on that resource
does) has its epochs counted in the ``budget`` column; with
``resource="n_samples"``, the ``n_resources`` column of ``cv_results_`` scales
them by the share of the rows.

Usage::

    python benchmarks/bench_tuning.py [--datasets digits hard]
        [--methods random halving tpe tpe_pruner c2f c2f_rungs c2f_mf]
        [--seeds 5] [--first-seed 0]
        [--inits 3] [--n-jobs 2] [--json out.json]
    python benchmarks/bench_tuning.py --combine round1.json round2.json ...
    python benchmarks/bench_tuning.py --versions before.json after.json
"""

import argparse
import concurrent.futures
import json
import math
import numbers
import statistics
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
from _common import markdown_table, print_final_load, print_machine, timed
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    HalvingRandomSearchCV,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import threadpool_limits

from sknormnet import MLPBatchNormClassifier
from sknormnet.distributions import (
    as_distribution,
    categorical,
    layer_sizes,
    loguniform,
    one_minus_loguniform,
)
from sknormnet.model_selection import CoarseToFineSearchCV, tuning_space

try:
    import optuna
except ImportError:
    optuna = None

STEP = "mlp"  # the name of the network's step in the pipeline
MAX_ITER = 20  # epochs of a full fit
N_SPLITS = 3
N_CANDIDATES = 48  # full-budget candidates per search
INIT_SEED = 1000  # the refits of a pick use random_state 1000, 1001, ...
REFERENCE = "tpe"  # time targets are stated relative to this method


# ----------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """A dataset split into search and held-out rows, a pipeline and a space."""

    name: str
    description: str
    X: np.ndarray  # the search rows
    y: np.ndarray
    X_held: np.ndarray  # the held-out quarter
    y_held: np.ndarray
    space: dict
    n_jobs: int
    network: dict = field(default_factory=dict)  # fixed MLP parameters

    def estimator(self, seed):
        """The pipeline searched, its network seeded with ``seed``."""
        network = MLPBatchNormClassifier(
            max_iter=MAX_ITER, random_state=seed, **self.network
        )
        return Pipeline([("scale", StandardScaler()), (STEP, network)])

    def cv(self, seed):
        """The splitter of every search with this seed."""
        return StratifiedKFold(N_SPLITS, shuffle=True, random_state=seed)


def _split(name, description, X, y, space, n_jobs, **network):
    X, X_held, y, y_held = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    return Problem(name, description, X, y, X_held, y_held, space, n_jobs, network)


def digits_problem(n_jobs):
    X, y = load_digits(return_X_y=True)
    space = {
        f"{STEP}__learning_rate_init": loguniform(1e-5, 10.0),
        f"{STEP}__beta_1": one_minus_loguniform(0.5, 0.9999),
        f"{STEP}__alpha": loguniform(1e-6, 1.0),
    }
    description = "digits, hidden layers (64,)"
    return _split("digits", description, X, y, space, n_jobs, hidden_layer_sizes=(64,))


def hard_problem(n_jobs):
    X, y = make_classification(
        n_samples=2000,
        n_features=40,
        n_informative=20,
        n_classes=8,
        flip_y=0.1,
        class_sep=1.0,
        random_state=0,
    )
    space = tuning_space(3, prefix=f"{STEP}__")
    space[f"{STEP}__alpha"] = loguniform(1e-6, 1.0)
    description = (
        "make_classification(2000 rows, 40 features, 20 informative, 8 classes, "
        "flip_y=0.1)"
    )
    return _split("hard", description, X, y, space, n_jobs)


PROBLEMS = {"digits": digits_problem, "hard": hard_problem}


# ------------------------------------------------------------------ results


@dataclass
class SearchRun:
    """What a search picked, and what it spent."""

    best_params: dict
    best_score: float  # the mean CV score of the pick, as the search saw it
    n_candidates: int  # configurations evaluated, at any budget
    n_fits: int  # models trained: candidates x folds, each rung counted
    budget: float  # epochs trained / (MAX_ITER x folds): full CV evaluations
    n_failed: int  # candidates without a finite score


def _epoch_share(params, n_resources, resource, n_rows):
    """Epochs of one fit of a candidate, in full fits (``MAX_ITER`` epochs)."""
    share = params.get(f"{STEP}__max_iter", MAX_ITER) / MAX_ITER
    if resource == "n_samples":
        share *= n_resources / n_rows
    return share


def run_search(search, problem):
    """Fit a scikit-learn search on the search rows; what it picked."""
    search.fit(problem.X, problem.y)
    results = search.cv_results_
    params = results["params"]
    n_resources = results.get("n_resources", [None] * len(params))
    resource = getattr(search, "resource", None)
    shares = [
        _epoch_share(p, n, resource, len(problem.y))
        for p, n in zip(params, n_resources)
    ]
    scores = np.asarray(results["mean_test_score"], dtype=float)
    return SearchRun(
        best_params=search.best_params_,
        best_score=float(search.best_score_),
        n_candidates=len(params),
        n_fits=len(params) * search.n_splits_,
        budget=float(sum(shares)),
        n_failed=int(np.sum(~np.isfinite(scores))),
    )


# ----------------------------------------------------- scikit-learn searches


def _describe(name, settings):
    arguments = ", ".join(f"{key}={value!r}" for key, value in settings.items())
    return f"{name}({arguments})"


def sklearn_search(cls, **settings):
    """The factory of a scikit-learn search ``cls(estimator, space, **settings)``,
    seeded, on the seed's splits, without the final refit (the harness refits)."""

    def run(problem, seed):
        search = cls(
            problem.estimator(seed),
            problem.space,
            cv=problem.cv(seed),
            random_state=seed,
            n_jobs=problem.n_jobs,
            refit=False,
            **settings,
        )
        return run_search(search, problem)

    run.description = _describe(cls.__name__, settings)
    return run


def coarse_to_fine(**settings):
    """The factory of ``CoarseToFineSearchCV``, 3 rounds of 16 unless told."""
    return sklearn_search(
        CoarseToFineSearchCV, **{"n_iter": 16, "n_rounds": 3, **settings}
    )


# -------------------------------------------------------------------- Optuna


def _plain(value):
    """A numpy scalar as the Python scalar Optuna stores."""
    return value.item() if isinstance(value, np.generic) else value


def _suggest_choice(trial, name, values):
    values = [_plain(v) for v in values]
    if all(v is None or isinstance(v, bool | int | float | str) for v in values):
        return trial.suggest_categorical(name, values)
    return values[trial.suggest_categorical(name, list(range(len(values))))]


def suggest(trial, name, entry):
    """A value of the search-space ``entry`` suggested by an Optuna trial.

    Mirrors how the entry draws: uniform on its sampling scale, as its
    ``axis_scale()`` names it (``"log"``: ``suggest_float``/``suggest_int``
    with ``log=True`` on its ``support()``; ``"one_minus"``: ``1 - x`` on a
    log scale), lists and ``categorical`` as ``suggest_categorical`` (the
    weights of a ``categorical`` are dropped), ``layer_sizes`` as a number of
    layers and then the units of each layer, and any other distribution on
    its quantile scale (``ppf`` of a uniform suggestion).
    """
    if isinstance(entry, layer_sizes):
        depth = suggest(trial, f"{name}:n_layers", entry.n_layers)
        return tuple(
            int(suggest(trial, f"{name}:n_units_{layer}", entry.n_units))
            for layer in range(int(depth))
        )
    dist = as_distribution(entry)
    if isinstance(dist, categorical):
        return _suggest_choice(trial, name, dist.values)
    scale = dist.axis_scale()
    if scale == "one_minus":
        low, high = dist.support()
        return 1.0 - trial.suggest_float(f"{name}:1-x", 1.0 - high, 1.0 - low, log=True)
    if scale == "log":
        low, high = dist.support()
        if isinstance(low, numbers.Integral) and isinstance(high, numbers.Integral):
            return trial.suggest_int(name, int(low), int(high), log=True)
        return trial.suggest_float(name, float(low), float(high), log=True)
    if not hasattr(dist, "ppf"):
        raise TypeError(
            f"{name}: {entry!r} has no sampling scale or ppf to translate to Optuna; "
            "use a distribution of sknormnet.distributions or of scipy.stats."
        )
    return _plain(dist.ppf(trial.suggest_float(f"{name}:quantile", 0.0, 1.0)))


def suggest_space(trial, space):
    """The parameters of one candidate of ``space``, suggested by ``trial``."""
    return {name: suggest(trial, name, entry) for name, entry in space.items()}


def _sampler(seed):
    # multivariate TPE over groups: the widths of layers that exist only in
    # deeper networks form their own groups (Optuna's setting for
    # conditional spaces); for a fixed space it is plain multivariate TPE.
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)


def _study_run(study, problem, epochs):
    """The pick of a finished study, its parameters rebuilt from the best trial."""
    finished = [t for t in study.trials if t.state.is_finished()]
    failed = sum(t.state == optuna.trial.TrialState.FAIL for t in finished)
    complete = [t for t in finished if t.state == optuna.trial.TrialState.COMPLETE]
    best_params, best_score = {}, math.nan
    if complete:
        best = study.best_trial
        fixed = optuna.trial.FixedTrial(best.params)
        best_params, best_score = suggest_space(fixed, problem.space), best.value
    return SearchRun(
        best_params=best_params,
        best_score=float(best_score),
        n_candidates=len(finished),
        n_fits=len(finished) * N_SPLITS,
        budget=epochs / (MAX_ITER * N_SPLITS),
        n_failed=int(failed),
    )


def optuna_tpe(problem, seed):
    """TPE, each trial the 3-fold CV score of ``cross_val_score``.

    The folds run on ``problem.n_jobs`` processes, as the fits of the
    scikit-learn searches do, and the trials one after the other, so the
    study is deterministic given its seed. On this 2-core machine that was
    the fastest: 15 s per ``hard`` search against 26 s with the folds in
    this process and 88 s with two trials at a time on threads
    (``study.optimize(n_jobs=2)``, which also makes the study depend on
    timing); on ``digits``, whose fits take tens of milliseconds, the
    processes' dispatch costs about as much as they save. A trial whose fits
    all fail is a failed trial (Optuna's way; TPE ignores it).
    """
    cv = problem.cv(seed)

    def objective(trial):
        estimator = problem.estimator(seed).set_params(
            **suggest_space(trial, problem.space)
        )
        try:
            scores = cross_val_score(
                estimator,
                problem.X,
                problem.y,
                cv=cv,
                n_jobs=problem.n_jobs,
                error_score=np.nan,
            )
        except ValueError:  # every fold's fit failed
            return math.nan
        return float(np.mean(scores))  # nan: Optuna fails the trial

    study = optuna.create_study(direction="maximize", sampler=_sampler(seed))
    study.optimize(objective, n_trials=N_CANDIDATES)
    return _study_run(study, problem, N_CANDIDATES * MAX_ITER * N_SPLITS)


optuna_tpe.description = f"TPESampler(multivariate, group), {N_CANDIDATES} trials"


def _scaled_folds(problem, seed):
    """Each fold's rows, transformed by the pipeline's steps before the
    network, fitted once per fold (they have no hyperparameters)."""
    preprocessing = problem.estimator(seed)[:-1]
    folds = []
    for train, test in problem.cv(seed).split(problem.X, problem.y):
        steps = clone(preprocessing)
        X_train = steps.fit_transform(problem.X[train], problem.y[train])
        X_test = steps.transform(problem.X[test])
        folds.append((X_train, problem.y[train], X_test, problem.y[test]))
    return folds


def _one_epoch(network, fold, classes):
    X_train, y_train, X_test, y_test = fold
    network.partial_fit(X_train, y_train, classes=classes)
    return network.score(X_test, y_test)


def optuna_tpe_pruned(problem, seed):
    """TPE with ``MedianPruner``: each trial trains its fold models one
    ``partial_fit`` epoch at a time, the folds on ``problem.n_jobs`` threads
    (the kernels release the GIL), and reports their mean validation accuracy
    after each epoch. A trial whose training diverges fails."""
    folds = _scaled_folds(problem, seed)
    classes = np.unique(problem.y)
    epochs = 0

    def objective(trial):
        nonlocal epochs
        params = suggest_space(trial, problem.space)
        network = problem.estimator(seed).set_params(**params)[-1]
        networks = [clone(network) for _ in folds]
        score = math.nan
        for epoch in range(MAX_ITER):
            try:
                scores = list(
                    pool.map(_one_epoch, networks, folds, [classes] * N_SPLITS)
                )
            except ValueError:  # diverged: the network refuses to go on
                return math.nan
            finally:
                epochs += len(folds)
            score = float(np.mean(scores))
            trial.report(score, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return score

    study = optuna.create_study(
        direction="maximize",
        sampler=_sampler(seed),
        pruner=optuna.pruners.MedianPruner(),
    )
    with concurrent.futures.ThreadPoolExecutor(problem.n_jobs) as pool:
        study.optimize(objective, n_trials=N_CANDIDATES)
    return _study_run(study, problem, epochs)


optuna_tpe_pruned.description = (
    f"TPESampler + MedianPruner, {N_CANDIDATES} trials, epoch-wise partial_fit"
)
# its trials train by partial_fit and score every epoch: the cost model of
# whole fits does not describe them
optuna_tpe_pruned.whole_fits = False


# ------------------------------------------------------------------ registry

METHODS: dict[str, Callable[[Problem, int], SearchRun]] = {
    "random": sklearn_search(RandomizedSearchCV, n_iter=N_CANDIDATES),
    "halving": sklearn_search(
        HalvingRandomSearchCV,
        n_candidates=3 * N_CANDIDATES,
        resource=f"{STEP}__max_iter",
        min_resources=2,
        max_resources=MAX_ITER,
        factor=3,
    ),
    "tpe": optuna_tpe,
    "tpe_pruner": optuna_tpe_pruned,
    "c2f": coarse_to_fine(),
    # rungs of 1, 3, 9 and 20 epochs: as many candidates, then 3x as many
    "c2f_rungs": coarse_to_fine(resource=f"{STEP}__max_iter", factor=3),
    "c2f_mf": coarse_to_fine(n_iter=3 * 16, resource=f"{STEP}__max_iter", factor=3),
}
OPTUNA_METHODS = ("tpe", "tpe_pruner")
if optuna is None:  # Optuna is optional: without it, its methods are left out
    for method in OPTUNA_METHODS:
        del METHODS[method]


# ------------------------------------------------------------------- harness


def _held_out_score(problem, params, init):
    """The held-out accuracy of one refit; NaN if its training diverged."""
    estimator = problem.estimator(INIT_SEED + init).set_params(**params)
    try:
        estimator.fit(problem.X, problem.y)
    except ValueError:  # the pick diverged with this initialisation
        return math.nan
    return float(estimator.score(problem.X_held, problem.y_held))


def constant_accuracy(problem):
    """The held-out accuracy of always predicting the most frequent class.

    A refit whose training diverges leaves the user without a model; it counts
    at this accuracy, so that a pick that fails with some initialisations is
    not judged by the others alone."""
    return float(np.unique(problem.y_held, return_counts=True)[1].max()) / len(
        problem.y_held
    )


def held_out_scores(problem, params, n_inits):
    """Held-out accuracy of ``params`` refitted on all the search rows, once
    per initialisation."""
    if not params:
        return [math.nan] * n_inits
    return Parallel(n_jobs=problem.n_jobs)(
        delayed(_held_out_score)(problem, params, init) for init in range(n_inits)
    )


def warm_up(problem):
    """Start the worker processes and load the compiled kernels in them and
    here, so that the first timed search does not pay for it."""
    estimator = problem.estimator(0).set_params(**{f"{STEP}__max_iter": 1})
    cross_val_score(
        estimator, problem.X, problem.y, cv=2 * problem.n_jobs, n_jobs=problem.n_jobs
    )
    estimator.fit(problem.X, problem.y)


@dataclass(frozen=True)
class FitCosts:
    """What one fit of a search costs, in seconds, fitted alone in this process:
    ``fixed`` (cloning, validating the data, fitting the scaler, building the
    network, scoring) and ``epoch`` (one epoch of the problem's default
    network)."""

    fixed: float
    epoch: float

    def seconds(self, fits, budget):
        """The model's seconds of ``fits`` fits that train ``budget`` full
        3-fold evaluations' worth of epochs."""
        return fits * self.fixed + budget * MAX_ITER * N_SPLITS * self.epoch

    def rung_floor(self, candidates_ratio):
        """The least a search with ``candidates_ratio`` times the candidates of
        a search of full fits costs, relative to it: each of its candidates
        is fitted at least once per fold, for at least one epoch."""
        return (
            candidates_ratio
            * (self.fixed + self.epoch)
            / (self.fixed + MAX_ITER * self.epoch)
        )


def fixed_network(problem):
    """Whether every candidate's epoch costs about the same: the space leaves
    the layers and the batch size as they are."""
    sized = ("hidden_layer_sizes", "batch_size")
    return not any(name.endswith(sized) for name in problem.space)


def measure_fit_costs(problem, repeats=5):
    """Time ``cross_val_score`` on one process with 1 and 11 epochs (the least
    of ``repeats`` runs each); the difference is ten epochs."""

    def per_fit(epochs):
        estimator = problem.estimator(0).set_params(**{f"{STEP}__max_iter": epochs})
        runs = [
            timed(cross_val_score, estimator, problem.X, problem.y, cv=problem.cv(0))
            for _ in range(repeats)
        ]
        return min(seconds for seconds, _ in runs) / N_SPLITS

    one, eleven = per_fit(1), per_fit(11)
    epoch = (eleven - one) / 10
    return FitCosts(fixed=one - epoch, epoch=epoch)


def run_one(problem, method, seed, n_inits):
    seconds, run = timed(METHODS[method], problem, seed)
    held_out = held_out_scores(problem, run.best_params, n_inits)
    diverged = sum(not math.isfinite(v) for v in held_out)
    constant = constant_accuracy(problem)
    return {
        "dataset": problem.name,
        "method": method,
        "seed": seed,
        "seconds": seconds,
        "held_out": [v if math.isfinite(v) else constant for v in held_out],
        "diverged_refits": diverged,
        **asdict(run),
        "best_params": {k: _plain(v) for k, v in run.best_params.items()},
    }


def _mean(values):
    finite = [v for v in values if math.isfinite(v)]
    return statistics.fmean(finite) if finite else math.nan


def summarize(records):
    """Per method: the means over seeds (and initialisations)."""
    summary = {}
    for method in dict.fromkeys(r["method"] for r in records):
        mine = [r for r in records if r["method"] == method]
        per_seed = [_mean(r["held_out"]) for r in mine]
        finite = [v for v in per_seed if math.isfinite(v)]
        summary[method] = {
            "best_cv": _mean([r["best_score"] for r in mine]),
            "held_out": _mean([v for r in mine for v in r["held_out"]]),
            "held_out_per_seed": per_seed,
            "held_out_std": statistics.stdev(finite) if len(finite) > 1 else 0.0,
            "seconds": _mean([r["seconds"] for r in mine]),
            "candidates": _mean([r["n_candidates"] for r in mine]),
            "fits": _mean([r["n_fits"] for r in mine]),
            "budget": _mean([r["budget"] for r in mine]),
            "failed": _mean([r["n_failed"] for r in mine]),
            "failed_refits": sum(r["diverged_refits"] for r in mine),
        }
    return summary


def _count(value):
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def print_summary(problem, summary, n_seeds, n_inits, costs):
    print(
        f"### {problem.name}: {problem.description}; {len(problem.y)} search rows, "
        f"{len(problem.y_held)} held out; {n_seeds} seeds x {n_inits} inits"
    )
    print()
    header = [
        "method",
        "best CV score",
        "held-out accuracy of the pick",
        "± std over seeds (min..max)",
        "seconds per search",
        "/ tpe",
        "candidates",
        "fits",
        "budget",
        "failed",
    ]
    reference = summary.get(REFERENCE, {}).get("seconds", math.nan)
    rows = []
    for method, s in summary.items():
        finite = [v for v in s["held_out_per_seed"] if math.isfinite(v)] or [math.nan]
        rows.append(
            [
                method,
                f"{s['best_cv']:.4f}",
                f"{s['held_out']:.4f}",
                f"± {s['held_out_std']:.4f} ({min(finite):.4f}..{max(finite):.4f})",
                f"{s['seconds']:.1f}",
                f"{s['seconds'] / reference:.2f}x" if math.isfinite(reference) else "-",
                _count(s["candidates"]),
                _count(s["fits"]),
                _count(s["budget"]),
                _count(s["failed"]),
            ]
        )
    print(markdown_table(header, rows))
    print()
    print(
        "budget: epochs trained / (20 x 3 folds), i.e. full 3-fold evaluations' "
        "worth; failed: candidates without a finite CV score (mean per search)."
    )
    for method in summary:
        print(f"  {method:<11} {getattr(METHODS[method], 'description', '')}")
    print()
    if math.isfinite(reference):
        print(f"Wall time / {REFERENCE} (mean seconds per search):")
        for method, s in summary.items():
            print(f"  {method:<11} {s['seconds'] / reference:5.2f}x")
        print()
    if costs is None:
        print(
            "No cost model: the space changes the network's size, and with it "
            "what an epoch costs."
        )
        print()
    elif math.isfinite(reference):
        print_cost_model(summary, costs)
    print("Held-out accuracy of the pick per seed (mean over the inits):")
    for method, s in summary.items():
        seeds = " ".join(f"{v:.4f}" for v in s["held_out_per_seed"])
        refits = (
            f" ({s['failed_refits']} refits diverged, counted at the accuracy "
            "of a constant prediction)"
            if s["failed_refits"]
            else ""
        )
        print(f"  {method:<11} {seeds}{refits}")
    print()


def print_cost_model(summary, costs):
    """Each method's seconds by the fit-cost model, against the measured ones."""
    reference = summary[REFERENCE]
    modelled_reference = costs.seconds(reference["fits"], reference["budget"])
    print(
        f"Cost model: a fit costs {1e3 * costs.fixed:.1f} ms fixed and "
        f"{1e3 * costs.epoch:.1f} ms per epoch of the default network (one fit at "
        "a time); by it, each method's fits and epochs cost, against "
        f"{REFERENCE}'s (measured / {REFERENCE} beside it):"
    )
    for method, s in summary.items():
        measured = s["seconds"] / reference["seconds"]
        if not getattr(METHODS[method], "whole_fits", True):
            print(f"  {method:<11}     -  ({measured:.2f}x; not whole fits)")
            continue
        modelled = costs.seconds(s["fits"], s["budget"]) / modelled_reference
        print(f"  {method:<11} {modelled:5.2f}x  ({measured:.2f}x)")
    ratio = 3
    print(
        f"A search of {ratio}x {REFERENCE}'s candidates, each fitted on every fold "
        f"for at least one epoch, costs at least {ratio} (fixed + epoch) / (fixed "
        f"+ {MAX_ITER} epochs) = {costs.rung_floor(ratio):.2f}x by this model, "
        "before any candidate trains further."
    )
    print()


PEERS = ("random", "halving", "tpe", "tpe_pruner")


def _held_out_by_seed(rounds, dataset, method):
    """``{(round, seed): held-out accuracy}`` of ``method``, over the rounds."""
    return {
        (i, run["seed"]): _mean(run["held_out"])
        for i, r in enumerate(rounds)
        for run in r["runs"]
        if run["dataset"] == dataset and run["method"] == method
    }


def paired_difference(rounds, dataset, method, peer):
    """``method`` minus ``peer``, seed by seed (both searched the same splits
    and started from the same seed): the mean difference, its standard error,
    and the seeds won and lost."""
    mine = _held_out_by_seed(rounds, dataset, method)
    theirs = _held_out_by_seed(rounds, dataset, peer)
    differences = [
        mine[key] - theirs[key]
        for key in mine
        if key in theirs and math.isfinite(mine[key] - theirs[key])
    ]
    if len(differences) < 2:
        return None
    error = statistics.stdev(differences) / math.sqrt(len(differences))
    won = sum(d > 0 for d in differences)
    lost = sum(d < 0 for d in differences)
    return statistics.fmean(differences), error, won, lost


def print_paired(rounds, dataset, methods, peers):
    """Each coarse-to-fine method against each peer, paired by seed."""
    n_seeds = len(_held_out_by_seed(rounds, dataset, peers[0]))
    print(
        f"Paired by seed over the {n_seeds} seeds of the rounds: held-out accuracy "
        "minus the peer's, mean ± standard error (seeds won-lost). A gap within "
        "about two standard errors is a tie."
    )
    print()
    rows = []
    for method in methods:
        if method in PEERS:
            continue
        cells = []
        for peer in peers:
            paired = paired_difference(rounds, dataset, method, peer)
            if paired is None:
                cells.append("-")
                continue
            mean, error, won, lost = paired
            cells.append(f"{mean:+.4f} ± {error:.4f} ({won}-{lost})")
        rows.append([method, *cells])
    print(markdown_table(["method", *(f"- {peer}" for peer in peers)], rows))
    print()


def combine_rounds(paths):
    """Print the rounds of ``--json`` files side by side: each method's mean
    held-out accuracy per round, the median over the rounds, whether each
    coarse-to-fine method's median is at least every peer's, and each
    coarse-to-fine method against each peer, paired by seed."""
    rounds = []
    for path in paths:
        with open(path) as file:
            rounds.append(json.load(file))
    for dataset in dict.fromkeys(d for r in rounds for d in r["summary"]):
        present = [r for r in rounds if dataset in r["summary"]]
        labels = []
        for r in present:
            first, n = r["args"].get("first_seed", 0), r["args"]["seeds"]
            labels.append(f"seeds {first}..{first + n - 1}")
        methods = [
            m for m in METHODS if any(m in r["summary"][dataset] for r in present)
        ]
        header = ["method", *labels, "median", "/ tpe (median)"]
        medians, rows = {}, []
        for method in methods:
            mine = [r["summary"][dataset].get(method) for r in present]
            means = [s["held_out"] for s in mine if s is not None]
            ratios = [
                s["seconds"] / r["summary"][dataset][REFERENCE]["seconds"]
                for s, r in zip(mine, present)
                if s is not None and REFERENCE in r["summary"][dataset]
            ]
            medians[method] = statistics.median(means)
            ratio = f"{statistics.median(ratios):.2f}x" if ratios else "-"
            cells = ["-" if s is None else f"{s['held_out']:.4f}" for s in mine]
            rows.append([method, *cells, f"{medians[method]:.4f}", ratio])
        print(f"### {dataset}: mean held-out accuracy of the pick, per round")
        print()
        print(markdown_table(header, rows))
        print()
        peers = [m for m in PEERS if m in medians]
        if not peers:
            continue
        best_peer = max(peers, key=medians.get)
        for method in methods:
            if method in PEERS:
                continue
            margin = medians[method] - medians[best_peer]
            verdict = "at least every peer" if margin >= 0 else "below"
            print(
                f"  {method:<11} median {medians[method]:.4f}: {verdict} "
                f"(best peer {best_peer} {medians[best_peer]:.4f}, {margin:+.4f})"
            )
        print()
        print_paired(present, dataset, methods, peers)


def compare_versions(before_path, after_path):
    """Each method present in both runs against itself, paired by dataset and
    seed: the held-out accuracy after minus before (mean ± standard error,
    seeds won-lost), and the seconds per search relative to ``tpe`` of the
    same run, before and after."""
    runs = []
    for path in (before_path, after_path):
        with open(path) as file:
            runs.append(json.load(file))
    before, after = runs
    print("Held-out accuracy, after minus before, paired by seed; time / tpe.")
    print()
    header = ["dataset", "method", "after - before", "/ tpe before", "/ tpe after"]
    rows = []
    for dataset in after["summary"]:
        if dataset not in before["summary"]:
            continue
        for method in after["summary"][dataset]:
            if method not in before["summary"][dataset] or method == "fit costs":
                continue
            old = _held_out_by_seed([before], dataset, method)
            new = _held_out_by_seed([after], dataset, method)
            differences = [new[key] - old[key] for key in new if key in old]
            if len(differences) < 2:
                continue
            error = statistics.stdev(differences) / math.sqrt(len(differences))
            won = sum(d > 0 for d in differences)
            lost = sum(d < 0 for d in differences)
            ratios = []
            for run in (before, after):
                summary = run["summary"][dataset]
                reference = summary.get(REFERENCE, {}).get("seconds", math.nan)
                ratios.append(f"{summary[method]['seconds'] / reference:.2f}x")
            paired = (
                f"{statistics.fmean(differences):+.4f} ± {error:.4f} ({won}-{lost})"
            )
            rows.append([dataset, method, paired, *ratios])
    print(markdown_table(header, rows))
    print()


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--datasets", nargs="+", choices=list(PROBLEMS), default=list(PROBLEMS)
    )
    parser.add_argument(
        "--methods", nargs="+", choices=list(METHODS), default=list(METHODS)
    )
    parser.add_argument(
        "--seeds", type=int, default=5, help="how many search seeds, from --first-seed"
    )
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="the first search seed: another value gives another round of the "
        "benchmark, to see how its results vary",
    )
    parser.add_argument(
        "--inits", type=int, default=3, help="refits of each pick, for held-out"
    )
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--json", metavar="PATH", help="write every search's record")
    parser.add_argument(
        "--combine",
        nargs="+",
        metavar="PATH",
        help="run nothing: compare the rounds written by earlier --json runs",
    )
    parser.add_argument(
        "--versions",
        nargs=2,
        metavar=("BEFORE", "AFTER"),
        help="run nothing: compare two --json runs of two versions of the code",
    )
    return parser.parse_args()


def _quiet():
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    warnings.filterwarnings("ignore", category=FitFailedWarning)
    # a search with failed fits warns that some scores are non-finite
    warnings.filterwarnings("ignore", message=".*scores are non-finite")
    if optuna is not None:
        warnings.filterwarnings(
            "ignore", category=optuna.exceptions.ExperimentalWarning
        )
        optuna.logging.set_verbosity(optuna.logging.ERROR)


def main():
    args = parse_args()
    if args.combine:
        combine_rounds(args.combine)
        return
    if args.versions:
        compare_versions(*args.versions)
        return
    _quiet()
    print_machine()
    versions = f"optuna {optuna.__version__}" if optuna else "optuna not installed"
    print(f"{versions}; n_jobs={args.n_jobs}; every fit runs on one BLAS thread")
    print()
    records = []
    summaries = {}
    # One BLAS thread per fit: the worker processes get it from joblib, the
    # threads of tpe_pruner from this limit.
    with threadpool_limits(1):
        for name in args.datasets:
            problem = PROBLEMS[name](args.n_jobs)
            warm_up(problem)
            costs = measure_fit_costs(problem) if fixed_network(problem) else None
            mine = []
            # methods interleaved within each seed, so that the machine's
            # drifts weigh on all of them alike
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                for method in args.methods:
                    record = run_one(problem, method, seed, args.inits)
                    mine.append(record)
                    print(
                        f"{name} seed {seed} {method:<11} {record['seconds']:6.1f} s  "
                        f"best CV {record['best_score']:.4f}  held-out "
                        f"{_mean(record['held_out']):.4f}",
                        flush=True,
                    )
            print()
            summaries[name] = summarize(mine)
            print_summary(problem, summaries[name], args.seeds, args.inits, costs)
            if costs is not None:
                summaries[name]["fit costs"] = asdict(costs)
            records.extend(mine)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                {"args": vars(args), "summary": summaries, "runs": records},
                out,
                indent=1,
                default=repr,
            )
    print_final_load()


if __name__ == "__main__":
    main()
