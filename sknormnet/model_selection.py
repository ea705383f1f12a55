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
import shutil
import signal
import textwrap
import threading
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import joblib
import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._validation import (
    _fit_and_score,
    _insert_error_scores,
    _warn_or_raise_about_fit_failures,
)
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

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
    from typing import Protocol, Self, TypeAlias, TypeVar

    from numpy.typing import ArrayLike, NDArray

    _Fit = TypeVar("_Fit", bound=Callable[..., Any])

    # scikit-learn's decorator has no type hints: this keeps fit's signature.
    def _fit_context(
        *, prefer_skip_nested_validation: bool
    ) -> Callable[[_Fit], _Fit]: ...

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


else:
    from sklearn.base import _fit_context

__all__ = ["CoarseToFineSearchCV", "tuning_space"]


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
    """``"name range; name range"``, each range from the entry's ``describe()``,
    joined to its name by no-break spaces that wrapping the line keeps."""
    return "; ".join(
        f"{name} {as_distribution(entry).describe()}".replace(" ", _NO_BREAK)
        for name, entry in space.items()
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
        far (rounded up). With ``resource``, only candidates scored at the full
        resource count.

    resource : str, default=None
        The estimator's number of epochs, ``"max_iter"`` (``"step__max_iter"``
        for a step of a :class:`~sklearn.pipeline.Pipeline`), to make each
        round multi-fidelity: every candidate of the round first trains a few
        epochs, then only the best ``1 / factor`` go on to the next rung, and
        they *continue* training (``warm_start=True``) on the same folds, up to
        the estimator's own ``max_iter``. The estimator must have a
        ``warm_start`` parameter, and no early stopping. None trains every
        candidate fully. See Notes.

    min_resources : int, default=1
        The epochs of the first rung, with ``resource``: every candidate of a
        round starts with this many.

    factor : float, default=3
        With ``resource``, the ratio between the epochs of two rungs, and
        between the candidates they train: each rung keeps the best
        ``ceil(n / factor)`` of the ``n`` candidates of the rung before it.

    pick : {"neighbourhood", "best"}, default="best"
        How ``best_*`` and the zoom rank the candidates (those scored at the
        full resource). ``"best"``: by their mean CV score, as scikit-learn's
        searches do. ``"neighbourhood"``: by the mean CV scores of the
        candidates around each, weighted by their nearness on the sampling
        scales (see Notes), so that a candidate that scored high by luck, among
        neighbours that score low, ranks below one in a region that scores high
        throughout. Either way ``best_score_`` is the mean CV score of the
        candidate picked, which may then be lower than the highest score in
        ``cv_results_``.

    warm_start : bool, default=False
        Whether a fit continues the fitted search: with a larger ``n_rounds``,
        a second fit on the same data keeps the rows of the earlier rounds as
        they were (their ranks aside), fits only the new rounds, and ``best_*``
        covers all the rounds; the result is the same as fitting all the rounds
        at once. Other data, another space or other settings raise a
        ValueError, and no more rounds than were run warns and changes nothing.

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
        Verbosity, in lines wrapped to the terminal's width: 1 prints what the
        search will fit, then for each round once it is scored the candidates
        done (with ``resource``, how many reached each rung), the best mean
        score so far (that of the pick) and the range of each parameter the
        round sampled (the ``describe()`` of each distribution); 2 adds a line
        on the fits done, the time spent and the time left every few seconds;
        3 adds scikit-learn's line per fit.

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
        column (0, 1, ...). With ``resource``, one row per candidate and rung
        it reached, with the columns ``iter`` (the rung: 0, 1, ...) and
        ``n_resources`` (the epochs at which the row was scored), as in
        :class:`~sklearn.model_selection.HalvingRandomSearchCV`; the resource
        is one of the row's ``params``. Can be imported into a pandas
        ``DataFrame``.

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
        Mean cross-validated score of the candidate picked (see ``pick``), of
        all rounds.

    best_params_ : dict
        Parameters of the candidate picked, of all rounds; with ``resource``,
        the full number of epochs among them.

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

    **Multi-fidelity rounds.** With ``resource``, a round trains its
    candidates in rungs of :math:`m, m f, \\dots, m f^{K-2}` and :math:`E`
    epochs (rounded), where :math:`m` is ``min_resources``, :math:`f` is
    ``factor`` and :math:`E` is the estimator's ``max_iter``, as
    :class:`~sklearn.model_selection.HalvingRandomSearchCV` grows its
    resource, except that the last rung trains fully. The number of rungs,
    :math:`K = 1 + \\lfloor \\log_f(E / m) + 1/2 \\rfloor`, makes the last
    step, :math:`E / (m f^{K-2})`, the closest to :math:`f` on a log scale:
    with :math:`E = 20`, :math:`m = 1` and :math:`f = 3`, rungs of 1, 3, 9 and
    20 epochs. Every candidate trains the first rung
    on every split; the :math:`\\lceil n / f \\rceil` with the best mean score
    continue on the same splits to the next rung, with ``warm_start=True`` and
    as many more epochs as the rungs differ by. The shuffling, the optimizer's
    moments and the learning-rate schedule of
    :class:`~sknormnet.MLPBatchNormClassifier` carry on, so a candidate
    promoted to :math:`E` epochs holds the model trained :math:`E` epochs
    straight. In a :class:`~sklearn.pipeline.Pipeline`, the fitted steps
    before the resource's step are frozen
    (:class:`~sklearn.frozen.FrozenEstimator`) rather than refitted, so the
    network goes on with the same features even when a step draws at random.
    The search fits these rungs itself, through joblib as
    scikit-learn's searches do, as continuing needs the models of the rung
    before. Rungs save time when an epoch costs much more than the fixed cost
    of a fit (cloning, validating the data, fitting the pipeline's other
    steps, building the network, scoring). On scikit-learn's digits with one
    hidden layer of 64 units, an epoch takes about 1.3 ms and the fixed cost
    about 6 ms: three rounds of 48 candidates in rungs of 1, 3, 9 and 20
    epochs train 0.43 times the epochs of three rounds of 16 trained fully,
    but fit 4.5 times as often, and take about 1.6 times as long. Where
    candidates have layers of hundreds of units, they take about 0.8 times
    as long.

    **The neighbourhood pick.** Each candidate :math:`i` scored at the full
    resource sits at coordinates :math:`u_i \\in [0, 1]^d` in the space of
    round 0: each entry's ``coordinates`` (its ``cdf``, on the scale it samples
    uniformly; for a list of numbers the rank of the value, for other lists a
    one-hot vector). Its rank score averages the mean CV scores :math:`m_j` of
    the candidates of the same dict of ``param_distributions``, weighted by a
    Gaussian kernel of width :math:`h = 0.1` per coordinate, with the mean
    :math:`\\bar m` of all the candidates counted as one more neighbour:

    .. math::

        s_i = \\frac{\\sum_j w_{ij} m_j + \\bar m}{\\sum_j w_{ij} + 1}, \\qquad
        w_{ij} = \\exp\\left(-\\frac{\\lVert u_i - u_j \\rVert^2}{2 d h^2}\\right).

    Later rounds sample densely around the best candidates, so there
    :math:`s_i` averages over many fits and their random initializations,
    while an isolated candidate is pulled toward :math:`\\bar m`: a high
    score that its neighbours do not share, often luck, ranks below a region
    that scores high throughout.

    Candidates are drawn independently, with replacement, even when every
    entry is a list (where :class:`~sklearn.model_selection.RandomizedSearchCV`
    would sample the grid without replacement), so a candidate may repeat.
    Candidates with a non-finite score do not count among the best. The
    sampling uses one random generator, seeded by ``random_state``, in the main
    process, so the candidates and ``cv_results_`` do not depend on ``n_jobs``
    or on the joblib backend.

    On scikit-learn 1.9 and later, callbacks set with ``set_callbacks`` see a
    ``search`` task with one ``coarse-to-fine-round`` subtask per round, each
    holding one ``candidate-split-evaluation`` subtask per fit (per rung, with
    ``resource``), then the refit; a callback whose ``on_fit_task_end`` returns
    True at the end of a round stops the search after that round.

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
        "resource": [str, None],
        "min_resources": [Interval(numbers.Integral, 1, None, closed="left")],
        "factor": [Interval(numbers.Real, 1, None, closed="neither")],
        "pick": [StrOptions({"neighbourhood", "best"})],
        "warm_start": ["boolean"],
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
        resource: str | None = None,
        min_resources: int = 1,
        factor: float = 3,
        pick: Literal["neighbourhood", "best"] = "best",
        warm_start: bool = False,
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
        self.resource = resource
        self.min_resources = min_resources
        self.factor = factor
        self.pick = pick
        self.warm_start = warm_start
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
        """The ranking metric, which zooming and promoting need."""
        metric = self._ranking_metric(results)
        if metric is None:
            raise ValueError(
                f"With multi-metric scoring, CoarseToFineSearchCV ranks the "
                f"candidates by the metric named by refit to choose where to zoom "
                f"and which candidates go on to more epochs, but "
                f"refit={self.refit!r}; set refit to one of the scorer names, or "
                "n_rounds=1 without resource."
            )
        return metric

    # ------------------------------------------------------------ rungs

    def _rungs(self) -> list[int | None]:
        """Epochs of each rung of a round: ``[None]`` without ``resource``."""
        if self.resource is None:
            return [None]
        params = self.estimator.get_params()
        example = self._beside_resource("max_iter")
        if self.resource not in params:
            raise ValueError(
                f"resource={self.resource!r} is not a parameter of the estimator "
                f"{type(self.estimator).__name__}; name its epoch count, e.g. "
                "resource='max_iter', or 'mlp__max_iter' for the step 'mlp' of a "
                "Pipeline."
            )
        if (
            self.resource != example
            or self._beside_resource("warm_start") not in params
        ):
            raise ValueError(
                f"resource={self.resource!r} is not an epoch parameter: "
                "multi-fidelity rounds continue the promoted candidates with "
                "warm_start=True and max_iter more epochs, so resource must be the "
                f"max_iter of an estimator with warm_start, e.g. {example!r}."
            )
        early_stopping = self._beside_resource("early_stopping")
        if params.get(early_stopping) is True:
            raise ValueError(
                f"resource={self.resource!r} with {early_stopping}=True: each rung "
                "would hold out another validation share and restore its own best "
                "epoch, so a promoted candidate would not continue the model of "
                f"the rung before; set {early_stopping}=False (the rungs already "
                "stop the weak candidates early)."
            )
        full = params[self.resource]
        if isinstance(full, bool) or not isinstance(full, numbers.Integral) or full < 1:
            raise ValueError(
                f"resource={self.resource!r} must be an integer number of epochs, "
                f"but the estimator's {self.resource} is {full!r}; set it to the "
                "epochs of a full fit, e.g. 20."
            )
        for space in _check_spaces(self.param_distributions):
            if self.resource in space:
                raise ValueError(
                    f"resource={self.resource!r} is also searched by "
                    "param_distributions; the rungs set it, so remove it from the "
                    "space and set the full number of epochs on the estimator."
                )
        if self.min_resources > full:
            raise ValueError(
                f"min_resources={self.min_resources} is more than the estimator's "
                f"{self.resource}={full}, the epochs of a full fit; lower "
                "min_resources or raise the estimator's epochs."
            )
        full = int(full)
        # As many rungs as make the last step, to the full epochs, closest to
        # factor on a log scale (between sqrt(factor) and factor**1.5); the
        # epsilon keeps exact powers, e.g. log(27, 3) = 3.0000000000000004.
        n_steps = math.floor(
            math.log(full / self.min_resources, self.factor) + 0.5 + 1e-9
        )
        epochs: list[int | None] = []
        for k in range(n_steps):
            rung = round(self.min_resources * self.factor**k)
            if rung < full and (not epochs or rung > cast("int", epochs[-1])):
                epochs.append(rung)
        epochs.append(full)
        return epochs

    def _evaluate_round(
        self,
        candidates: list[dict[str, Any]],
        round_: int,
        evaluation: _Evaluation,
        rungs: list[int | None],
        metric: str | None,
    ) -> tuple[
        list[dict[str, Any]], list[dict[str, Any]], dict[str, list[Any]], list[int]
    ]:
        """Evaluate a round's candidates rung by rung.

        Returns the rows' parameters, their fit outputs (one per split, row by
        row), their ``more_results`` columns and, for each row, the index of its
        candidate.
        """
        n_splits = len(evaluation.splits)
        rows: list[dict[str, Any]] = []
        outs: list[dict[str, Any]] = []
        more: dict[str, list[Any]] = defaultdict(list)
        which: list[int] = []
        alive = list(range(len(candidates)))
        models: dict[tuple[int, int], Any] = {}
        previous = 0
        for k, epochs in enumerate(rungs):
            if k > 0:
                scores = _mean_scores(outs[-len(alive) * n_splits :], n_splits, metric)
                ranked = sorted(  # stable: ties keep the order of drawing
                    (pair for pair in zip(scores, alive) if np.isfinite(pair[0])),
                    key=lambda pair: -pair[0],
                )
                n_promoted = math.ceil(len(alive) / self.factor)
                alive = sorted(i for _, i in ranked[:n_promoted])
                if not alive:
                    break
            last = k == len(rungs) - 1
            # a fresh fit is (None, its parameters), built in the worker; a
            # continued one, the model of the rung before and what changes
            starts = []
            for i in alive:
                for split in range(n_splits):
                    if k == 0:
                        params = dict(candidates[i])
                        if epochs is not None:
                            params[cast("str", self.resource)] = epochs
                        starts.append((None, params))
                    else:
                        more_epochs = {
                            self._beside_resource("warm_start"): True,
                            cast("str", self.resource): cast("int", epochs) - previous,
                        }
                        starts.append((models.pop((i, split)), more_epochs))
            label = f"  round {round_}" + (
                ""
                if epochs is None
                else f", {epochs} epoch{'' if epochs == 1 else 's'}"
            )
            rung_outs = evaluation.run(
                starts, n_splits, keep_models=not last, quiet=not last, label=label
            )
            if not last:
                models = {
                    (alive[j // n_splits], j % n_splits): _freeze_before(
                        out.pop("estimator"), cast("str", self.resource)
                    )
                    for j, out in enumerate(rung_outs)
                }
            for i in alive:
                row = dict(candidates[i])
                if epochs is not None:
                    row[cast("str", self.resource)] = epochs
                    more["iter"].append(k)
                    more["n_resources"].append(epochs)
                more["round"].append(round_)
                rows.append(row)
                which.append(i)
            outs.extend(rung_outs)
            previous = epochs or 0
        return rows, outs, more, which

    def _beside_resource(self, name: str) -> str:
        """The parameter ``name`` of the step that ``resource`` belongs to,
        e.g. ``"mlp__warm_start"`` for ``resource="mlp__max_iter"``."""
        step, _, _ = cast("str", self.resource).rpartition("__")
        return f"{step}__{name}" if step else name

    # ------------------------------------------------------------ picking

    def _full_rows(self, results: Mapping[str, Any]) -> NDArray[np.intp]:
        """Rows scored at the full resource (all rows without ``resource``)."""
        if "n_resources" not in results:
            return np.arange(len(results["params"]))
        n_resources = np.asarray(results["n_resources"])
        return np.flatnonzero(n_resources == n_resources.max())

    def _ranking_scores(
        self, history: _History, metric: str, rows: NDArray[np.intp]
    ) -> NDArray[np.float64]:
        """The scores ranking ``rows``: their mean CV score, or with
        ``pick="neighbourhood"`` the kernel-weighted mean of the scores of
        the full-resource candidates near each (see Notes)."""
        results = history.results
        scores = np.asarray(results[f"mean_test_{metric}"], dtype=float)[rows]
        finite = np.isfinite(scores)
        if self.pick == "best" or not finite.any():
            return scores
        origins = np.asarray([history.origins[row] for row in rows])
        prior = scores[finite].mean()
        smoothed = scores.copy()
        for origin in np.unique(origins[finite]):
            members = np.flatnonzero((origins == origin) & finite)
            points = np.asarray(
                [
                    self._coordinates(history, results["params"][rows[i]], origin)
                    for i in members
                ]
            ).reshape(len(members), -1)
            distance2 = np.mean((points[:, None, :] - points[None, :, :]) ** 2, axis=2)
            if not points.shape[1]:  # no coordinates: every candidate is near
                distance2 = np.zeros((len(members), len(members)))
            weights = np.exp(-distance2 / (2 * _NEIGHBOURHOOD**2))
            smoothed[members] = (weights @ scores[members] + _PRIOR_WEIGHT * prior) / (
                weights.sum(axis=1) + _PRIOR_WEIGHT
            )
        return smoothed

    def _coordinates(
        self, history: _History, params: Mapping[str, Any], origin: int
    ) -> list[float]:
        """The candidate's coordinates in round 0's space number ``origin``."""
        space = history.first_spaces[origin]
        point: list[float] = []
        for name in sorted(space):
            # a distribution of another library may not place values
            coordinates = getattr(as_distribution(space[name]), "coordinates", None)
            if coordinates is not None:
                point.extend(coordinates(params[name]))
        return point

    def _top_candidates(self, history: _History, metric: str) -> NDArray[np.intp]:
        """Rows of the best full-resource candidates so far, best first."""
        rows = self._full_rows(history.results)
        scores = self._ranking_scores(history, metric, rows)
        finite = np.isfinite(scores)
        if isinstance(self.top_k, numbers.Integral):
            k = int(self.top_k)
        else:
            k = math.ceil(self.top_k * len(rows))
        order = np.argsort(-np.where(finite, scores, -np.inf), kind="stable")
        return rows[order[: min(k, int(finite.sum()))]]

    def _best_index(self, history: _History, metric: str) -> int:
        """The pick: the top full-resource candidate (see ``pick``)."""
        top = self._top_candidates(history, metric)
        if len(top):
            return int(top[0])
        return int(self._full_rows(history.results)[0])  # every score is non-finite

    def _narrow_spaces(
        self, history: _History, metric: str
    ) -> tuple[list[SearchSpace], categorical[int]]:
        """The history's spaces, each narrowed around its best candidates, and
        its chooser of spaces, toward them."""
        spaces, chooser = history.spaces, history.chooser
        best = self._top_candidates(history, metric)
        if len(best) == 0:
            return spaces, chooser
        params, origins = history.results["params"], history.origins
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

    # ------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: Any, y: Any = None, **params: Any) -> Self:
        """Run the rounds, and refit the best candidate on the whole data.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,), default=None
            Target.
        **params : dict
            Passed to the estimator's ``fit`` (and ``groups`` to the splitter),
            as in :class:`~sklearn.model_selection.RandomizedSearchCV`.

        Returns
        -------
        self : CoarseToFineSearchCV
            The fitted search.
        """
        spaces = _check_spaces(self.param_distributions)
        n_iter = self._n_iter_per_round()
        rungs = self._rungs()
        if self.n_rounds > 1 or rungs != [None]:
            self._check_ranking_metric()
        if isinstance(self.cv, Iterator):
            raise ValueError(
                f"cv={self.cv!r} is an iterator, which can be read only once; pass "
                "a list of (train, test) pairs instead, e.g. cv=list(cv)."
            )
        routed = self._get_routed_params_for_fit(params)
        scorers, refit_metric = self._get_scorers()
        history = self._history = self._continue_or_start(X, y, params, routed, spaces)
        self.n_splits_ = len(history.splits)
        n_done = len(history.search_spaces)
        if n_done >= self.n_rounds and n_done:
            warnings.warn(
                f"warm_start=True and n_rounds={self.n_rounds}, but the search "
                f"already ran {n_done} rounds; raise n_rounds to run more.",
                UserWarning,
            )
            return self

        if self.verbose > 0:
            self._print_start(n_iter[n_done:], rungs)
        callbacks = _Callbacks(self, X, y, params)
        evaluation = _Evaluation(self, X, y, routed, scorers, history.splits, callbacks)
        self.interrupted_ = False
        # Each fit's callback context carries the search to its worker; the
        # history, which holds every result so far, stays off it meanwhile.
        del self._history
        try:
            self._run_rounds(history, n_iter, rungs, evaluation, callbacks)
        finally:
            self._history = history
        self._store_results(history, scorers, refit_metric, X, y, routed, callbacks)
        callbacks.end()
        return self

    def _run_rounds(
        self,
        history: _History,
        n_iter: list[int],
        rungs: list[int | None],
        evaluation: _Evaluation,
        callbacks: _Callbacks,
    ) -> None:
        """Run the rounds after those in ``history``, adding each to it."""
        n_done = len(history.search_spaces)
        metric = self._ranking_metric()
        with _CtrlCStopsTheSearch() as ctrl_c:
            callbacks.begin_search(self.n_rounds - n_done)
            for round_ in range(n_done, self.n_rounds):
                if history.params:
                    ranking = self._check_ranking_metric(history.results)
                    history.spaces, history.chooser = self._narrow_spaces(
                        history, ranking
                    )
                candidates, origins = _sample(
                    history.spaces, history.chooser, n_iter[round_], history.rng
                )
                callbacks.begin_round(len(candidates) * self.n_splits_ * len(rungs))
                try:
                    with ctrl_c.evaluating():
                        rows, outs, more, which = self._evaluate_round(
                            candidates, round_, evaluation, rungs, metric
                        )
                except KeyboardInterrupt:
                    if not history.params:
                        raise  # no round finished: nothing to keep
                    self._warn_interrupted(round_, len(history.params))
                    break
                history.add_round(
                    rows, outs, more, [origins[i] for i in which], len(candidates)
                )
                history.results = self._format_results(
                    history.params, self.n_splits_, history.out, history.more
                )
                if self.verbose > 0:
                    self._print_round(round_, history, rungs, sum(n_iter))
                if callbacks.end_round():
                    break
                if ctrl_c.requested and round_ + 1 < self.n_rounds:
                    self._warn_interrupted(round_ + 1, len(history.params))
                    break
            callbacks.end_search()

    def _continue_or_start(
        self,
        X: Any,
        y: Any,
        params: Mapping[str, Any],
        routed: Any,
        spaces: list[SearchSpace],
    ) -> _History:
        """The earlier fit's history with ``warm_start``, else a new one."""
        key = _fit_key(self, X, y, params)
        earlier: _History | None = getattr(self, "_history", None)
        if self.warm_start and earlier is not None and earlier.search_spaces:
            changed = [name for name in key if key[name] != earlier.key[name]]
            if changed:
                raise ValueError(
                    f"warm_start=True continues the earlier search only on the same "
                    f"data, space and settings, but {', '.join(changed)} changed; "
                    "fit with warm_start=False to start a new search."
                )
            return earlier
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, **routed.splitter.split))
        if not splits:
            raise ValueError(f"cv={self.cv!r} gave no split; give at least one.")
        return _History(
            key,
            splits,
            check_random_state(self.random_state),
            spaces,
            single=isinstance(self.param_distributions, Mapping),
        )

    def _store_results(
        self,
        history: _History,
        scorers: Any,
        refit_metric: str,
        X: Any,
        y: Any,
        routed: Any,
        callbacks: _Callbacks,
    ) -> None:
        """The attributes of a fitted search, as scikit-learn's searches set them."""
        results = history.results
        self.search_spaces_ = list(history.search_spaces)
        self.n_candidates_ = list(history.n_candidates)
        self.n_rounds_ = len(history.search_spaces)
        first_test_score = history.out[0]["test_scores"]
        self.multimetric_ = isinstance(first_test_score, dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(first_test_score)
            refit_metric = cast("str", self.refit)
        if self.refit or not self.multimetric_:
            if callable(self.refit):
                self.best_index_ = self._select_best_index(
                    self.refit, refit_metric, results
                )
            else:
                self.best_index_ = self._best_index(history, refit_metric)
                self.best_score_ = float(
                    results[f"mean_test_{refit_metric}"][self.best_index_]
                )
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(self.estimator).set_params(
                **clone(self.best_params_, safe=False)
            )
            with callbacks.refitting(self.best_estimator_):
                start = time.perf_counter()
                if y is not None:
                    self.best_estimator_.fit(X, y, **routed.estimator.fit)
                else:
                    self.best_estimator_.fit(X, **routed.estimator.fit)
                self.refit_time_ = time.perf_counter() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = (
            scorers._scorers if isinstance(scorers, _MultimetricScorer) else scorers
        )
        self.cv_results_ = results

    def _print_start(self, n_iter: list[int], rungs: list[int | None]) -> None:
        """The verbose line that says what the search will fit."""
        sizes = sorted(set(n_iter))
        candidates = "/".join(str(n) for n in sizes)
        line = (
            f"CoarseToFineSearchCV: {self.n_rounds} rounds x {candidates} "
            f"candidates x {self.n_splits_} folds"
        )
        if rungs != [None]:
            epochs = ", ".join(str(e) for e in rungs)
            line += f"; rungs of {epochs} epochs, 1/{self.factor:g} promoted"
        _print_wrapped(line)

    def _print_round(
        self, round_: int, history: _History, rungs: list[int | None], n_total: int
    ) -> None:
        """The verbose lines of a scored round: candidates, the best CV score so
        far (that of the pick, see ``pick``), and the ranges sampled."""
        results = history.results
        line = f"round {round_}: {sum(history.n_candidates)}/{n_total} candidates"
        if rungs != [None]:
            in_round = np.asarray(history.more["round"]) == round_
            epochs = np.asarray(history.more["n_resources"])[in_round]
            reached = [e for e in rungs if np.any(epochs == e)]
            counts = "/".join(str(int(np.sum(epochs == e))) for e in reached)
            line += f" ({counts} at {'/'.join(str(e) for e in reached)} epochs)"
        metric = self._ranking_metric(results)
        if metric is not None:
            best = self._best_index(history, metric)
            score = float(results[f"mean_test_{metric}"][best])
            shown = f"{score:.4f}" if np.isfinite(score) else "n/a"
            line += f", best CV {metric} {shown}"
        _print_wrapped(line)
        spaces = history.search_spaces[-1]
        spaces = [spaces] if isinstance(spaces, Mapping) else spaces
        ranges = " | ".join(_describe_space(space) for space in spaces)
        _print_wrapped(ranges, indent=2)

    def _warn_interrupted(self, round_: int, n_finished: int) -> None:
        self.interrupted_ = True
        warnings.warn(
            f"Ctrl-C stopped the search in round {round_ + 1} of {self.n_rounds}; "
            f"cv_results_ holds the {n_finished} rows of the {round_} rounds that "
            "finished, and the best of them is refitted.",
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


# How near two candidates must be for pick="neighbourhood" to average their
# scores: the Gaussian kernel's width, as a root-mean-square distance over the
# coordinates of round 0's space (each coordinate spans [0, 1]).
_NEIGHBOURHOOD = 0.1

# Joins the words that line wrapping must keep together.
_NO_BREAK = "\u00a0"

# pick="neighbourhood" counts the mean score of all the candidates as this
# many neighbours of each: a lone candidate is pulled toward the average as
# much as by one neighbour, so a lucky score alone does not outrank a region
# that scores high throughout.
_PRIOR_WEIGHT = 1.0

# Seconds between two progress lines of a rung at verbose >= 2.
_PROGRESS_EVERY = 5.0

# The settings a warm-started fit must share with the fit it continues.
_SETTINGS = (
    "estimator",
    "cv",
    "scoring",
    "top_k",
    "resource",
    "min_resources",
    "factor",
    "pick",
    "error_score",
    "return_train_score",
)


def _entry_key(entry: Any) -> Any:
    """A value that is equal for equal entries of a space."""
    if isinstance(entry, Mapping):
        return tuple(sorted((name, _entry_key(e)) for name, e in entry.items()))
    if isinstance(entry, list | tuple):
        return tuple(_entry_key(e) for e in entry)
    frozen = getattr(entry, "dist", None)
    if frozen is not None and hasattr(entry, "args"):  # a frozen scipy.stats
        return (getattr(frozen, "name", repr(frozen)), entry.args, repr(entry.kwds))
    return repr(entry)


def _fit_key(
    search: CoarseToFineSearchCV, X: Any, y: Any, params: Any
) -> dict[str, Any]:
    """What a warm-started fit checks against the fit it continues."""
    key = {
        "the data": _hash((X, y, params)),
        "param_distributions": _entry_key(search.param_distributions),
    }
    for name in _SETTINGS:
        value = getattr(search, name)
        key[name] = _hash(value) if name == "estimator" else _entry_key(value)
    return key


def _hash(value: Any) -> Any:
    """joblib's hash of ``value``, or its ``repr`` if it cannot be pickled."""
    try:
        return joblib.hash(value)
    except Exception:  # e.g. a class defined in a function
        return repr(value)


def _mean_scores(
    outs: Sequence[Mapping[str, Any]], n_splits: int, metric: str | None
) -> NDArray[np.float64]:
    """Each candidate's mean test score over the splits, candidate by candidate."""
    scores = []
    for out in outs:
        test = out["test_scores"]
        scores.append(test[metric] if isinstance(test, dict) else test)
    means: NDArray[np.float64] = (
        np.asarray(scores, dtype=float).reshape(-1, n_splits).mean(axis=1)
    )
    return means


def _freeze_before(model: Any, resource: str) -> Any:
    """``model`` with the steps of each Pipeline on the way to ``resource``
    that come before it frozen, so that continuing the resource's step does
    not refit them: a refit transformer that draws at random (a projection,
    say, without a ``random_state``) would change the features under the
    network it feeds. A step that does not report itself fitted (a stateless
    transformer without fitted attributes) is left to be refitted."""
    name, _, rest = resource.partition("__")
    if not rest or not isinstance(model, Pipeline):
        return model
    names = [step_name for step_name, _ in model.steps]
    if name not in names:
        return model
    for i, (step_name, step) in enumerate(model.steps[: names.index(name)]):
        if _is_fitted(step) and not isinstance(step, FrozenEstimator):
            model.steps[i] = (step_name, FrozenEstimator(step))
    _freeze_before(model.named_steps[name], rest)
    return model


def _is_fitted(step: Any) -> bool:
    if step is None or isinstance(step, str):  # "passthrough", "drop"
        return False
    try:
        check_is_fitted(step)
    except (NotFittedError, TypeError):
        return False
    return True


def _fit_and_score_quietly(
    estimator: Any,
    params: dict[str, Any],
    X: Any,
    y: Any,
    *,
    fresh: bool,
    quiet: bool,
    **kwargs: Any,
) -> dict[str, Any]:
    """scikit-learn's fit-and-score of one split, run in the worker: of a clone
    of ``estimator`` with ``params`` when ``fresh``, else of the fitted
    ``estimator`` continued with ``params``. ``quiet`` silences the convergence
    warnings of fits that a later rung continues."""
    if fresh:
        estimator = clone(estimator)
    estimator.set_params(**clone(params, safe=False))
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", ConvergenceWarning)
        out: dict[str, Any] = _fit_and_score(estimator, X, y, **kwargs)
        return out


class _History:
    """What a fitted search keeps, so that a warm-started fit continues it."""

    def __init__(
        self,
        key: dict[str, Any],
        splits: list[tuple[Any, Any]],
        rng: np.random.RandomState,
        spaces: list[SearchSpace],
        single: bool,
    ) -> None:
        self.key = key
        self.splits = splits
        self.rng = rng
        self.first_spaces = spaces
        self.spaces = spaces
        self.single = single
        self.chooser = categorical(list(range(len(spaces))))
        self.params: list[dict[str, Any]] = []
        self.out: list[dict[str, Any]] = []
        self.more: dict[str, list[Any]] = defaultdict(list)
        self.origins: list[int] = []
        self.search_spaces: list[Any] = []
        self.n_candidates: list[int] = []
        self.results: dict[str, Any] = {}

    def add_round(
        self,
        rows: list[dict[str, Any]],
        outs: list[dict[str, Any]],
        more: Mapping[str, list[Any]],
        origins: list[int],
        n_candidates: int,
    ) -> None:
        self.params.extend(rows)
        self.out.extend(outs)
        for name, values in more.items():
            self.more[name].extend(values)
        self.origins.extend(origins)
        self.search_spaces.append(
            dict(self.spaces[0]) if self.single else list(self.spaces)
        )
        self.n_candidates.append(n_candidates)


class _Callbacks:
    """scikit-learn's callbacks (1.9 and later), told of the search's tasks.

    The root task holds a ``search`` task, with one ``coarse-to-fine-round``
    subtask per round and one subtask per fit in it, then the refit. Before
    scikit-learn 1.9, or when neither the search nor an estimator in it has
    a callback, every method does nothing: each fit's task context carries
    the search to the worker, which costs as much as a short fit.
    """

    def __init__(self, search: CoarseToFineSearchCV, X: Any, y: Any, params: Any):
        self.search = search
        init = getattr(search, "_init_callback_context", None)
        self.enabled = init is not None and _has_callbacks(search)
        if not self.enabled:
            return
        sample_weight = params.get("sample_weight")
        self.hook = {
            "X": X,
            "y": y,
            "metadata": None
            if sample_weight is None
            else {"sample_weight": sample_weight},
        }
        self.root = cast("Callable[..., Any]", init)(
            max_subtasks=1 + (search.refit is not False)
        ).call_on_fit_task_begin(estimator=search, **self.hook)

    def begin_search(self, n_rounds: int) -> None:
        if self.enabled:
            self.search_ctx = self.root.subcontext(
                task_name="search", max_subtasks=n_rounds
            ).call_on_fit_task_begin(estimator=self.search)

    def begin_round(self, max_fits: int) -> None:
        if self.enabled:
            self.round_ctx = self.search_ctx.subcontext(
                task_name="coarse-to-fine-round",
                max_subtasks=max_fits,
                sequential_subtasks=False,
            ).call_on_fit_task_begin(estimator=self.search)
            self.n_fits = 0

    def fit_arguments(self) -> dict[str, Any]:
        """The callback arguments of scikit-learn's fit-and-score, for one fit."""
        if not self.enabled:
            return {}
        context = self.round_ctx.subcontext(
            task_name="candidate-split-evaluation", task_id=self.n_fits
        )
        self.n_fits += 1
        return {"caller": self.search, "callback_ctx": context}

    def end_round(self) -> bool:
        """Whether a callback asks to stop the search after this round."""
        return self.enabled and bool(
            self.round_ctx.call_on_fit_task_end(estimator=self.search)
        )

    def end_search(self) -> None:
        if self.enabled:
            self.search_ctx.call_on_fit_task_end(estimator=self.search)

    @contextlib.contextmanager
    def refitting(self, estimator: Any) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        context = self.root.subcontext(task_name="refit-with-best-params")
        with context.propagate_callback_context(estimator):
            context.call_on_fit_task_begin(estimator=self.search, **self.hook)
            yield
        context.call_on_fit_task_end(estimator=self.search, **self.hook)

    def end(self) -> None:
        if self.enabled:
            self.root.call_on_fit_task_end(estimator=self.search, **self.hook)


def _has_callbacks(search: CoarseToFineSearchCV) -> bool:
    """Whether the search, its estimator or a step of it has a callback."""
    estimators = [search, search.estimator, *search.estimator.get_params().values()]
    return any(getattr(each, "_skl_callbacks", None) for each in estimators)


class _Evaluation:
    """Fits and scores estimators on the search's splits, through joblib."""

    def __init__(
        self,
        search: CoarseToFineSearchCV,
        X: Any,
        y: Any,
        routed: Any,
        scorers: Any,
        splits: list[tuple[Any, Any]],
        callbacks: _Callbacks,
    ) -> None:
        self.base_estimator = clone(search.estimator)
        self.X, self.y = X, y
        self.splits = splits
        self.callbacks = callbacks
        self.n_jobs, self.pre_dispatch = search.n_jobs, search.pre_dispatch
        self.verbose = search.verbose
        self.error_score = search.error_score
        self.callable_scoring = callable(search.scoring)
        self.arguments = {
            "scorer": scorers,
            "fit_params": routed.estimator.fit,
            "score_params": routed.scorer.score,
            "return_train_score": search.return_train_score,
            "return_n_test_samples": True,
            "return_times": True,
            "parameters": None,  # set on each estimator before it is sent
            "return_parameters": False,
            "error_score": search.error_score,
            # scikit-learn's line per fit comes at verbose 3 and more
            "verbose": search.verbose if search.verbose >= 3 else 0,
        }

    def run(
        self,
        starts: list[tuple[Any, dict[str, Any]]],
        n_splits: int,
        *,
        keep_models: bool,
        quiet: bool,
        label: str,
    ) -> list[dict[str, Any]]:
        """Fit and score ``starts[j]`` on split ``j % n_splits``, in order.

        A start is ``(None, params)``, a clone of the estimator with
        ``params``, or ``(model, params)``, a fitted model to continue with
        ``params`` set.
        """
        tasks = [
            (start, self.splits[j % n_splits], self.callbacks.fit_arguments())
            for j, start in enumerate(starts)
        ]
        try:
            parallel = Parallel(
                n_jobs=self.n_jobs,
                pre_dispatch=self.pre_dispatch,
                return_as="generator",
            )
        except ValueError:  # a backend that returns all at once (multiprocessing)
            parallel = Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch)
        progress = _Progress(label, len(tasks), enabled=self.verbose >= 2)
        outs = []
        for out in parallel(
            delayed(_fit_and_score_quietly)(
                self.base_estimator if model is None else model,
                params,
                self.X,
                self.y,
                fresh=model is None,
                train=train,
                test=test,
                quiet=quiet,
                return_estimator=keep_models,
                **self.arguments,
                **callback_arguments,
            )
            for (model, params), (train, test), callback_arguments in tasks
        ):
            outs.append(out)
            progress.update(len(outs))
        _warn_or_raise_about_fit_failures(outs, self.error_score)
        if self.callable_scoring:
            _insert_error_scores(outs, self.error_score)
        return outs


def _print_wrapped(text: str, indent: int = 0) -> None:
    """``text`` wrapped to the terminal's width, continuation lines indented;
    no-break spaces keep words together unless they alone exceed the width."""
    width = shutil.get_terminal_size().columns
    lines = textwrap.wrap(
        text,
        width,
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + 2),
        break_on_hyphens=False,
    )
    lines = [
        piece
        for line in lines
        for piece in (
            [line]
            if len(line) <= width
            else textwrap.wrap(
                line.replace(_NO_BREAK, " "),
                width,
                subsequent_indent=" " * (indent + 2),
                break_on_hyphens=False,
            )
        )
    ]
    print("\n".join(line.replace(_NO_BREAK, " ") for line in lines), flush=True)


class _Progress:
    """A line on the fits done, at most every few seconds, at verbose >= 2."""

    def __init__(self, label: str, total: int, *, enabled: bool) -> None:
        self.label = label
        self.total = total
        self.enabled = enabled
        self.start = self.last = time.perf_counter()

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if not self.enabled or (
            now - self.last < _PROGRESS_EVERY and done < self.total
        ):
            return
        self.last = now
        elapsed = now - self.start
        left = elapsed / done * (self.total - done)
        line = f"{self.label}: {done}/{self.total} fits, {elapsed:.0f} s"
        line += ", done" if done == self.total else f", about {left:.0f} s left"
        _print_wrapped(line)


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
