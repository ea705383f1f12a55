"""A network tuned for a table, in one call: preprocessing, search, ensemble.

:class:`TunedMLPClassifier` is what ``sknormnet tune`` runs on a table. From
what it sees in the training rows (their number, the columns' types, the
classes) it builds the preprocessing, the search space of
:class:`~sknormnet.MLPBatchNormClassifier`, each fit's training budget and the
splits, runs :class:`~sknormnet.model_selection.CoarseToFineSearchCV` within a
time budget, and averages the probabilities of the best candidates, refitted
on all the rows.
"""

from __future__ import annotations

import difflib
import math
import time
import warnings
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import VotingClassifier
from sklearn.impute import SimpleImputer
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    QuantileTransformer,
    StandardScaler,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from sknormnet._columns import MAX_CATEGORIES, is_numeric
from sknormnet._mlp import MLPBatchNormClassifier
from sknormnet.distributions import layer_sizes, loguniform, loguniform_int
from sknormnet.model_selection import CoarseToFineSearchCV
from sknormnet.preprocessing import as_float32, as_text

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Self, TypeVar

    from numpy.typing import ArrayLike, NDArray

    _Fit = TypeVar("_Fit", bound=Callable[..., Any])

    def _fit_context(
        *, prefer_skip_nested_validation: bool
    ) -> Callable[[_Fit], _Fit]: ...

else:
    from sklearn.base import _fit_context

__all__ = ["TunedMLPClassifier", "auto_time_budget", "tabular_pipeline"]

# The network's step in the pipeline, and so the prefix of its parameters.
STEP = "mlp"
# Above this many rows the candidates are scored on one held-out fifth
# instead of by 3-fold cross-validation: the folds' extra fits would take
# the time of more candidates, and a fifth of that many rows scores steadily.
HOLDOUT_ABOVE = 3000
# Of the time budget, the share the search takes; the rest refits the ensemble.
SEARCH_SHARE = 0.7
# The first round draws this many candidates per worker, the later ones half.
FIRST_ROUND_PER_WORKER = 4


def tabular_pipeline(X: pd.DataFrame, *, scaling: str = "standard") -> Pipeline:
    """The preprocessing of a table's columns, then the network.

    Numeric columns are imputed with their median and scaled: ``"standard"``
    (:class:`~sklearn.preprocessing.StandardScaler`) or ``"quantile"`` (a
    :class:`~sklearn.preprocessing.QuantileTransformer` to a normal
    distribution, which tames skewed columns and outliers). The other columns
    (text, categories, booleans) are imputed with ``"missing"`` and one-hot
    encoded, at most ``MAX_CATEGORIES`` features per column: the most
    frequent values and one for the rarer ones.

    Parameters
    ----------
    X : DataFrame
        The feature columns.
    scaling : {"standard", "quantile"}, default="standard"
        How the numeric columns are scaled.

    Returns
    -------
    pipeline : Pipeline
        Steps ``"preprocess"`` (a ColumnTransformer of ``"numeric"`` and
        ``"categorical"`` pipelines, each present when such columns are),
        ``"float32"`` (:func:`~sknormnet.preprocessing.as_float32`: the
        network trains in float32, about twice as fast as in float64) and
        ``"mlp"`` (an :class:`~sknormnet.MLPBatchNormClassifier`).

    Examples
    --------
    >>> import pandas as pd
    >>> from sknormnet.tabular import tabular_pipeline
    >>> X = pd.DataFrame({"age": [31, 45], "plan": ["basic", "premium"]})
    >>> pipeline = tabular_pipeline(X)
    >>> [name for name, _, _ in pipeline["preprocess"].transformers]
    ['numeric', 'categorical']
    """
    numeric = [column for column in X.columns if is_numeric(X[column])]
    others = [column for column in X.columns if column not in numeric]
    transformers = []
    if numeric:
        steps = [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", _scaler(scaling, len(X))),
        ]
        transformers.append(("numeric", Pipeline(steps), numeric))
    if others:
        steps = [
            ("text", FunctionTransformer(as_text, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            (
                "encode",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist", max_categories=MAX_CATEGORIES
                ),
            ),
        ]
        transformers.append(("categorical", Pipeline(steps), others))
    return Pipeline(
        [
            ("preprocess", ColumnTransformer(transformers)),
            ("float32", FunctionTransformer(as_float32)),
            (STEP, MLPBatchNormClassifier()),
        ]
    )


def _scaler(scaling: str, n_rows: int) -> Any:
    if scaling == "quantile":
        return QuantileTransformer(
            output_distribution="normal",
            n_quantiles=max(2, min(1000, n_rows)),
            subsample=None,
        )
    return StandardScaler()


class TunedMLPClassifier(ClassifierMixin, BaseEstimator):
    """An :class:`~sknormnet.MLPBatchNormClassifier` tuned for a table.

    ``fit`` builds, from the training rows alone, the preprocessing of the
    columns (:func:`tabular_pipeline`), the network's training budget (about
    ``training_steps`` optimizer steps, whatever the number of rows), a
    search space of learning rates, layers and regularisers, and the splits
    that score the candidates; it searches that space with
    :class:`~sknormnet.model_selection.CoarseToFineSearchCV` within the time
    budget, then refits the ``ensemble_size`` best candidates on all the rows
    and averages their probabilities. What it found stays in ``search_`` and
    ``estimator_``; ``sknormnet tune`` saves ``estimator_``.

    Parameters
    ----------
    time_budget : float or "auto", default="auto"
        Seconds ``fit`` may take: the search starts no round beyond
        ``0.7 * time_budget`` seconds (see ``CoarseToFineSearchCV``), and the
        ensemble has as many members as the rest can refit (at least one).
        ``"auto"`` gives 45 s to tables of up to 7,500 rows, then 0.01 s more
        per row, up to 100 s. The time is the machine's: with a budget, a
        faster machine searches more candidates.
    n_candidates : int, default=None
        The most candidates to search; with ``time_budget=None``, the search's
        size, which makes ``fit`` the same on every machine. None with
        ``time_budget=None`` searches 3 rounds.
    ensemble_size : int, default=5
        How many of the best candidates the final model averages; 1 refits
        the best alone.
    scaling : {"standard", "quantile", "search"}, default="standard"
        How numeric columns are scaled (see :func:`tabular_pipeline`):
        ``"search"`` lets the search choose, candidate by candidate. On the
        real tables of the benchmark, letting the search choose the
        quantiles gained nothing over standardizing (``benchmarks/README.md``).
    training_steps : int, default=1500
        About how many optimizer steps each fit trains, within 10 to 500
        epochs: small tables get many epochs, large ones few.
    space : dict, default=None
        Entries that replace or add to the search space, as in
        ``CoarseToFineSearchCV``'s ``param_distributions``: parameters of the
        pipeline (``"mlp__..."`` for the network,
        ``"preprocess__numeric__scale"`` for the scaling) mapped to
        distributions or lists. A list of one value fixes a parameter:
        ``{"mlp__dropout": [0.0]}`` searches without dropout.
    rungs : bool, default=False
        Whether each round fits its candidates in rungs of growing epochs, up
        to the full budget, ``factor`` times as many candidates per round,
        the best ``1 / factor`` of each rung going on to the next (see
        ``CoarseToFineSearchCV``'s ``resource``).
    factor : float, default=3
        With ``rungs``, the ratio between the epochs of two rungs.
    cv : int or "auto", default="auto"
        Folds of the search's cross-validation; ``"auto"`` is 3-fold on up to
        3,000 rows and one held-out fifth above. Fewer folds, with a warning,
        when a class has fewer rows than folds.
    scoring : str or callable, default=None
        The metric the search ranks the candidates by; accuracy when None.
    n_jobs : int, default=-1
        Fits in parallel; -1 uses every core.
    random_state : int, RandomState instance or None, default=None
        Seeds the splits, the candidates and the networks.
    verbose : int, default=0
        The search's verbosity (see ``CoarseToFineSearchCV``).

    Attributes
    ----------
    search_ : CoarseToFineSearchCV
        The fitted search (not refitted).
    estimator_ : Pipeline or VotingClassifier
        The final model: the best pipeline refitted, or a soft-voting
        :class:`~sklearn.ensemble.VotingClassifier` of the best pipelines.
    ensemble_candidates_ : ndarray of int
        The rows of ``search_.cv_results_`` refitted into ``estimator_``, the
        best first; with rungs, among the candidates trained to the last
        rung.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        Number of columns seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Their names, when ``X`` is a DataFrame with string column names.
    fit_time_ : float
        Seconds that ``fit`` took.

    See Also
    --------
    sknormnet.MLPBatchNormClassifier : The network.
    sknormnet.model_selection.CoarseToFineSearchCV : The search.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.datasets import load_iris
    >>> from sknormnet.tabular import TunedMLPClassifier
    >>> X, y = load_iris(return_X_y=True, as_frame=True)
    >>> model = TunedMLPClassifier(
    ...     time_budget=None,
    ...     n_candidates=4,
    ...     ensemble_size=2,
    ...     training_steps=100,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> model.score(X, y) > 0.9
    True
    >>> len(model.search_.cv_results_["params"]), len(model.estimator_.estimators_)
    (4, 2)
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "time_budget": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
            None,
        ],
        "n_candidates": [Interval(Integral, 1, None, closed="left"), None],
        "ensemble_size": [Interval(Integral, 1, None, closed="left")],
        "scaling": [StrOptions({"search", "standard", "quantile"})],
        "training_steps": [Interval(Integral, 1, None, closed="left")],
        "space": [dict, None],
        "rungs": ["boolean"],
        "factor": [Interval(Real, 1, None, closed="neither")],
        "cv": [Interval(Integral, 2, None, closed="left"), StrOptions({"auto"})],
        "scoring": [str, callable, None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        time_budget: float | str | None = "auto",
        n_candidates: int | None = None,
        ensemble_size: int = 5,
        scaling: str = "standard",
        training_steps: int = 1500,
        space: dict[str, Any] | None = None,
        rungs: bool = False,
        factor: float = 3,
        cv: int | str = "auto",
        scoring: str | Callable[..., float] | None = None,
        n_jobs: int | None = -1,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.time_budget = time_budget
        self.n_candidates = n_candidates
        self.ensemble_size = ensemble_size
        self.scaling = scaling
        self.training_steps = training_steps
        self.space = space
        self.rungs = rungs
        self.factor = factor
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: pd.DataFrame | ArrayLike, y: ArrayLike) -> Self:
        """Search, then refit the best candidates on all the rows.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The feature columns; a DataFrame's column types decide how each
            is encoded.
        y : array-like of shape (n_samples,)
            The class labels.

        Returns
        -------
        self : TunedMLPClassifier
            The fitted estimator.
        """
        start = time.perf_counter()
        X = _frame(X)
        labels = pd.Series(np.asarray(y), index=X.index)
        check_classification_targets(labels)
        rng = check_random_state(self.random_state)
        budget = self._time_budget(len(labels))
        splitter = self._splitter(labels, rng)
        n_rows = len(labels) * _training_share(splitter)
        pipeline = tabular_pipeline(X, scaling=self._fixed_scaling())
        if any(name == "numeric" for name, _, _ in pipeline["preprocess"].transformers):
            # the quantiles of a training fold, not of all the rows
            scaler = _scaler(self._fixed_scaling(), int(n_rows))
            pipeline.set_params(preprocess__numeric__scale=scaler)
        network = self._network(n_rows).set_params(random_state=rng.randint(2**31))
        pipeline.set_params(**{STEP: network})
        _check_space_names(self.space or {}, pipeline)
        n_iter = self._rounds()
        rungs: dict[str, Any] = {}
        if self.rungs:
            n_iter = [math.ceil(n * self.factor) for n in n_iter]
            rungs = {
                "resource": f"{STEP}__max_iter",
                "min_resources": max(1, round(network.max_iter / self.factor**2)),
                "factor": self.factor,
            }
        self.search_ = CoarseToFineSearchCV(
            pipeline,
            self._space(X, n_rows),
            n_iter=n_iter,
            n_rounds=len(n_iter),
            top_k=0.25,
            **rungs,
            time_budget=None if budget is None else SEARCH_SHARE * budget,
            scoring=self.scoring,
            n_jobs=self.n_jobs,
            refit=False,
            cv=splitter,
            verbose=self.verbose,
            random_state=rng,
        ).fit(X, labels)
        remaining = None if budget is None else budget - (time.perf_counter() - start)
        self.estimator_ = self._ensemble(X, labels, rng, remaining)
        self.classes_ = self.estimator_.classes_
        self.n_features_in_ = X.shape[1]
        if all(isinstance(column, str) for column in X.columns):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.fit_time_ = time.perf_counter() - start
        return self

    def _time_budget(self, n_rows: int) -> float | None:
        if self.time_budget is None or self.time_budget != "auto":
            return None if self.time_budget is None else float(self.time_budget)
        return auto_time_budget(n_rows)

    def _fixed_scaling(self) -> str:
        return "standard" if self.scaling == "search" else self.scaling

    def _rounds(self) -> list[int]:
        """The candidates of each round: a first broad round, then smaller ones
        that the time budget or ``n_candidates`` cuts short."""
        workers = effective_n_jobs(self.n_jobs)
        first, later = FIRST_ROUND_PER_WORKER * workers, 2 * workers
        if self.n_candidates is None:
            return [first] + [later] * (2 if self.time_budget is None else 49)
        rounds = [min(first, self.n_candidates)]
        while sum(rounds) < self.n_candidates:
            rounds.append(min(later, self.n_candidates - sum(rounds)))
        return rounds

    def _splitter(self, y: pd.Series, rng: np.random.RandomState) -> Any:
        """3 stratified folds, or one held-out fifth on many rows; fewer folds
        when a class has fewer rows than folds."""
        seed = rng.randint(2**31)
        smallest = int(y.value_counts().min())
        if self.cv == "auto" and len(y) > HOLDOUT_ABOVE:
            return StratifiedShuffleSplit(1, test_size=0.2, random_state=seed)
        n_splits = 3 if self.cv == "auto" else int(self.cv)
        if smallest < n_splits:
            warnings.warn(
                f"a class has {smallest} rows, fewer than the {n_splits} folds of "
                f"the search: {max(2, smallest)} folds instead"
                + (", and some of them miss that class" if smallest < 2 else ""),
                UserWarning,
            )
            n_splits = max(2, smallest)
        return StratifiedKFold(n_splits, shuffle=True, random_state=seed)

    def _network(self, n_rows: float) -> MLPBatchNormClassifier:
        """The network of every candidate: its batch size and epochs from the
        rows it trains on, the cosine schedule run to its end.

        No early stopping: the cosine schedule's last epochs take small steps
        anyway. Keeping the best epoch of a held-out 15% instead is within the
        noise on small tables and a point worse on DNA and Satellite
        (``benchmarks/README.md``)."""
        batch_size = int(
            np.clip(2 ** math.floor(math.log2(max(n_rows / 8, 1))), 16, 256)
        )
        steps_per_epoch = math.ceil(n_rows / batch_size)
        epochs = int(np.clip(round(self.training_steps / steps_per_epoch), 10, 500))
        return MLPBatchNormClassifier(
            (256, 256),
            learning_rate="cosine",
            warmup_epochs=max(1, epochs // 20),
            max_iter=epochs,
            batch_size=batch_size,
            n_iter_no_change=np.inf,
        )

    def _space(self, X: pd.DataFrame, n_rows: float) -> dict[str, Any]:
        """Learning rate, layers and regularisers; the scaling when searched."""
        space: dict[str, Any] = {
            f"{STEP}__learning_rate_init": loguniform(3e-4, 3e-2),
            f"{STEP}__hidden_layer_sizes": layer_sizes(
                n_layers=[1, 2, 3], n_units=loguniform_int(64, 512)
            ),
            f"{STEP}__dropout": [0.0, 0.1, 0.2, 0.3, 0.4],
            f"{STEP}__weight_decay": loguniform(1e-5, 1e-1),
            f"{STEP}__label_smoothing": [0.0, 0.1],
        }
        has_numeric = any(is_numeric(X[column]) for column in X.columns)
        if self.scaling == "search" and has_numeric:
            space["preprocess__numeric__scale"] = [
                _scaler(name, int(n_rows)) for name in ("standard", "quantile")
            ]
        return {**space, **(self.space or {})}

    def _ensemble(
        self,
        X: pd.DataFrame,
        y: pd.Series,
        rng: np.random.RandomState,
        remaining: float | None,
    ) -> Any:
        """The best candidates refitted on all the rows: as many as the
        remaining time allows, at most ``ensemble_size``, at least one."""
        results = self.search_.cv_results_
        scores = np.asarray(results[f"mean_test_{_metric(results)}"], dtype=float)
        # with rungs, only the candidates trained to the full epochs compete
        if "n_resources" in results:
            resources = np.asarray(results["n_resources"])
            scores = np.where(resources == resources.max(), scores, np.nan)
        ranked = np.flatnonzero(np.isfinite(scores))
        if not len(ranked):
            raise ValueError(
                "every candidate of the search failed to fit; see the search's "
                "warnings for the errors"
            )
        order = ranked[np.argsort(-scores[ranked], kind="stable")]
        size = self.ensemble_size
        if remaining is not None:
            # a refit on all the rows, by the fit times of the search's folds
            share = _training_share(self.search_.cv)
            seconds = float(np.mean(results["mean_fit_time"][order[:size]])) / share
            waves = max(1, int(remaining // max(seconds, 1e-3)))
            size = max(1, min(size, waves * effective_n_jobs(self.n_jobs)))
        full = tabular_pipeline(X, scaling=self._fixed_scaling())
        full.set_params(**{STEP: self._network(len(y))})
        self.ensemble_candidates_ = order[:size]
        members = []
        for rank, row in enumerate(order[:size]):
            member = clone(full).set_params(**clone(results["params"][row], safe=False))
            member.set_params(**{f"{STEP}__random_state": rng.randint(2**31)})
            members.append((f"rank{rank + 1}", member))
        if len(members) == 1:
            return members[0][1].fit(X, y)
        # flatten_transform=False: the only setting that skl2onnx converts
        ensemble = VotingClassifier(
            members, voting="soft", flatten_transform=False, n_jobs=self.n_jobs
        )
        return ensemble.fit(X, y)

    def predict(self, X: pd.DataFrame | ArrayLike) -> NDArray[Any]:
        """The class of each row, from the averaged probabilities."""
        check_is_fitted(self)
        labels: NDArray[Any] = self.estimator_.predict(_frame(X))
        return labels

    def predict_proba(self, X: pd.DataFrame | ArrayLike) -> NDArray[np.floating[Any]]:
        """The probability of each class, averaged over the members."""
        check_is_fitted(self)
        proba: NDArray[np.floating[Any]] = self.estimator_.predict_proba(_frame(X))
        return proba


def auto_time_budget(n_rows: int) -> float:
    """The seconds ``TunedMLPClassifier(time_budget="auto")`` takes on
    ``n_rows`` rows: 45 up to 7,500 rows, then 0.01 more per row, at most
    100.

    Examples
    --------
    >>> from sknormnet.tabular import auto_time_budget
    >>> auto_time_budget(1000), auto_time_budget(15000), auto_time_budget(10**6)
    (45.0, 100.0, 100.0)
    """
    return float(np.clip(45 + 0.01 * (n_rows - 7500), 45, 100))


def _check_space_names(space: dict[str, Any], pipeline: Pipeline) -> None:
    """Refuse, before the search, an entry of ``space`` that is not a
    parameter of the pipeline."""
    names = pipeline.get_params(deep=True)
    for name in space:
        if name not in names:
            close = difflib.get_close_matches(name, list(names), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"space: {name!r} is not a parameter of the pipeline{hint} The "
                "network's parameters start with 'mlp__', the scaling's is "
                "'preprocess__numeric__scale'."
            )


def _frame(X: Any) -> pd.DataFrame:
    return X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))


def _metric(results: Any) -> str:
    """The ranking metric's name in ``results`` ("score" for one metric)."""
    if "mean_test_score" in results:
        return "score"
    names = [
        key[len("mean_test_") :] for key in results if key.startswith("mean_test_")
    ]
    return str(names[0])


def _training_share(splitter: Any) -> float:
    """The share of the rows a fit of ``splitter`` trains on."""
    if isinstance(splitter, StratifiedShuffleSplit):
        return 1 - float(splitter.test_size)
    return 1 - 1 / float(splitter.get_n_splits())
