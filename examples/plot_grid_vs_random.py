"""
=====================================================================
Grid search versus random search when one hyperparameter matters
=====================================================================

Two hyperparameters of :class:`~sknormnet.MLPBatchNormClassifier` are tuned
with the same budget of nine candidates, once on a :math:`3 \\times 3` grid
(:class:`~sklearn.model_selection.GridSearchCV`) and once at random
(:class:`~sklearn.model_selection.RandomizedSearchCV`):

- ``learning_rate_init``, which matters a great deal;
- Adam's ``epsilon``, between :math:`10^{-9}` and :math:`10^{-7}`, which
  hardly matters at all.

The grid tries only three learning rates, each three times with an ``epsilon``
that makes no difference; random search tries nine learning rates. Both
hyperparameters are sampled on a log scale.
"""

import warnings

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sknormnet import MLPBatchNormClassifier
from sknormnet.distributions import loguniform

X, y = load_digits(return_X_y=True, as_frame=True)

# A short training budget per candidate is deliberate here: enough to rank the
# learning rates, not to train each network to the end.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

model = Pipeline(
    [
        ("scale", StandardScaler()),
        (
            "mlp",
            MLPBatchNormClassifier(
                hidden_layer_sizes=(32,),
                max_iter=15,
                early_stopping=True,
                n_iter_no_change=3,
                random_state=0,
            ),
        ),
    ]
)
cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)

# %%
# The same budget: nine candidates, three folds each
# --------------------------------------------------
# The grid spaces its three values of each hyperparameter evenly on the log
# scale of the ranges the random search samples from.
grid = GridSearchCV(
    model,
    {
        "mlp__learning_rate_init": np.logspace(-4, 0, 3),
        "mlp__epsilon": np.logspace(-9, -7, 3),
    },
    cv=cv,
    error_score=0.0,
)
random = RandomizedSearchCV(
    model,
    {
        "mlp__learning_rate_init": loguniform(1e-4, 1),
        "mlp__epsilon": loguniform(1e-9, 1e-7),
    },
    n_iter=9,
    cv=cv,
    error_score=0.0,
    random_state=0,
)
results = {}
for name, search in (("grid", grid), ("random", random)):
    search.fit(X, y)
    table = pd.DataFrame(search.cv_results_)
    results[name] = pd.DataFrame(
        {
            "learning_rate_init": table["param_mlp__learning_rate_init"].astype(float),
            "epsilon": table["param_mlp__epsilon"].astype(float),
            "score": table["mean_test_score"],
        }
    )

summary = pd.DataFrame.from_dict(
    {
        name: {
            "candidates": len(frame),
            "distinct learning rates": frame["learning_rate_init"].nunique(),
            "distinct epsilons": frame["epsilon"].nunique(),
            "best accuracy": round(frame["score"].max(), 3),
        }
        for name, frame in results.items()
    },
    orient="index",
)
print(summary)

# %%
# What each search tried, and what it found
# -----------------------------------------
# Left: the candidates in the plane of the two hyperparameters, with the
# learning rates each search tried marked on the horizontal axis. Right: the
# cross-validated accuracy against the learning rate. The three grid points at
# each learning rate score almost the same, since ``epsilon`` barely matters
# (they spread a little only at a learning rate of 1, where training goes
# wrong anyway): the grid has learned about three learning rates, the random
# search about nine.
import matplotlib.pyplot as plt

fig, (ax_plane, ax_score) = plt.subplots(1, 2, figsize=(10, 4.6), layout="constrained")
styles = {"grid": ("s", "tab:blue"), "random": ("o", "tab:orange")}
for name, frame in results.items():
    marker, color = styles[name]
    points = {"marker": marker, "color": color, "s": 50, "alpha": 0.8}
    ax_plane.scatter(
        frame["learning_rate_init"], frame["epsilon"], label=name, **points
    )
    # the learning rates tried, as ticks along the bottom of the plane
    ax_plane.plot(
        frame["learning_rate_init"],
        np.full(len(frame), 10**-9.25),
        "|",
        color=color,
        markersize=14,
    )
    ax_score.scatter(
        frame["learning_rate_init"],
        frame["score"],
        label=f"{name}: {frame['learning_rate_init'].nunique()} learning rates",
        **points,
    )
for ax in (ax_plane, ax_score):
    ax.set_xscale("log")
    ax.set_xlabel("learning_rate_init (matters)")
ax_plane.set_yscale("log")
ax_plane.set_ylim(10**-9.4, 10**-6.8)
ax_plane.set_ylabel("epsilon (hardly matters)")
ax_plane.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=2)
ax_score.set_ylabel("mean cross-validated accuracy")
ax_score.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=2)
plt.show()

# %%
# With one hyperparameter that matters among several that do not, random
# search explores the one that matters as densely as if it searched it alone,
# without having to know which one it is. On a grid, every hyperparameter that
# does not matter multiplies the cost without adding a single new value of the
# one that does. :mod:`sknormnet.distributions` provides the log-uniform
# distribution used here, and the one for momentum-like parameters, with what a
# coarse-to-fine search needs to narrow them.
