"""Code that uses sknormnet as a user would, for mypy to check its type hints.

``tests/test_typing.py`` runs mypy on this module with the project's strict
settings; each ``assert_type`` states the type a user's code gets. It is never
run: pytest imports it only to look for doctests (there are none), so all the
code is inside functions that nothing calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknormnet import (
    CoarseToFineSearchCV,
    MLPBatchNormClassifier,
    loguniform,
    one_minus_loguniform,
)
from sknormnet.distributions import (
    as_distribution,
    categorical,
    layer_sizes,
    loguniform_int,
    quantile_window,
)
from sknormnet.model_selection import tuning_space
from sknormnet.plotting import plot_learning_curves, plot_search

if TYPE_CHECKING:
    from typing import assert_type

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure
    from numpy.typing import NDArray

    from sknormnet.distributions import Sampler


def tune(X: NDArray[np.float64], y: NDArray[np.int_]) -> dict[str, Any]:
    """A pipeline tuned in two rounds, on a space mixing distributions and lists."""
    space = {
        "mlpbatchnormclassifier__learning_rate_init": loguniform(1e-4, 1e-1),
        "mlpbatchnormclassifier__beta_1": one_minus_loguniform(0.9, 0.999),
        "mlpbatchnormclassifier__batch_size": [32, 64, 128],
        "mlpbatchnormclassifier__alpha": stats.loguniform(1e-6, 1e-2),
    }
    search = CoarseToFineSearchCV(
        make_pipeline(StandardScaler(), MLPBatchNormClassifier()),
        space,
        n_iter=[8, 4],
        n_rounds=2,
        top_k=0.25,
        scoring="accuracy",
        n_jobs=-1,
        cv=KFold(3, shuffle=True, random_state=0),
        random_state=0,
        error_score="raise",
    )
    search.fit(X, y)
    assert_type(search.n_rounds_, int)
    assert_type(search.n_candidates_, list[int])
    best: dict[str, Any] = search.best_params_
    return best


def ready_made_spaces() -> list[CoarseToFineSearchCV]:
    """tuning_space's spaces, extended and searched."""
    space = tuning_space(2, solver="momentum", prefix="mlp__")
    space["mlp__decay_rate"] = loguniform(1e-4, 1e-1)
    space["mlp__activation"] = ["relu", "tanh"]
    # mypy infers list[object] for a list of dicts with different value types:
    # annotate it (or pass the list directly).
    spaces: list[dict[str, Any]] = [tuning_space(1), {"alpha": [1e-4, 1e-3]}]
    return [
        CoarseToFineSearchCV(MLPBatchNormClassifier(), space, n_iter=10),
        CoarseToFineSearchCV(MLPBatchNormClassifier(), spaces, cv=[([0], [1])]),
    ]


def draws(rng: np.random.Generator) -> None:
    """What each distribution draws, scalar or array."""
    rate = loguniform(1e-4, 1)
    assert_type(rate.rvs(random_state=0), float)
    assert_type(rate.rvs(size=5, random_state=rng), NDArray[np.float64])
    assert_type(rate.rvs((2, 3)), NDArray[np.float64])
    assert_type(rate.cdf(1e-2), float)
    assert_type(rate.ppf([0.25, 0.5]), NDArray[np.float64])
    assert_type(rate.support(), tuple[float, float])
    assert_type(rate.narrow([1e-3, 1e-2]), loguniform)

    beta = one_minus_loguniform(0.9, 0.999)
    assert_type(beta.rvs(), float)
    assert_type(beta.ppf(np.linspace(0, 1, 5)), NDArray[np.float64])
    assert_type(beta.narrow(np.array([0.95, 0.99])), one_minus_loguniform)

    units = loguniform_int(32, 512)
    assert_type(units.rvs(random_state=np.random.RandomState(0)), int)
    assert_type(units.rvs(10), NDArray[np.int_])
    assert_type(units.support(), tuple[int, int])
    assert_type(units.narrow([64, 128]), loguniform_int)

    batch = categorical([32, 64, 128], p=[0.25, 0.5, 0.25])
    assert_type(batch.rvs(random_state=0), int)
    assert_type(batch.rvs(100), NDArray[Any])
    assert_type(batch.narrow([64, 64]), categorical[int])
    assert_type(categorical(["relu", "tanh"]).ppf(0.5), str)

    sizes = layer_sizes(n_layers=[1, 2, 3], n_units=units)
    assert_type(sizes.rvs(), tuple[int, ...])
    assert_type(sizes.support(), tuple[tuple[int, ...], tuple[int, ...]])
    assert_type(sizes.narrow([(64,), (64, 32)]), layer_sizes)

    window = quantile_window(stats.norm(0, 1), 0.1, 0.9)
    assert_type(window.rvs(random_state=0), float)
    assert_type(window.narrow([0.0]), quantile_window)


def describe(entries: Sequence[Sampler | list[int]]) -> list[str]:
    """Every entry of a space knows its axis scale and its description."""
    return [
        f"{as_distribution(entry).describe()} on a {as_distribution(entry).axis_scale()} axis"
        for entry in entries
    ]


def plots(
    search: CoarseToFineSearchCV, model: MLPBatchNormClassifier, axes: Sequence[Axes]
) -> None:
    """A new figure is a Figure; given axes may be in a SubFigure."""
    fig, panels = plot_search(search, ["learning_rate_init"], ncols=2)
    assert_type(fig, Figure)
    assert_type(panels, NDArray[np.object_])
    fig.savefig("search.png")
    parent, _ = plot_search(search, axes=axes, metric="accuracy")
    assert_type(parent, Figure | SubFigure)
    assert_type(plot_learning_curves(model), list[Axes])
    assert_type(plot_learning_curves(model, ax=axes), list[Axes])


def babysit(X: NDArray[np.float64], y: NDArray[np.int_]) -> float:
    """One model, epoch by epoch, then its predictions and folded weights."""
    model = MLPBatchNormClassifier(
        (64, 32), activation="tanh", solver="momentum", batch_size=32
    )
    assert_type(model.partial_fit(X, y, classes=[0, 1, 2]), MLPBatchNormClassifier)
    assert_type(model.fit(X, y, sample_weight=np.ones(len(y))), MLPBatchNormClassifier)
    proba = model.predict_proba(X)
    assert_type(proba, "NDArray[np.floating[Any]]")
    layers = model.folded_weights(np.float32)
    assert_type(layers[0][0], "NDArray[np.floating[Any]]")
    return float(proba[:, 0].sum() + model.predict_log_proba(X).sum())
