"""
==============================================================
Batch normalization and the learning rate: easier to tune
==============================================================

Batch normalization is said to make a network much less sensitive to its
learning rate, and so easier to tune. This example measures it on the digits
data that ships with scikit-learn, with
:class:`~sknormnet.MLPBatchNormClassifier` with and without batch
normalization (``batch_norm=True`` or ``False``, everything else equal):

1. the learning curves of the same network at learning rates from
   :math:`10^{-3}` to 1;
2. a small random search, the same random configurations of learning rate and
   hidden units for both: how many of them land within one percentage point
   of the best accuracy?
"""

import warnings

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknormnet import MLPBatchNormClassifier
from sknormnet.distributions import loguniform, loguniform_int

digits = load_digits(as_frame=True)
X_train, X_val, y_train, y_val = train_test_split(
    digits.data, digits.target, test_size=0.25, stratify=digits.target, random_state=0
)


def fit_network(batch_norm, learning_rate, n_units, max_iter, early_stopping):
    """Fit a scaled network of three hidden layers; False if the loss diverged.

    With early stopping, training stops after 5 epochs without a better
    validation score; without it, it runs all ``max_iter`` epochs.
    """
    network = MLPBatchNormClassifier(
        hidden_layer_sizes=(n_units, n_units, n_units),
        batch_norm=batch_norm,
        learning_rate_init=learning_rate,
        max_iter=max_iter,
        early_stopping=early_stopping,
        n_iter_no_change=5 if early_stopping else max_iter,
        random_state=0,
    )
    model = make_pipeline(StandardScaler(), network)
    with warnings.catch_warnings():
        # A few epochs are enough to see the differences.
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            model.fit(X_train, y_train)
        except ValueError:  # the training loss became infinite
            return model, False
    return model, True


# %%
# Learning curves across learning rates
# -------------------------------------
# The same network (three hidden layers of 64 units, the Adam solver, 20
# epochs) at four learning rates. A run whose loss overflows stops with an
# error naming the learning rate; its curve ends with a cross.
learning_rates = [1e-3, 1e-2, 1e-1, 1.0]
curves = {}
for batch_norm in (True, False):
    for learning_rate in learning_rates:
        model, finite = fit_network(
            batch_norm, learning_rate, 64, max_iter=20, early_stopping=False
        )
        curves[batch_norm, learning_rate] = (model[-1].loss_curve_, finite)

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True, layout="constrained")
colors = plt.get_cmap("viridis")(np.linspace(0, 0.85, len(learning_rates)))
for ax, batch_norm in zip(axes, (True, False)):
    for color, learning_rate in zip(colors, learning_rates):
        loss_curve, finite = curves[batch_norm, learning_rate]
        epochs = np.arange(1, len(loss_curve) + 1)
        ax.plot(epochs, loss_curve, color=color, label=f"{learning_rate:g}")
        if not finite:
            ax.plot(epochs[-1:], loss_curve[-1:], "x", color=color, markersize=9)
    ax.set_title("batch norm" if batch_norm else "no batch norm")
    ax.set_xlabel("epoch")
    ax.set_yscale("log")
axes[0].set_ylabel("training log-loss")
axes[1].legend(title="learning rate")
plt.show()

# %%
# At the small learning rates the two networks behave much alike. At the
# large ones they part: with batch normalization a learning rate of 1 still
# brings the loss well below :math:`\log 10 \approx 2.3`, the loss of
# guessing among the ten digits, and 0.1 keeps improving; without it a
# learning rate of 1 never gets past guessing and 0.1 stalls early, more than
# ten times higher. Batch normalization widens the range of learning rates
# that work.
#
# How often is a random configuration good?
# -----------------------------------------
# Twelve random configurations, the learning rate drawn log-uniformly between
# :math:`10^{-4}` and 1 and the units of the hidden layers log-uniformly
# between 16 and 128, each trained with and without batch normalization (with
# early stopping on a tenth of the training data), and scored on the held-out
# quarter of the data.
rng = np.random.RandomState(0)
configurations = pd.DataFrame(
    {
        "learning_rate": loguniform(1e-4, 1).rvs(12, random_state=rng),
        "n_units": loguniform_int(16, 128).rvs(12, random_state=rng),
    }
)

rows = []
for batch_norm in (True, False):
    for config in configurations.itertuples():
        model, finite = fit_network(
            batch_norm,
            config.learning_rate,
            config.n_units,
            max_iter=30,
            early_stopping=True,
        )
        rows.append(
            {
                "batch_norm": batch_norm,
                "learning_rate": config.learning_rate,
                "n_units": config.n_units,
                "accuracy": model.score(X_val, y_val) if finite else np.nan,
            }
        )
results = pd.DataFrame(rows)

# %%
# The best accuracy over all 24 runs sets the target; a run counts as good
# when it is within one percentage point of it. A diverged run is not good.
best = results["accuracy"].max()
results["good"] = results["accuracy"] >= best - 0.01
summary = results.groupby("batch_norm").agg(
    good_share=("good", "mean"),
    best_accuracy=("accuracy", "max"),
    median_accuracy=("accuracy", "median"),
    diverged=("accuracy", lambda accuracy: int(accuracy.isna().sum())),
)
print(f"best accuracy: {best:.3f}")
print(summary.round(3))

# %%
# Left, the accuracy of each configuration against its learning rate, the good
# band shaded; right, the share of configurations within a given distance of
# the best, for every distance up to ten percentage points (the shares of the
# table are read at one point).
distances = np.linspace(0, 0.1, 101)
fig, (ax, ax_share) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
ax.axhspan(best - 0.01, 1.0, color="tab:green", alpha=0.15, label="within 1% of best")
for batch_norm, marker in ((True, "o"), (False, "s")):
    runs = results[results["batch_norm"] == batch_norm]
    label = "batch norm" if batch_norm else "no batch norm"
    ax.scatter(
        runs["learning_rate"],
        runs["accuracy"].fillna(0.0),
        marker=marker,
        label=f"{label}: {runs['good'].mean():.0%} good",
        alpha=0.8,
    )
    accuracy = runs["accuracy"].to_numpy()
    share = [np.mean(accuracy >= best - distance) for distance in distances]
    ax_share.step(100 * distances, share, where="post", label=label)
ax.set_xscale("log")
ax.set_xlabel("learning_rate_init")
ax.set_ylabel("held-out accuracy (0 if diverged)")
ax.set_ylim(0, 1.01)
ax.legend(loc="lower left")
ax_share.axvline(1, color="tab:green", linestyle=":")
ax_share.set_xlabel("distance to the best accuracy (percentage points)")
ax_share.set_ylabel("share of configurations within it")
ax_share.set_ylim(0, 1.02)
ax_share.legend(loc="lower right")
plt.show()

# %%
# With batch normalization most random configurations land close to the best:
# a random search of a handful of draws is almost sure to find a good model.
# Without it the good configurations form a narrower band of learning rates,
# the large learning rates fail outright, and the same budget finds fewer good
# models. Twelve configurations on one data set are a small sample; raise their
# number (and ``max_iter``) to see the shares settle.
