"""Hyperparameter search that zooms in, round after round, and ready-made spaces.

:class:`CoarseToFineSearchCV` is a randomized search run in rounds: the first
round samples the whole space, each later round samples a space narrowed around
the best candidates seen so far. :func:`tuning_space` gives search spaces for
:class:`~sknormnet.MLPBatchNormClassifier` ordered by how much each
hyperparameter usually matters.

.. rubric:: Running many models in parallel

The candidates of a round, times the cross-validation splits, are fitted through
joblib, as in every scikit-learn search: ``n_jobs=-1`` uses all the cores of the
machine. joblib's default ``"loky"`` backend starts each worker with the BLAS and
OpenMP thread pools limited to ``cpu_count() // n_jobs`` threads (through
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, ... unless
they are already set in the parent's environment), so that the parallel fits do
not oversubscribe the cores: ``n_jobs`` workers each running a multithreaded
BLAS would compete for the same cores. To choose another limit, wrap the fit in
``joblib.parallel_config(backend="loky", inner_max_num_threads=k)``.

To go beyond one machine, run the same search on a Dask cluster through
joblib's Dask backend; the candidates, the splits and so ``cv_results_`` are
the same as in a local run::

    from dask.distributed import Client
    from joblib import parallel_config

    client = Client("tcp://scheduler:8786")
    with parallel_config(backend="dask"):
        search.fit(X, y)

Dask's worker processes start with ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and
``OPENBLAS_NUM_THREADS`` set to 1 (``distributed.nanny.pre-spawn-environ``), so
start them with one thread per core (``--nthreads 1``) and as many processes
as cores.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import signal
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
from sklearn.base import is_classifier
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt

from sknormnet.distributions import (
    as_distribution,
    categorical,
    layer_sizes,
    loguniform,
    loguniform_int,
    one_minus_loguniform,
)

if TYPE_CHECKING:
    from types import FrameType
    from typing import Protocol, TypeAlias

    from numpy.typing import ArrayLike, NDArray

    from sknormnet.distributions import SearchEntry

    SearchSpace: TypeAlias = Mapping[str, Any]
    """Parameter names mapped to distributions (objects with ``rvs``) or lists.

    The values are typed ``Any`` because a dict literal mixing distributions and
    lists is inferred as ``dict[str, object]`` by mypy."""

    class CVSplitter(Protocol):
        """A cross-validation splitter, such as ``KFold(5)``."""

        def split(
            self, X: Any, y: Any = ..., groups: Any = ...
        ) -> Iterator[tuple[Any, Any]]: ...

        def get_n_splits(
            self, X: Any = ..., y: Any = ..., groups: Any = ...
        ) -> int: ...


__all__ = ["CoarseToFineSearchCV", "tuning_space"]


class _SplitsOnce:
    """Splits like ``cv`` on the first call, then replays those splits.

    Every round of a search then sees the same splits, whatever ``cv`` is: a
    splitter that shuffles differently at each call, or one whose ``split`` can
    be iterated only once. ``cv`` is resolved as scikit-learn's searches do
    (``check_cv``), with the ``y`` of the first call.
    """

    def __init__(
        self, cv: int | CVSplitter | Iterable[tuple[Any, Any]] | None, classifier: bool
    ) -> None:
        self.cv = cv
        self.classifier = classifier
        self._splits: list[tuple[Any, Any]] | None = None

    def split(
        self, X: ArrayLike, y: ArrayLike | None = None, **split_params: Any
    ) -> Iterator[tuple[Any, Any]]:
        if self._splits is None:
            cv = check_cv(self.cv, y, classifier=self.classifier)
            self._splits = list(cv.split(X, y, **split_params))
        return iter(self._splits)


def _check_spaces(
    param_distributions: SearchSpace | Sequence[SearchSpace],
) -> list[SearchSpace]:
    """``param_distributions`` as a list of dicts, with each entry checked."""
    spaces = (
        [param_distributions]
        if isinstance(param_distributions, Mapping)
        else list(param_distributions)
    )
    if not spaces:
        raise ValueError("param_distributions=[] is empty; give at least one dict.")
    for space in spaces:
        if not isinstance(space, Mapping):
            raise TypeError(
                f"param_distributions must be a dict or a list of dicts, got an "
                f"element {space!r} of type {type(space).__name__}."
            )
        for name, entry in space.items():
            try:
                as_distribution(entry)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"param_distributions[{name!r}]: {exc}") from None
    return spaces


def _sample(
    spaces: Sequence[SearchSpace],
    chooser: categorical[int],
    n_candidates: int,
    rng: np.random.RandomState,
) -> tuple[list[dict[str, Any]], list[int]]:
    """Draw candidates, each from a space drawn from ``chooser``."""
    candidates: list[dict[str, Any]] = []
    origins: list[int] = []
    for _ in range(n_candidates):
        origin = chooser.rvs(random_state=rng) if len(spaces) > 1 else 0
        params = {}
        for name, entry in sorted(spaces[origin].items()):
            if hasattr(entry, "rvs"):
                params[name] = entry.rvs(random_state=rng)
            else:
                params[name] = entry[rng.randint(len(entry))]
        candidates.append(params)
        origins.append(origin)
    return candidates, origins


def _describe_space(space: SearchSpace) -> str:
    """``"name range, name range"``, each range from the entry's ``describe()``."""
    return ", ".join(
        f"{name} {as_distribution(entry).describe()}" for name, entry in space.items()
    )


class CoarseToFineSearchCV(BaseSearchCV):
    """Randomized search in rounds, each zooming in around the best candidates.

    Round 0 samples ``n_iter`` candidates from ``param_distributions``, as
    :class:`~sklearn.model_selection.RandomizedSearchCV` does. Each later round
    samples from a space narrowed around the ``top_k`` best candidates of all
    the rounds so far: coarse first, then fine. All candidates are evaluated by
    cross-validation on the same splits, and ``best_*`` is over all rounds.

    Parameters
    ----------
    estimator : estimator object
        The estimator to tune, e.g. :class:`~sknormnet.MLPBatchNormClassifier`
        or a :class:`~sklearn.pipeline.Pipeline` (then name its parameters
        ``step__param``).

    param_distributions : dict or list of dicts
        Parameter names mapped to distributions (objects with an ``rvs`` method,
        such as :class:`~sknormnet.distributions.loguniform` or frozen
        :mod:`scipy.stats` distributions) or to lists of values, drawn
        uniformly. With a list of dicts, each candidate comes from one of the
        dicts, picked at random; each dict is narrowed around its own best
        candidates and the dicts holding the best candidates are picked more
        often in later rounds. See Notes for how each kind of entry is
        narrowed.

    n_iter : int or list of int, default=10
        Number of candidates of each round, or one number per round.

    n_rounds : int, default=3
        Number of rounds, at least 1. With ``n_rounds=1`` this is a randomized
        search.

    top_k : int or float, default=0.2
        How many of the best candidates so far define the space of the next
        round: an int, or a fraction in (0, 1] of the candidates evaluated so
        far (rounded up).

    scoring : str, callable, list, tuple or dict, default=None
        How to score the candidates, as in
        :class:`~sklearn.model_selection.RandomizedSearchCV`. With several
        metrics, ``refit`` names the one used to rank the candidates.

    n_jobs : int, default=None
        Number of jobs to run in parallel, through joblib. ``-1`` uses all the
        processors; the BLAS threads of each worker are limited (see the
        module documentation), and joblib's Dask backend spreads the fits over a
        cluster.

    refit : bool, str, or callable, default=True
        Refit an estimator with the best parameters on the whole dataset, as in
        :class:`~sklearn.model_selection.RandomizedSearchCV`. With multi-metric
        scoring and ``n_rounds > 1`` it must name the metric that ranks the
        candidates for zooming.

    cv : int, cross-validation generator or an iterable, default=None
        The cross-validation splitting strategy, as in
        :class:`~sklearn.model_selection.RandomizedSearchCV`. The splits are
        drawn once per fit and reused in every round, so all the candidates
        are compared on the same splits; an iterable of splits must be a list,
        not an iterator.

    verbose : int, default=0
        Verbosity: above 0, prints one line per round once it is scored, with
        the candidates done, the best mean score so far and the range of each
        parameter the round sampled (the ``describe()`` of each distribution);
        scikit-learn's own messages about the fits come with it.

    pre_dispatch : int or str, default='2*n_jobs'
        Number of jobs dispatched during parallel execution, as in
        :class:`~sklearn.model_selection.RandomizedSearchCV`.

    random_state : int, RandomState instance or None, default=None
        Seeds the sampling of candidates in every round. Pass an int for
        reproducible output across multiple function calls.

    error_score : 'raise' or numeric, default=np.nan
        Score given to a candidate whose fit failed; ``'raise'`` raises the error.

    return_train_score : bool, default=False
        Whether ``cv_results_`` includes training scores.

    Attributes
    ----------
    cv_results_ : dict of numpy (masked) ndarrays
        Every candidate of every round, as in
        :class:`~sklearn.model_selection.RandomizedSearchCV`, with a ``round``
        column (0, 1, ...). Can be imported into a pandas ``DataFrame``.

    search_spaces_ : list of dict (or of list of dicts)
        The space sampled in each round, shaped like ``param_distributions``:
        round 0 is ``param_distributions`` itself, later rounds hold narrowed
        distributions (see their ``support()``) and re-weighted lists
        (:class:`~sknormnet.distributions.categorical`).

    n_rounds_ : int
        Number of rounds run (fewer than ``n_rounds`` if a callback or Ctrl-C
        stopped the search).

    interrupted_ : bool
        Whether Ctrl-C stopped the search. Its rounds that had finished are in
        ``cv_results_`` and the best of them is refitted; the round that was
        running is dropped whole, so no cut-short fit is ever scored.

    n_candidates_ : list of int
        Number of candidates of each round.

    best_estimator_ : estimator
        The estimator refitted with the best parameters of all rounds. Only
        when ``refit`` is not False.

    best_score_ : float
        Mean cross-validated score of the best candidate of all rounds.

    best_params_ : dict
        Parameters of the best candidate of all rounds.

    best_index_ : int
        Index of the best candidate in ``cv_results_``.

    scorer_ : function or a dict
        The scorer(s) used on the held-out data.

    n_splits_ : int
        Number of cross-validation splits.

    refit_time_ : float
        Seconds used to refit the best model on the whole dataset.

    multimetric_ : bool
        Whether several metrics were computed.

    classes_ : ndarray of shape (n_classes,)
        The class labels, when ``refit`` is not False and the estimator is a
        classifier.

    n_features_in_ : int
        Number of features seen during :term:`fit`, when ``refit`` is not False.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``refit`` is not False
        and ``X`` has string column names.

    See Also
    --------
    sklearn.model_selection.RandomizedSearchCV : One round of random sampling.
    sklearn.model_selection.HalvingRandomSearchCV : Rounds that keep the best
        candidates and give them more data.
    tuning_space : Ready-made ``param_distributions``.

    Notes
    -----
    In round :math:`r > 0`, each entry of the space is narrowed around the
    values of the best candidates so far by its ``narrow`` method (see
    :func:`~sknormnet.distributions.as_distribution` for lists and foreign
    distributions), on the scale it samples uniformly:

    - :class:`~sknormnet.distributions.loguniform` on :math:`\\log x`,
      :class:`~sknormnet.distributions.one_minus_loguniform` on
      :math:`\\log(1 - x)`, :class:`~sknormnet.distributions.loguniform_int` on
      :math:`\\log k`, and any other distribution with ``cdf`` and ``ppf`` (e.g.
      frozen :mod:`scipy.stats` distributions) on its quantile scale
      :math:`F(x)` (it becomes a
      :class:`~sknormnet.distributions.quantile_window`). The new interval is
      the smallest one holding the best values, padded on each side by 10% of
      the current interval, and clipped to the current interval: it never
      grows, and never leaves the original bounds.
    - A list becomes a :class:`~sknormnet.distributions.categorical` whose
      probabilities are 75% the frequencies among the best candidates and 25%
      the previous probabilities, so every value keeps a chance.
    - :class:`~sknormnet.distributions.layer_sizes` narrows its number of
      layers and its number of units separately.
    - Any other sampler (an object with ``rvs`` only) is kept as it is.

    Candidates are drawn independently, with replacement, even when every
    entry is a list (where :class:`~sklearn.model_selection.RandomizedSearchCV`
    would sample the grid without replacement), so a candidate may repeat.
    Candidates with a non-finite score do not count among the best. The
    sampling uses one random generator, seeded by ``random_state``, in the main
    process, so the candidates and ``cv_results_`` do not depend on ``n_jobs``
    or on the joblib backend.

    On scikit-learn 1.9 and later, callbacks set with ``set_callbacks`` see a
    ``search`` task with one ``coarse-to-fine-round`` subtask per round; a
    callback whose ``on_fit_task_end`` returns True at the end of a round stops
    the search after that round.

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
    ...     n_rounds=3,
    ...     top_k=2,
    ...     cv=3,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> search.cv_results_["round"].tolist()
    [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    >>> search.search_spaces_[0]
    {'alpha': loguniform(low=0.001, high=1000.0)}
    >>> import math
    >>> decades = [
    ...     math.log10(space["alpha"].high / space["alpha"].low)
    ...     for space in search.search_spaces_
    ... ]
    >>> decades[0] > decades[1] > decades[2]
    True
    >>> search.best_params_ == search.cv_results_["params"][search.best_index_]
    True
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
        "random_state": ["random_state"],
    }

    # a dict or a list of dicts per round, shaped like param_distributions
    search_spaces_: list[Any]
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
        scoring: str
        | Callable[..., Any]
        | Sequence[str]
        | Mapping[str, Callable[..., Any]]
        | None = None,
        n_jobs: int | None = None,
        refit: bool | str | Callable[..., Any] = True,
        cv: int | CVSplitter | Iterable[tuple[ArrayLike, ArrayLike]] | None = None,
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

    def _n_iter_per_round(self) -> list[int]:
        if isinstance(self.n_iter, numbers.Integral):
            return [int(self.n_iter)] * self.n_rounds
        n_iter = list(cast("Sequence[int]", self.n_iter))
        if len(n_iter) != self.n_rounds or not all(
            isinstance(n, numbers.Integral) and n >= 1 for n in n_iter
        ):
            raise ValueError(
                f"n_iter={self.n_iter!r} must be a positive int or one positive int "
                f"per round (n_rounds={self.n_rounds}), e.g. "
                f"n_iter={[10] * self.n_rounds!r}."
            )
        return [int(n) for n in n_iter]

    def _ranking_metric(self, results: Mapping[str, Any] | None = None) -> str | None:
        """The metric that ranks the candidates ("score" if single), or None."""
        if results is None:
            multimetric = isinstance(self.scoring, list | tuple | set | dict)
        else:
            multimetric = "mean_test_score" not in results
        if not multimetric:
            return "score"
        return self.refit if isinstance(self.refit, str) else None

    def _check_ranking_metric(self, results: Mapping[str, Any] | None = None) -> str:
        """The ranking metric, which zooming needs."""
        metric = self._ranking_metric(results)
        if metric is None:
            raise ValueError(
                f"With multi-metric scoring, CoarseToFineSearchCV ranks the "
                f"candidates of each round by the metric named by refit to choose "
                f"where to zoom, but refit={self.refit!r}; set refit to one of the "
                "scorer names, or n_rounds=1."
            )
        return metric

    def _top_candidates(
        self, results: Mapping[str, Any], metric: str, n_evaluated: int
    ) -> NDArray[np.intp]:
        """Indices of the best candidates so far, best first."""
        scores = np.asarray(results[f"mean_test_{metric}"], dtype=float)
        finite = np.flatnonzero(np.isfinite(scores))
        if isinstance(self.top_k, numbers.Integral):
            k = int(self.top_k)
        else:
            k = math.ceil(self.top_k * n_evaluated)
        order = finite[np.argsort(-scores[finite], kind="stable")]
        return order[:k]

    def _narrow_spaces(
        self,
        spaces: list[SearchSpace],
        chooser: categorical[int],
        results: Mapping[str, Any],
        origins: Sequence[int],
        metric: str,
    ) -> tuple[list[SearchSpace], categorical[int]]:
        """Each space narrowed around its best candidates; ``chooser`` toward them."""
        best = self._top_candidates(results, metric, len(origins))
        if len(best) == 0:
            return spaces, chooser
        params = results["params"]
        narrowed = []
        for i, space in enumerate(spaces):
            mine = [params[j] for j in best if origins[j] == i]
            narrowed.append(
                {
                    name: as_distribution(entry).narrow([c[name] for c in mine])
                    for name, entry in space.items()
                }
                if mine
                else space
            )
        return narrowed, chooser.narrow([origins[j] for j in best])

    def _print_round(
        self,
        round_: int,
        results: Mapping[str, Any],
        n_total: int,
        spaces: Sequence[SearchSpace],
    ) -> None:
        """The verbose line of a scored round: candidates, best score, ranges."""
        metric = self._ranking_metric(results)
        best = ""
        if metric is not None:
            scores = np.asarray(results[f"mean_test_{metric}"], dtype=float)
            scores = scores[np.isfinite(scores)]
            shown = f"{scores.max():.4f}" if scores.size else "n/a"
            best = f", best CV {metric} so far {shown}"
        ranges = "; ".join(_describe_space(space) for space in spaces)
        print(
            f"round {round_}: {len(results['params'])}/{n_total} candidates "
            f"done{best} | {ranges}",
            flush=True,
        )

    def _run_search(
        self,
        evaluate_candidates: Callable[..., dict[str, Any]],
        *,
        callback_ctx: Any = None,
    ) -> None:
        """Sample, evaluate and narrow the space, ``n_rounds`` times."""
        if isinstance(self.cv, Iterator):
            raise ValueError(
                f"cv={self.cv!r} is an iterator, which can be read only once; pass "
                "a list of (train, test) pairs instead, e.g. cv=list(cv)."
            )
        spaces = _check_spaces(self.param_distributions)
        n_iter = self._n_iter_per_round()
        if self.n_rounds > 1:
            self._check_ranking_metric()
        cv = _SplitsOnce(self.cv, classifier=is_classifier(self.estimator))
        rng = check_random_state(self.random_state)
        chooser = categorical(list(range(len(spaces))))
        single = isinstance(self.param_distributions, Mapping)

        if callback_ctx is not None:
            search_ctx = callback_ctx.subcontext(
                task_name="search", max_subtasks=self.n_rounds
            ).call_on_fit_task_begin(estimator=self)

        self.search_spaces_ = []
        self.n_candidates_ = []
        self.interrupted_ = False
        origins: list[int] = []
        results: dict[str, Any] | None = None
        with _CtrlCStopsTheSearch() as ctrl_c:
            for round_ in range(self.n_rounds):
                if results is not None:  # every round but the first
                    metric = self._check_ranking_metric(results)
                    spaces, chooser = self._narrow_spaces(
                        spaces, chooser, results, origins, metric
                    )
                candidates, round_origins = _sample(
                    spaces, chooser, n_iter[round_], rng
                )
                extra = {}
                if callback_ctx is not None:
                    round_ctx = search_ctx.subcontext(
                        task_name="coarse-to-fine-round",
                        max_subtasks=len(candidates) * self.n_splits_,
                        sequential_subtasks=False,
                    ).call_on_fit_task_begin(estimator=self)
                    extra["callback_ctx"] = round_ctx
                try:
                    with ctrl_c.evaluating():
                        results = evaluate_candidates(
                            candidates,
                            cv,
                            more_results={"round": [round_] * len(candidates)},
                            **extra,
                        )
                except KeyboardInterrupt:
                    if results is None:
                        raise  # no round finished: nothing to keep
                    self._warn_interrupted(round_, len(origins))
                    break
                self.search_spaces_.append(dict(spaces[0]) if single else list(spaces))
                self.n_candidates_.append(len(candidates))
                origins.extend(round_origins)
                if self.verbose > 0:
                    self._print_round(round_, results, sum(n_iter), spaces)
                if callback_ctx is not None and round_ctx.call_on_fit_task_end(
                    estimator=self
                ):
                    break
                if ctrl_c.requested and round_ + 1 < self.n_rounds:
                    self._warn_interrupted(round_ + 1, len(origins))
                    break
        self.n_rounds_ = len(self.search_spaces_)

        if callback_ctx is not None:
            search_ctx.call_on_fit_task_end(estimator=self)

    def _warn_interrupted(self, round_: int, n_finished: int) -> None:
        self.interrupted_ = True
        warnings.warn(
            f"Ctrl-C stopped the search in round {round_ + 1} of {self.n_rounds}; "
            f"cv_results_ holds the {n_finished} candidates of the {round_} "
            "rounds that finished, and the best of them is refitted.",
            UserWarning,
        )


class _CtrlCStopsTheSearch:
    """Ctrl-C stops the search: at once while candidates are evaluated,
    between rounds otherwise.

    While candidates are evaluated the handler raises KeyboardInterrupt,
    which ends the round's fits (joblib stops its workers) and drops the
    round. Elsewhere it only records the request, which the search honours
    once the round's bookkeeping is done, so that the rounds that finished
    are kept whole. Estimators that handle Ctrl-C themselves see a handler
    other than Python's and raise KeyboardInterrupt rather than finish early,
    as MLPBatchNormClassifier does: a cut-short fit is never scored. Only in
    the main thread, and only where Python's own handler is in place: an
    application's own handler is left alone.
    """

    def __init__(self) -> None:
        self.requested = False
        self._evaluating = False
        self._previous: Callable[[int, FrameType | None], Any] | int | None = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        if self._evaluating:
            raise KeyboardInterrupt

    def __enter__(self) -> _CtrlCStopsTheSearch:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> Literal[False]:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False

    @contextlib.contextmanager
    def evaluating(self) -> Iterator[None]:
        """Mark the evaluation of a round's candidates."""
        if self.requested:
            raise KeyboardInterrupt
        self._evaluating = True
        try:
            yield
        finally:
            self._evaluating = False


# the parameter holding each solver's momentum term (its first-moment average)
_MOMENTUM_PARAMETER: dict[str, str | None] = {
    "adam": "beta_1",
    "momentum": "momentum",
    "rmsprop": None,
    "sgd": None,
}


def tuning_space(
    priority: Literal[1, 2, 3] = 1,
    *,
    solver: Literal["adam", "momentum", "rmsprop", "sgd"] = "adam",
    prefix: str = "",
) -> dict[str, SearchEntry]:
    """Search space for :class:`~sknormnet.MLPBatchNormClassifier` by priority.

    Not all hyperparameters matter equally. The learning rate matters most; then
    the momentum term, the mini-batch size and the number of hidden units; then
    the number of layers and the learning-rate decay. Adam's ``beta_2`` and
    ``epsilon`` are rarely worth tuning (0.999 and 1e-8 work well). Tune the
    first priority alone when compute is scarce, and add the others as it
    allows.

    Parameters
    ----------
    priority : {1, 2, 3}, default=1
        Include the hyperparameters of this priority and of the ones before:

        1. ``learning_rate_init``: ``loguniform(1e-4, 1)``, as good learning
           rates spread over decades.
        2. the momentum term, ``one_minus_loguniform(0.9, 0.999)`` (averaging
           over about 10 to 1000 steps, with as many draws above as below 0.99);
           ``batch_size``, powers of two ``[32, 64, 128, 256, 512]``;
           ``hidden_layer_sizes``, one hidden layer (the estimator's default
           depth) of ``loguniform_int(32, 512)`` units.
        3. ``hidden_layer_sizes`` with 1 to 4 hidden layers of
           ``loguniform_int(32, 512)`` units each, and ``decay_rate``,
           ``loguniform(1e-4, 1e-1)``: with the default inverse-time
           ``decay_schedule`` it divides the learning rate by about 1.01 to 11
           over 100 epochs.

    solver : {"adam", "momentum", "rmsprop", "sgd"}, default="adam"
        The estimator's solver, which decides the momentum term of priority 2:
        ``beta_1`` for ``"adam"``, ``momentum`` for ``"momentum"``, none for
        ``"sgd"`` and ``"rmsprop"`` (RMSprop's ``beta_2`` is, like Adam's,
        rarely tuned).

    prefix : str, default=""
        Prepended to every parameter name, e.g. ``"mlp__"`` when the classifier
        is the step named ``"mlp"`` of a :class:`~sklearn.pipeline.Pipeline`.

    Returns
    -------
    param_distributions : dict
        Parameter names mapped to distributions or lists, for
        :class:`CoarseToFineSearchCV` or
        :class:`~sklearn.model_selection.RandomizedSearchCV`.

    Examples
    --------
    >>> from sknormnet.model_selection import tuning_space
    >>> tuning_space(1)
    {'learning_rate_init': loguniform(low=0.0001, high=1.0)}
    >>> sorted(tuning_space(2, solver="momentum", prefix="mlp__"))
    ['mlp__batch_size', 'mlp__hidden_layer_sizes', 'mlp__learning_rate_init', 'mlp__momentum']
    >>> tuning_space(3)["hidden_layer_sizes"]
    layer_sizes(n_layers=[1, 2, 3, 4], n_units=loguniform_int(low=32, high=512))
    """
    if isinstance(priority, bool) or priority not in (1, 2, 3):
        raise ValueError(
            f"priority={priority!r} is not one of 1, 2, 3; use 1 for the learning "
            "rate alone, 2 to add momentum, batch size and hidden units, 3 to add "
            "the number of layers and the learning-rate decay."
        )
    if solver not in _MOMENTUM_PARAMETER:
        raise ValueError(
            f"solver={solver!r} is not one of {sorted(_MOMENTUM_PARAMETER)}; pass "
            "the solver of the estimator being tuned."
        )
    if not isinstance(prefix, str):
        raise ValueError(f"prefix={prefix!r} must be a string such as 'mlp__'.")

    space: dict[str, SearchEntry] = {"learning_rate_init": loguniform(1e-4, 1.0)}
    if priority >= 2:
        momentum = _MOMENTUM_PARAMETER[solver]
        if momentum is not None:
            space[momentum] = one_minus_loguniform(0.9, 0.999)
        space["batch_size"] = [32, 64, 128, 256, 512]
        space["hidden_layer_sizes"] = layer_sizes(
            n_layers=[1], n_units=loguniform_int(32, 512)
        )
    if priority >= 3:
        space["hidden_layer_sizes"] = layer_sizes(
            n_layers=[1, 2, 3, 4], n_units=loguniform_int(32, 512)
        )
        space["decay_rate"] = loguniform(1e-4, 1e-1)
    return {prefix + name: entry for name, entry in space.items()}
