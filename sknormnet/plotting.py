"""Plots of searches and of training.

matplotlib is imported only when a plotting function is called, so the rest of
sknormnet works without it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np
from sklearn.utils.validation import check_is_fitted

from sknormnet.distributions import as_distribution

if TYPE_CHECKING:
    from types import ModuleType

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure
    from numpy.typing import NDArray

    from sknormnet.distributions import SearchDistribution

__all__ = ["plot_learning_curves", "plot_search"]


def _import_pyplot() -> ModuleType:
    """Import ``matplotlib.pyplot``, or explain how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "sknormnet.plotting requires matplotlib; install it with pip install "
            "matplotlib, or the plot extra from sknormnet's source folder: pip "
            'install ".[plot]"'
        ) from exc
    return plt


def _as_spaces(space: Any) -> list[Any]:
    """A search space (dict or list of dicts) as a list of dicts."""
    return [space] if isinstance(space, dict) else list(space)


def _entry(spaces: Sequence[Any], name: str) -> SearchDistribution | None:
    """The first entry for ``name`` among a list of dicts, as a distribution, or None."""
    for space in spaces:
        if name in space:
            return as_distribution(space[name])
    return None


def _listed(dist: object) -> list[Any] | None:
    """The values of a distribution drawn from a list, else None."""
    return getattr(dist, "values", None)


def _unique(values: Sequence[Any]) -> list[Any]:
    """The values without repeats, in their order of appearance."""
    unique: list[Any] = []
    for value in values:
        if not any(value is u or value == u for u in unique):
            unique.append(value)
    return unique


def _span(dist: Any, scale: str) -> tuple[float, float] | None:
    """The interval of x a distribution draws from, on the plotted variable."""
    if dist is None or _listed(dist) is not None or scale == "category":
        return None
    try:
        low, high = (float(v) for v in dist.support())
    except (AttributeError, TypeError, ValueError):
        return None
    if scale == "one_minus":
        low, high = 1.0 - high, 1.0 - low
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return low, high


class _Panel:
    """One axis: a label, x per candidate, a scale, the span of each round.

    ``categories`` are the values ticked on the axis: the positions 0, 1, ... of
    a category axis, or the values of a numeric list.
    """

    def __init__(
        self,
        label: str,
        x: NDArray[np.float64],
        scale: str,
        spans: Sequence[tuple[float, float] | None],
        categories: Sequence[Any] | None = None,
        integer: bool = False,
    ) -> None:
        self.label = label
        self.x = x
        self.scale = scale
        self.spans = spans
        self.categories = categories
        self.integer = integer


def _layer_panels(
    name: str,
    values: Sequence[Any],
    present: NDArray[np.bool_],
    dists: Sequence[SearchDistribution | None],
) -> list[_Panel]:
    """The number of layers and the mean units per layer of tuple values."""
    depth = np.full(len(present), np.nan)
    width = np.full(len(present), np.nan)
    for i, value in zip(np.flatnonzero(present), values):
        depth[i] = len(value)
        width[i] = np.mean(value) if len(value) else np.nan
    # a layer_sizes gives the scale of its widths; a list of tuples does not
    scale = dists[0].axis_scale() if dists[0] is not None else "category"
    if scale not in ("log", "linear"):
        scale = as_distribution(list(width[present])).axis_scale()
    # each round's widths are drawn from the n_units component of layer_sizes
    components = [getattr(d, "n_units", None) for d in dists]
    units = [None if c is None else as_distribution(c) for c in components]
    depths = sorted({int(d) for d in depth[present]})
    return [
        _Panel(
            f"{name}: number of layers",
            np.where(present, np.searchsorted(depths, depth), np.nan),
            "category",
            [None] * len(dists),
            categories=depths,
        ),
        _Panel(
            f"{name}: mean units per layer",
            width,
            scale,
            [_span(u, scale) for u in units],
            integer=True,
        ),
    ]


def _panels_for(
    name: str,
    values: Sequence[Any],
    present: NDArray[np.bool_],
    dists: Sequence[SearchDistribution | None],
) -> list[_Panel]:
    """The panels of one parameter: two for layer sizes, else one."""
    if all(isinstance(v, tuple) for v in values):
        return _layer_panels(name, values, present, dists)
    first = dists[0]
    if first is None:  # no space holds the parameter: its values tell the scale
        scale = as_distribution(_unique(values)).axis_scale()
    else:
        scale = first.axis_scale()
    listed = _listed(first)
    if scale == "category":
        categories = _unique([*(listed or []), *values])
        x = np.full(len(present), np.nan)
        for i, value in zip(np.flatnonzero(present), values):
            x[i] = next(j for j, c in enumerate(categories) if value is c or value == c)
        return [_Panel(name, x, "category", [None] * len(dists), categories)]

    x = np.full(len(present), np.nan)
    x[present] = np.asarray(values, dtype=float)
    label = name
    if scale == "one_minus":
        x = 1.0 - x
        label = f"1 - {name}"
    spans = [_span(d, scale) for d in dists]
    integer = all(isinstance(v, numbers.Integral) for v in values)
    return [_Panel(label, x, scale, spans, listed, integer=integer)]


def _short_names(names: Sequence[str]) -> dict[str, str]:
    """Each parameter's name without its ``step__`` prefixes, unless two
    parameters would then share a name (those keep theirs)."""
    short = {name: name.rpartition("__")[2] for name in names}
    counts: dict[str, int] = {}
    for value in short.values():
        counts[value] = counts.get(value, 0) + 1
    return {name: s if counts[s] == 1 else name for name, s in short.items()}


def _wrapped(label: str, width: int = 30) -> str:
    """A long label broken once, after its ``": "``, never inside a name."""
    if len(label) <= width or ": " not in label:
        return label
    head, _, tail = label.partition(": ")
    return f"{head}:\n{tail}"


def _format_log_axis(ax: Axes, integer: bool) -> None:
    """Readable ticks on a log x axis.

    Integers (layer widths, ``loguniform_int``) are ticked at powers of two
    with plain labels; other values at powers of ten, with the minor ticks'
    labels (2, 3, 5, ... times a power), which crowd a narrow panel, shown
    only when the axis spans less than a decade.
    """
    from matplotlib import ticker

    if integer:
        ax.xaxis.set_major_locator(ticker.LogLocator(base=2))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        return
    low, high = ax.get_xlim()
    if low > 0 and high / low >= 10:
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())


@overload
def plot_search(
    search: Any,
    params: Sequence[str] | None = None,
    *,
    metric: str | None = None,
    axes: None = None,
    ncols: int = 3,
) -> tuple[Figure, NDArray[np.object_]]: ...
@overload
def plot_search(
    search: Any,
    params: Sequence[str] | None = None,
    *,
    metric: str | None = None,
    axes: Axes | Sequence[Axes] | NDArray[np.object_],
    ncols: int = 3,
) -> tuple[Figure | SubFigure, NDArray[np.object_]]: ...
def plot_search(
    search: Any,
    params: Sequence[str] | None = None,
    *,
    metric: str | None = None,
    axes: Axes | Sequence[Axes] | NDArray[np.object_] | None = None,
    ncols: int = 3,
) -> tuple[Figure | SubFigure, NDArray[np.object_]]:
    """Plot the score of each candidate against each tuned parameter, by round.

    Each parameter is drawn on its natural scale: a log axis for parameters
    drawn log-uniformly (and numeric lists spanning a factor of 8 or more, such
    as batch sizes), ``1 - value`` on a log axis for
    :class:`~sknormnet.distributions.one_minus_loguniform` parameters such as
    momentum, one tick per value for other lists. Points are coloured by round
    and each round's sampled interval is shaded, which shows the zoom of a
    :class:`~sknormnet.model_selection.CoarseToFineSearchCV`. ``layer_sizes``
    parameters get two panels, the number of layers and the mean units per
    layer. The best candidate for the plotted metric is circled in red. The
    panels are labelled with the parameters' names without their ``step__``
    prefix, the y axis with the metric, and the legend, beside the panels of
    a new figure, names the rounds' points and shaded ranges.

    Parameters
    ----------
    search : fitted search estimator
        A fitted :class:`~sknormnet.model_selection.CoarseToFineSearchCV`, or
        another scikit-learn search (all its candidates are then round 0).
    params : list of str, default=None
        The parameters to plot, in order; all the tuned parameters when None.
    metric : str, default=None
        The metric on the y axis, for multi-metric searches; defaults to the
        search's ``refit`` metric.
    axes : array-like of matplotlib Axes, default=None
        Where to draw, one Axes per panel; a new figure when None.
    ncols : int, default=3
        Number of columns of a new figure.

    Returns
    -------
    fig : matplotlib Figure
        The figure.
    axes : ndarray of matplotlib Axes
        One Axes per panel.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import RidgeClassifier
    >>> from sknormnet.distributions import loguniform
    >>> from sknormnet.model_selection import CoarseToFineSearchCV
    >>> from sknormnet.plotting import plot_search
    >>> X, y = load_iris(return_X_y=True)
    >>> search = CoarseToFineSearchCV(
    ...     RidgeClassifier(),
    ...     {"alpha": loguniform(1e-3, 1e3)},
    ...     n_iter=4,
    ...     cv=3,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> fig, axes = plot_search(search)
    >>> axes[0].get_xscale(), axes[0].get_xlabel()
    ('log', 'alpha')
    """
    plt = _import_pyplot()
    check_is_fitted(search, "cv_results_")
    results = search.cv_results_
    candidates = list(results["params"])
    rounds = np.asarray(results.get("round", np.zeros(len(candidates), dtype=int)))
    round_ids = sorted(set(rounds.tolist()))
    metric = _plotted_metric(search, metric)
    scores = np.asarray(results[f"mean_test_{metric}"], dtype=float)
    panels = _search_panels(search, candidates, params)
    fig, drawn = _panel_axes(plt, axes, len(panels), ncols)

    cmap = plt.get_cmap("viridis")
    colors = {
        r: cmap(0.85 * i / max(len(round_ids) - 1, 1)) for i, r in enumerate(round_ids)
    }
    ranks = np.asarray(results.get(f"rank_test_{metric}", -scores), dtype=float)
    if "n_resources" in results:  # rungs: only a full-budget row can be best
        budgets = np.asarray(results["n_resources"])
        ranks = np.where(budgets == budgets.max(), ranks, np.inf)
    best = int(np.argmin(ranks)) if np.any(np.isfinite(scores)) else None
    # one legend entry per round: its points, and its shaded range when shaded
    handles: dict[str, Any] = {}
    for ax, panel in zip(drawn, panels):
        _draw_panel(ax, panel, scores, rounds, round_ids, colors, best, handles)
    scorer_name = getattr(search, "scoring", None)
    if metric == "score" and isinstance(scorer_name, str):
        metric = scorer_name  # a single metric given by name
    drawn[0].set_ylabel(f"mean CV {metric}")
    order = [
        *(f"round {r}{end}" for r in round_ids for end in ("", ": range sampled")),
        "best",
    ]
    labels_shown = [label for label in order if label in handles]
    entries = ([handles[label] for label in labels_shown], labels_shown)
    if axes is None:
        # beside the panels, so that it never hides a point
        fig.legend(*entries, loc="outside right upper", fontsize="small")
    else:
        drawn[0].legend(*entries, fontsize="small")
    return fig, np.asarray(drawn)


def _plotted_metric(search: Any, metric: str | None) -> str:
    """The metric of the y axis: the given one, else the search's own."""
    results = search.cv_results_
    if metric is None:
        if "mean_test_score" in results:
            metric = "score"
        elif isinstance(getattr(search, "refit", None), str):
            metric = search.refit
        else:
            raise ValueError(
                "This search computed several metrics and refit names none of them;"
                " pass metric=<scorer name> to choose the y axis."
            )
    if f"mean_test_{metric}" not in results:
        available = sorted(k[10:] for k in results if k.startswith("mean_test_"))
        raise ValueError(f"metric={metric!r} is not one of {available}.")
    return metric


def _search_panels(
    search: Any, candidates: list[dict[str, Any]], params: Sequence[str] | None
) -> list[_Panel]:
    """The panels of the parameters to plot, each on the scale of the
    distributions that the rounds sampled it from."""
    spaces = getattr(search, "search_spaces_", None)
    if spaces is None:
        space = getattr(
            search, "param_distributions", getattr(search, "param_grid", {})
        )
        spaces = [space]
    spaces = [_as_spaces(space) for space in spaces]
    tuned: list[str] = []
    for candidate in candidates:
        tuned.extend(name for name in candidate if name not in tuned)
    if params is None:
        params = tuned
    unknown = [name for name in params if name not in tuned]
    if unknown:
        raise ValueError(f"params={unknown!r} were not tuned; choose from {tuned}.")
    labels = _short_names(params)
    panels = []
    for name in params:
        present = np.array([name in c for c in candidates])
        values = [c[name] for c in candidates if name in c]
        dists = [_entry(space, name) for space in spaces]
        panels.extend(_panels_for(labels[name], values, present, dists))
    return panels


def _panel_axes(
    plt: Any,
    axes: Axes | Sequence[Axes] | NDArray[np.object_] | None,
    n_panels: int,
    ncols: int,
) -> tuple[Figure | SubFigure, NDArray[np.object_]]:
    """The figure and one Axes per panel: the given ones, or a new grid."""
    if axes is None:
        ncols = max(1, min(ncols, n_panels))
        nrows = math.ceil(n_panels / ncols)
        fig, grid = plt.subplots(
            nrows,
            ncols,
            figsize=(4.0 * ncols, 3.2 * nrows),
            squeeze=False,
            sharey=True,
            layout="constrained",
        )
        grid = grid.ravel()
        for ax in grid[n_panels:]:
            ax.set_visible(False)
        return fig, grid[:n_panels]
    given = np.ravel(np.asarray(axes, dtype=object))
    if len(given) < n_panels:
        raise ValueError(
            f"axes holds {len(given)} Axes but {n_panels} panels are drawn; "
            "pass one Axes per panel or axes=None."
        )
    return given[0].figure, given[:n_panels]


def _draw_panel(
    ax: Axes,
    panel: _Panel,
    scores: NDArray[np.float64],
    rounds: NDArray[Any],
    round_ids: list[Any],
    colors: dict[Any, Any],
    best: int | None,
    handles: dict[str, Any],
) -> None:
    """One panel: each round's points and shaded range, the best circled,
    the axis on the panel's scale; the legend's handles go to ``handles``."""
    from matplotlib.patches import Patch

    for i, r in enumerate(round_ids):
        mask = rounds == r
        x = panel.x[mask]
        if panel.scale == "category":
            x = x + 0.6 * (i - (len(round_ids) - 1) / 2) / len(round_ids)
        points = ax.scatter(
            x,
            scores[mask],
            color=colors[r],
            s=22,
            alpha=0.85,
            edgecolors="none",
            label=f"round {r}",
        )
        handles.setdefault(f"round {r}", points)
        span = panel.spans[i] if i < len(panel.spans) else None
        if span is not None:
            ax.axvspan(*span, color=colors[r], alpha=0.08, linewidth=0)
            handles[f"round {r}: range sampled"] = Patch(color=colors[r], alpha=0.25)
    if best is not None and np.isfinite(panel.x[best]):
        best_x = panel.x[best]
        if panel.scale == "category":
            i = round_ids.index(rounds[best])
            best_x += 0.6 * (i - (len(round_ids) - 1) / 2) / len(round_ids)
        handles["best"] = ax.scatter(
            [best_x],
            [scores[best]],
            s=120,
            facecolors="none",
            edgecolors="red",
            linewidths=1.5,
            label="best",
        )
    if panel.scale in ("log", "one_minus"):
        ax.set_xscale("log")
    if panel.scale == "category":
        assert panel.categories is not None  # set for every category axis
        ax.set_xticks(range(len(panel.categories)))
        ax.set_xticklabels([str(c) for c in panel.categories])
        # The rounds sit side by side around each category's tick.
        ax.set_xlim(-0.5, len(panel.categories) - 0.5)
    elif panel.categories is not None:  # a numeric list: one tick per value
        ax.set_xticks([float(c) for c in panel.categories])
        ax.set_xticklabels([str(c) for c in panel.categories])
        ax.minorticks_off()
    elif panel.scale in ("log", "one_minus"):
        _format_log_axis(ax, panel.integer)
    ax.set_xlabel(_wrapped(panel.label))


def _validation_metric(model: Any) -> str:
    """The name of the score an MLP monitored on its validation data."""
    scoring = getattr(model, "scoring", None)
    if scoring is None:
        return "negative log-loss"
    if isinstance(scoring, str):
        return scoring
    return str(getattr(scoring, "__name__", "score"))


def _check_history(model: Any) -> None:
    """Raise unless ``model`` is a fitted MLP with a history of epochs."""
    check_is_fitted(
        model,
        msg=(
            "plot_learning_curves draws the histories of a fitted model, and this "
            "%(name)s is not fitted yet: call fit (or partial_fit) first."
        ),
    )
    name = type(model).__name__
    if not all(hasattr(model, a) for a in ("loss_curve_", "learning_rate_curve_")):
        raise ValueError(
            "plot_learning_curves draws the per-epoch histories of an "
            "MLPBatchNormClassifier (loss_curve_, learning_rate_curve_), which "
            f"this fitted {name} does not have."
        )
    if not model.loss_curve_:
        raise ValueError(
            f"this {name} has no history to draw: it trained no whole epoch "
            "(its loss_curve_ is empty; its fit was stopped or refused in the "
            "first epoch). Fit it for at least one epoch."
        )


def plot_learning_curves(
    estimator: Any, ax: Sequence[Axes] | NDArray[np.object_] | None = None
) -> list[Axes]:
    """Draw an MLP's per-epoch histories: losses, validation score, learning rate.

    The epochs are numbered from 1, with whole-number ticks. With early
    stopping, the second panel shows the score the model monitored, named
    after its ``scoring`` (the negative validation log-loss by default), and
    a dotted line marks the best epoch, whose weights the model kept. A
    learning rate that changed during training (a decay schedule, or a
    rate set between calls of ``partial_fit``) is drawn in a third panel, on
    a log axis; a constant rate has no panel, its value is in the title of
    the losses.

    Parameters
    ----------
    estimator : MLPBatchNormClassifier or Pipeline ending in one
        A fitted model, of at least one epoch; a pipeline's last step is
        used.
    ax : sequence of 2 or 3 matplotlib Axes, default=None
        Where to draw the losses, the validation score and, if it changed,
        the learning rate, which then needs the third; a third given for a
        constant rate is left as it is. When None, a new figure with a panel
        for each.

    Returns
    -------
    axes : list of matplotlib Axes
        The panels drawn: the losses and the validation score, then the
        learning rate if it changed (``axes[0].figure`` is their figure).

    Raises
    ------
    NotFittedError
        If the model is not fitted.
    ValueError
        If it has no history of epochs: another estimator, or a model whose
        fit stopped in its first epoch. If the learning rate changed and
        ``ax`` holds only two axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sknormnet import MLPBatchNormClassifier
    >>> from sknormnet.plotting import plot_learning_curves
    >>> X, y = load_iris(return_X_y=True)
    >>> model = MLPBatchNormClassifier(
    ...     (8,), learning_rate_init=0.05, early_stopping=True, max_iter=5
    ... ).fit(X, y)  # doctest: +SKIP
    >>> axes = plot_learning_curves(model)  # doctest: +SKIP
    """
    plt = _import_pyplot()
    from matplotlib import ticker

    model = estimator[-1] if hasattr(estimator, "steps") else estimator
    _check_history(model)
    rates = np.asarray(model.learning_rate_curve_, dtype=float)
    n_panels = 3 if np.ptp(rates) > 0 else 2
    if ax is None:
        _, ax = plt.subplots(1, n_panels, figsize=(13 * n_panels / 3, 3.5))
    axes = list(np.ravel(np.asarray(ax, dtype=object)))[:n_panels]
    if len(axes) < n_panels:
        raise ValueError(
            f"the learning rate of this {type(model).__name__} changed during "
            "training, and its panel needs a third axes: pass 3 axes as ax, "
            "or ax=None"
        )
    loss_ax, score_ax = axes[:2]
    epochs = np.arange(1, len(model.loss_curve_) + 1)
    metric = _validation_metric(model)
    loss_ax.plot(epochs, model.loss_curve_, label="training loss")
    if model.validation_loss_curve_:
        val_epochs = np.arange(1, len(model.validation_loss_curve_) + 1)
        loss_ax.plot(val_epochs, model.validation_loss_curve_, label="validation loss")
        score_ax.plot(
            val_epochs, model.validation_scores_, label=f"validation {metric}"
        )
        if model.best_epoch_ is not None:
            best = model.best_epoch_
            for panel in (loss_ax, score_ax):
                panel.axvline(
                    best, color="grey", linestyle=":", label=f"best epoch ({best})"
                )
        score_ax.legend()
    else:
        score_ax.text(
            0.5,
            0.5,
            "no validation data\n(early_stopping=False)",
            ha="center",
            va="center",
            transform=score_ax.transAxes,
        )
    score_ax.set(xlabel="epoch", ylabel=metric, title=f"Validation {metric}")
    if n_panels == 3:
        rate_ax = axes[2]
        rate_ax.plot(epochs, rates, label="learning rate")
        rate_ax.set_yscale("log")
        rate_ax.set(xlabel="epoch", ylabel="learning rate", title="Learning rate")
        loss_ax.set_title("Loss")
    else:
        loss_ax.set_title(f"Loss (constant learning rate {rates[0]:.3g})")
    loss_ax.set(xlabel="epoch", ylabel="loss")
    loss_ax.legend()
    for panel in axes:
        panel.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        panel.set_xlim(0.5, len(epochs) + 0.5)
    return axes
