"""Hyperparameter search that zooms in, round after round, and ready-made spaces.

:class:`CoarseToFineSearchCV` is a randomized search run in rounds: the first
round samples the whole space, each later round samples a space narrowed around
the best candidates so far. :func:`tuning_space` gives search spaces for
:class:`~sknormnet.MLPBatchNormClassifier` ordered by how much each
hyperparameter usually matters.

The fits run through joblib, as in every scikit-learn search: ``n_jobs=-1``
uses all the cores, and joblib's Dask backend spreads them over a cluster with
the same ``cv_results_`` (see the user guide's "Panda or caviar" page).
"""

from __future__ import annotations

import contextlib
import math
import numbers
import shutil
import textwrap
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
from sklearn.base import is_classifier
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt

from sknormnet._interrupt import handling_ctrl_c
from sknormnet._spaces import (
    NO_BREAK,
    check_spaces,
    describe_space,
    sample,
    tuning_space,
)
from sknormnet.distributions import as_distribution, categorical

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from sknormnet._spaces import SearchSpace

__all__ = ["CoarseToFineSearchCV", "tuning_space"]


class CoarseToFineSearchCV(BaseSearchCV):
    """Randomized search in rounds, each zooming in around the best candidates.

    Round 0 samples ``n_iter`` candidates from ``param_distributions``, as
    :class:`~sklearn.model_selection.RandomizedSearchCV` does. Each later round
    samples from a space narrowed around the ``top_k`` best candidates of all
    the rounds so far: coarse first, then fine. Every candidate is scored by
    cross-validation on the same splits, and the best one, over all rounds, is
    the one with the best mean score, as in every scikit-learn search.

    Read more in the :ref:`User Guide <tuning>`.

    Parameters
    ----------
    estimator : estimator object
        The estimator to tune, e.g. :class:`~sknormnet.MLPBatchNormClassifier`
        or a :class:`~sklearn.pipeline.Pipeline` (then name its parameters
        ``step__param``).

    param_distributions : dict or list of dicts
        Parameter names mapped to distributions (with ``rvs``, such as
        :class:`~sknormnet.distributions.loguniform` or :mod:`scipy.stats`'s)
        or lists of values. Each entry narrows itself around the best values
        on the scale it samples uniformly (its ``narrow`` method, see
        :func:`~sknormnet.distributions.as_distribution`). With a list of
        dicts, the dicts of the best candidates are drawn more often.

    n_iter : int or list of int, default=10
        Number of candidates of each round, or one number per round.

    n_rounds : int, default=3
        Number of rounds; 1 makes this a randomized search.

    top_k : int or float, default=0.2
        How many of the best candidates so far the next round narrows around:
        an int, or a fraction in (0, 1] of the candidates so far (rounded up).

    resource : str, default=None
        An integer parameter of the estimator that sets its budget, such as
        ``"max_iter"`` (``"mlp__max_iter"`` in a Pipeline), to run each round
        in rungs as :class:`~sklearn.model_selection.HalvingRandomSearchCV`
        does: every candidate is fitted with ``min_resources``, then the best
        ``1 / factor`` are fitted anew with ``factor`` times more, and so on
        up to the estimator's own value, the full budget. Only candidates
        fitted with the full budget count among the best.

    min_resources : int, default=1
        The budget of the first rung.

    factor : float, default=3
        The ratio between the budgets of two rungs; each rung keeps the best
        ``ceil(n / factor)`` of the ``n`` candidates of the rung before it.

    scoring, n_jobs, refit, cv, pre_dispatch, error_score, return_train_score
        As in :class:`~sklearn.model_selection.RandomizedSearchCV`, except:
        with several metrics and rounds (or rungs), ``refit`` must name the
        metric that ranks the candidates; every round and rung reuses the
        splits of ``cv``; a later round in which every fit fails ends the
        search with a warning, keeping the rounds before it.

    time_budget : float, default=None
        Seconds the search may take: no round starts once the time spent and
        the round's own, estimated by the last round's time per candidate,
        would exceed them (the first always runs).

    verbose : int, default=0
        1 prints, wrapped to the terminal, what the search will fit, then for
        each round its candidates, the best mean score so far, the time and
        the ranges it sampled; 2 and more add scikit-learn's lines per fit.

    random_state : int, RandomState instance or None, default=None
        Seeds the sampling of the candidates of every round.

    Attributes
    ----------
    cv_results_ : dict of numpy (masked) ndarrays
        Every candidate of every round, as in
        :class:`~sklearn.model_selection.RandomizedSearchCV`, with a ``round``
        column (0, 1, ...). With ``resource``, a row per candidate and rung,
        with the columns ``iter`` (the rung) and ``n_resources`` (its budget),
        as in :class:`~sklearn.model_selection.HalvingRandomSearchCV`.

    search_spaces_ : list of dict (or of list of dicts)
        The narrowed space each round sampled, shaped like the first.

    n_rounds_ : int
        Rounds that finished: fewer than ``n_rounds`` when the time budget, a
        callback, Ctrl-C or failed fits stopped the search.

    interrupted_ : bool
        Whether Ctrl-C stopped the search.

    n_candidates_ : list of int
        The candidates of each round of ``cv_results_``.

    best_estimator_, best_score_, best_params_, best_index_, scorer_, \
n_splits_, refit_time_, multimetric_, classes_, n_features_in_, \
feature_names_in_
        As in :class:`~sklearn.model_selection.RandomizedSearchCV`; with
        ``resource``, ``best_params_`` holds the full budget.

    See Also
    --------
    sklearn.model_selection.RandomizedSearchCV : One round of random sampling.
    sklearn.model_selection.HalvingRandomSearchCV : The best go on, with more budget.
    tuning_space : Ready-made ``param_distributions``.

    Notes
    -----
    The rungs' budgets are :math:`m f^k` (rounded) below the full budget
    :math:`E`, then :math:`E`, the last step the closest to :math:`f` on a log
    scale: 1, 3, 9 and 20 epochs for :math:`E = 20, m = 1, f = 3`.

    Candidates are drawn with replacement, in the main process: the results
    do not depend on ``n_jobs`` or the joblib backend. Ctrl-C interrupts the
    running round and refits the best of the rounds that finished (in the
    first round, it raises KeyboardInterrupt). On scikit-learn >= 1.9,
    callbacks see a ``search`` task, a ``coarse-to-fine-round`` subtask per
    round and a ``rung`` one per rung; one whose ``on_fit_task_end`` returns
    True at the end of a round stops the search.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import RidgeClassifier
    >>> from sknormnet.distributions import loguniform
    >>> from sknormnet.model_selection import CoarseToFineSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = CoarseToFineSearchCV(
    ...     RidgeClassifier(),
    ...     {"alpha": loguniform(1e-3, 1e3)},
    ...     n_iter=4,
    ...     top_k=2,
    ...     cv=3,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> search.cv_results_["round"].tolist()
    [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    >>> [tuple(round(v, 2) for v in space["alpha"].support())
    ...  for space in search.search_spaces_]
    [(0.0, 1000.0), (0.49, 77.83), (1.18, 32.43)]
    """

    _parameter_constraints: dict[str, list[Any]] = {
        **BaseSearchCV._parameter_constraints,
        "param_distributions": [dict, list],
        "n_iter": [Interval(numbers.Integral, 1, None, closed="left"), "array-like"],
        "n_rounds": [Interval(numbers.Integral, 1, None, closed="left")],
        "top_k": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
        ],
        "resource": [str, None],
        "min_resources": [Interval(numbers.Integral, 1, None, closed="left")],
        "factor": [Interval(numbers.Real, 1, None, closed="neither")],
        "time_budget": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
    }

    search_spaces_: list[Any]  # per round, shaped like param_distributions
    n_rounds_: int
    interrupted_: bool
    n_candidates_: list[int]

    def __init__(
        self,
        estimator: Any,
        param_distributions: SearchSpace | Sequence[SearchSpace],
        *,
        n_iter: int | Sequence[int] = 10,
        n_rounds: int = 3,
        top_k: float = 0.2,
        resource: str | None = None,
        min_resources: int = 1,
        factor: float = 3,
        time_budget: float | None = None,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: bool | str | Callable[..., Any] = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: int | str = "2*n_jobs",
        random_state: int | np.random.RandomState | None = None,
        error_score: Literal["raise"] | float = np.nan,
        return_train_score: bool = False,
    ) -> None:
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.n_rounds = n_rounds
        self.top_k = top_k
        self.resource = resource
        self.min_resources = min_resources
        self.factor = factor
        self.time_budget = time_budget
        self.random_state = random_state
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )

    def _run_search(
        self,
        evaluate_candidates: Callable[..., dict[str, Any]],
        *,
        callback_ctx: Any = None,
    ) -> None:
        """Run the rounds: sample, evaluate (rung by rung), narrow."""
        spaces = check_spaces(self.param_distributions)
        n_iter = self._n_iter_per_round()
        rungs = self._rungs()
        if self.n_rounds > 1 or len(rungs) > 1:
            self._ranking_metric()
        rounds = _Rounds(self, evaluate_candidates, callback_ctx)
        rng = check_random_state(self.random_state)
        chooser = categorical(list(range(len(spaces))))
        self.search_spaces_, self.n_candidates_ = [], []
        self.n_rounds_, self.interrupted_ = 0, False
        if self.verbose > 0:  # what the search will fit
            budget = self.time_budget  # rounds until it is spent
            line = f"CoarseToFineSearchCV: {'up to ' if budget else ''}{self.n_rounds}"
            line += f" rounds x {'/'.join(str(n) for n in dict.fromkeys(n_iter))}"
            line += f" candidates x {rounds.n_splits} folds"
            line += f", within {budget:g} s" if budget else ""
            if len(rungs) > 1:
                line += f"; rungs of {self.resource} {', '.join(map(str, rungs))}"
                line += f", 1/{self.factor:g} promoted"
            _print_wrapped(line)
        started = round_start = time.perf_counter()
        with handling_ctrl_c() as ctrl_c:
            for number in range(self.n_rounds):
                if number and self.time_budget is not None:  # spent, and next
                    now = time.perf_counter()
                    rate = (now - round_start) / n_iter[number - 1]  # a candidate
                    if now - started + rate * n_iter[number] > self.time_budget:
                        break
                if number:
                    spaces, chooser = self._narrow(spaces, chooser, rounds)
                candidates, origins = sample(spaces, chooser, n_iter[number], rng)
                single = isinstance(self.param_distributions, Mapping)
                self.search_spaces_.append(dict(spaces[0]) if single else spaces)
                self.n_candidates_.append(len(candidates))
                round_start = time.perf_counter()
                try:
                    with ctrl_c.raising() if ctrl_c else contextlib.nullcontext():
                        stop = rounds.evaluate(number, candidates, origins, rungs)
                except KeyboardInterrupt:
                    if not number:
                        raise  # nothing finished: nothing to keep
                    self.interrupted_ = True
                    self._stop_early("Ctrl-C stopped the search", number)
                    break
                except ValueError as error:  # every fit of a rung failed
                    if not number or "fits failed" not in str(error):
                        raise
                    self._stop_early("every fit failed", number, str(error))
                    break
                finally:  # the rounds with rows in the results
                    kept = int(np.max(rounds.results["round"])) + 1
                    del self.search_spaces_[kept:], self.n_candidates_[kept:]
                self.n_rounds_ += 1
                if self.verbose > 0:
                    self._print_round(rounds.results, time.perf_counter() - round_start)
                if stop or (ctrl_c is not None and ctrl_c.requested):
                    if not stop and number + 1 < self.n_rounds:
                        self.interrupted_ = True
                        self._stop_early("Ctrl-C stopped the search", number + 1)
                    break
        rounds.end()

    def _stop_early(self, reason: str, number: int, details: str = "") -> None:
        warnings.warn(
            f"{reason} in round {number + 1} of {self.n_rounds}; the best "
            f"candidate of the {self.n_rounds_} rounds that finished is "
            f"refitted. {details}".strip(),
            UserWarning,
        )

    @staticmethod
    def _select_best_index(
        refit: Any, refit_metric: str, results: Mapping[str, Any]
    ) -> int:
        """The row ``refit`` returns when callable, else the best full-budget row."""
        if not callable(refit):
            return _best_full_budget_row(results, refit_metric)
        index = refit(results)
        if not isinstance(index, numbers.Integral):
            raise TypeError(f"refit returned {index!r}, not the index of a row.")
        if not 0 <= int(index) < len(results["params"]):
            raise IndexError(f"refit returned {index}, not a row of cv_results_.")
        return int(index)

    def _narrow(
        self, spaces: list[SearchSpace], chooser: categorical[int], rounds: _Rounds
    ) -> tuple[list[SearchSpace], categorical[int]]:
        """Each space narrowed around its best candidates, and the chooser."""
        results, origins = rounds.results, rounds.origins
        rows = _full_budget_rows(results)
        scores = results[f"mean_test_{self._ranking_metric(results)}"][rows]
        finite = np.isfinite(scores)
        k = (
            int(self.top_k)
            if isinstance(self.top_k, numbers.Integral)
            else math.ceil(self.top_k * len(rows))
        )
        order = np.argsort(-np.where(finite, scores, -np.inf), kind="stable")
        best = rows[order[: min(k, int(finite.sum()))]]
        if not len(best):
            return spaces, chooser
        narrowed = []
        for i, space in enumerate(spaces):
            mine = [results["params"][j] for j in best if origins[j] == i]
            narrowed.append(
                {
                    name: as_distribution(entry).narrow([c[name] for c in mine])
                    for name, entry in space.items()
                }
                if mine
                else space
            )
        return narrowed, chooser.narrow([origins[j] for j in best])

    def _ranking_metric(self, results: Mapping[str, Any] | None = None) -> str:
        """The metric that ranks the candidates: "score" if single."""
        if results is None:
            multimetric = isinstance(self.scoring, list | tuple | set | dict)
        else:
            multimetric = "mean_test_score" not in results
        if not multimetric:
            return "score"
        if not isinstance(self.refit, str):
            raise ValueError(
                "With multi-metric scoring, CoarseToFineSearchCV ranks the "
                "candidates by the metric that refit names, to zoom and to "
                f"promote, but refit={self.refit!r}; set refit to a scorer's "
                "name, or n_rounds=1 without resource."
            )
        return self.refit

    def _n_iter_per_round(self) -> list[int]:
        n_iter: Any = self.n_iter
        if isinstance(n_iter, numbers.Integral):
            n_iter = [int(n_iter)] * self.n_rounds
        positive = all(isinstance(n, numbers.Integral) and int(n) > 0 for n in n_iter)
        if len(n_iter) != self.n_rounds or not positive:
            raise ValueError(
                f"n_iter={self.n_iter!r} must be a positive int or one per round "
                f"(n_rounds={self.n_rounds}), e.g. n_iter={[10] * self.n_rounds!r}."
            )
        return [int(n) for n in n_iter]

    def _rungs(self) -> list[int | None]:
        """The budget of each rung of a round: ``[None]`` without ``resource``."""
        if self.resource is None:
            return [None]
        params = self.estimator.get_params()
        if self.resource not in params:
            raise ValueError(
                f"resource={self.resource!r} is not a parameter of the estimator "
                f"{type(self.estimator).__name__}; name its budget, e.g. "
                "'max_iter', or 'mlp__max_iter' for the step 'mlp' of a Pipeline."
            )
        full = params[self.resource]
        integral = isinstance(full, numbers.Integral) and not isinstance(full, bool)
        if not integral or int(full) < 1:
            raise ValueError(
                f"resource={self.resource!r} must be an integer budget, but the "
                f"estimator's {self.resource} is {full!r}; set it to the budget of "
                "a full fit, e.g. 20."
            )
        if any(
            self.resource in space for space in check_spaces(self.param_distributions)
        ):
            raise ValueError(
                f"resource={self.resource!r} is also searched by "
                "param_distributions; the rungs set it, so remove it from the "
                "space and set the full budget on the estimator."
            )
        full = int(full)
        if self.min_resources > full:
            raise ValueError(
                f"min_resources={self.min_resources} is more than the estimator's "
                f"{self.resource}={full}; lower min_resources or raise the latter."
            )
        # As many rungs as make the last step, to the full budget, closest to
        # factor on a log scale; the epsilon keeps exact powers, e.g.
        # log(27, 3) = 3.0000000000000004.
        n_steps = math.floor(
            math.log(full / self.min_resources, self.factor) + 0.5 + 1e-9
        )
        budgets: list[int | None] = []
        for k in range(n_steps):
            budget = round(self.min_resources * self.factor**k)
            if budget < full and (not budgets or budget > cast("int", budgets[-1])):
                budgets.append(budget)
        return [*budgets, full]

    def _print_round(self, results: Mapping[str, Any], seconds: float) -> None:
        """A round's candidates, the best score so far, the time, the ranges."""
        number = self.n_rounds_ - 1
        of = "" if self.time_budget else f" of {self.n_rounds}"  # open-ended
        line = f"round {number + 1}{of}: {self.n_candidates_[number]} candidates"
        if "n_resources" in results:
            budgets = results["n_resources"][results["round"] == number]
            reached = sorted(set(budgets.tolist()))
            counts = "/".join(str(int(np.sum(budgets == b))) for b in reached)
            line += f" ({counts} with {self.resource} {'/'.join(map(str, reached))})"
        metric = self._ranking_metric(results)
        score = results[f"mean_test_{metric}"][_best_full_budget_row(results, metric)]
        shown = f"{score:.4f}" if np.isfinite(score) else "n/a"
        name = self.scoring if isinstance(self.scoring, str) else metric
        _print_wrapped(f"{line}, best CV {name} so far {shown}, {seconds:.0f} s")
        spaces = self.search_spaces_[number]
        spaces = [spaces] if isinstance(spaces, Mapping) else spaces
        _print_wrapped(" | ".join(map(describe_space, spaces)), indent=2)


class _Rounds:
    """Evaluates each round, rung by rung, through ``evaluate_candidates``, and
    keeps the results, the space of each row and the callbacks' task."""

    def __init__(
        self,
        search: CoarseToFineSearchCV,
        evaluate_candidates: Callable[..., dict[str, Any]],
        callback_ctx: Any,
    ) -> None:
        self._search = search
        self._evaluate_candidates = evaluate_candidates
        self._splits = _SameSplits(search)
        folds = getattr(search, "n_splits_", None)  # set late by older scikit-learn
        self.n_splits = folds or check_cv(search.cv).get_n_splits()
        self.results: dict[str, Any] = {"round": [-1]}
        self.origins: list[int] = []
        self._task = self._begin(callback_ctx, "search", search.n_rounds)

    def evaluate(
        self,
        number: int,
        candidates: list[dict[str, Any]],
        origins: list[int],
        rungs: list[int | None],
    ) -> bool:
        """Evaluate round ``number``; return whether a callback asks to stop."""
        search = self._search
        round_task = self._begin(self._task, "coarse-to-fine-round", len(rungs))
        alive = list(range(len(candidates)))
        for k, budget in enumerate(rungs):
            if k:  # the best 1 / factor, among those with a finite score
                metric = search._ranking_metric(self.results)
                scores = self.results[f"mean_test_{metric}"][-len(alive) :]
                finite = np.isfinite(scores)
                ranked = np.argsort(-np.where(finite, scores, -np.inf))
                n_kept = min(math.ceil(len(alive) / search.factor), finite.sum())
                alive = sorted(alive[j] for j in ranked[:n_kept])
            more: dict[str, list[Any]] = {"round": [number] * len(alive)}
            budgets = {} if budget is None else {cast("str", search.resource): budget}
            params = [candidates[i] | budgets for i in alive]
            if budget is not None:
                more |= {"iter": [k] * len(alive), "n_resources": [budget] * len(alive)}
            n_fits = len(alive) * self.n_splits
            task = self._begin(round_task, "rung", n_fits, sequential=False)
            self.results = self._evaluate_candidates(
                params,
                cv=self._splits,
                more_results=more,
                **({} if task is None else {"callback_ctx": task}),
            )
            self.origins.extend(origins[i] for i in alive)
            self._end(task)
        return self._end(round_task)

    def _begin(
        self, parent: Any, name: str, n_subtasks: int, sequential: bool = True
    ) -> Any:
        """A callback task under ``parent``, begun (None before scikit-learn 1.9)."""
        if parent is None:
            return None
        task = parent.subcontext(
            task_name=name, max_subtasks=n_subtasks, sequential_subtasks=sequential
        )
        return task.call_on_fit_task_begin(estimator=self._search)

    def _end(self, task: Any) -> bool:
        """End a task; return whether a callback asks to stop."""
        stop = task is not None and task.call_on_fit_task_end(estimator=self._search)
        return bool(stop)

    def end(self) -> None:
        self._end(self._task)


class _SameSplits:
    """The search's ``cv``, split once: every round and rung gets the splits
    of the first call, even from a splitter that shuffles anew at each call."""

    def __init__(self, search: CoarseToFineSearchCV) -> None:
        self._cv = search.cv
        self._classifier = is_classifier(search.estimator)
        self._splits: list[tuple[Any, Any]] | None = None

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[Any]:
        if self._splits is None:
            checked = check_cv(self._cv, y, classifier=self._classifier)
            self._splits = list(checked.split(X, y, groups))
            if not self._splits:
                raise ValueError(
                    f"cv={self._cv!r} gave no split: an iterator can be read once, "
                    "and each round reads it; pass a list instead, cv=list(cv)."
                )
        return iter(self._splits)


def _full_budget_rows(results: Mapping[str, Any]) -> NDArray[np.intp]:
    """Rows fitted with the full budget: all rows without ``resource``."""
    budgets = np.asarray(results.get("n_resources", np.zeros(len(results["params"]))))
    return np.flatnonzero(budgets == budgets.max())


def _best_full_budget_row(results: Mapping[str, Any], metric: str) -> int:
    """The row with the best mean score among those fitted with the full
    budget (the first of equals, as scikit-learn's ranks give)."""
    rows = _full_budget_rows(results)
    return int(rows[np.argmin(results[f"rank_test_{metric}"][rows])])


def _print_wrapped(text: str, indent: int = 0) -> None:
    """``text`` wrapped to the terminal's width, continuation lines indented;
    no-break spaces keep words together, unless that makes a line too wide."""
    wrapper = textwrap.TextWrapper(
        shutil.get_terminal_size().columns,
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + 2),
        break_on_hyphens=False,
        break_long_words=False,
    )
    lines = []
    for line in wrapper.wrap(text):
        if len(line) > wrapper.width:  # a range too wide for a line: broken inside
            wrapper.initial_indent = line[: len(line) - len(line.lstrip())]
            line = "\n".join(wrapper.wrap(line.lstrip().replace(NO_BREAK, " ")))
        lines.append(line)
    print("\n".join(lines).replace(NO_BREAK, " "), flush=True)
