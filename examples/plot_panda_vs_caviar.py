"""
===================================================
Panda or caviar: one model watched, or many at once
===================================================

Two ways to spend the same training budget on
:class:`~sknormnet.MLPBatchNormClassifier`:

- **panda**: train one model, one epoch at a time with
  :meth:`~sknormnet.MLPBatchNormClassifier.partial_fit`, watch its learning
  curve, and halve the learning rate whenever the validation loss stops
  improving;
- **caviar**: train many models with random hyperparameters in parallel
  (``n_jobs``), on the local cores through joblib, or on a Dask cluster
  through joblib's Dask backend, and keep the best.

Both get at most 60 epochs over the training data in total, and both are
judged on the same validation rows.
"""

import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import (
    PredefinedSplit,
    RandomizedSearchCV,
    train_test_split,
)
from sklearn.preprocessing import StandardScaler

from sknormnet import MLPBatchNormClassifier
from sknormnet.distributions import layer_sizes, loguniform, loguniform_int

X, y = load_digits(return_X_y=True, as_frame=True)
X_fit, X_val, y_fit, y_val = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
scaler = StandardScaler().set_output(transform="pandas").fit(X_fit)
X_fit, X_val = scaler.transform(X_fit), scaler.transform(X_val)
classes = np.unique(y)
budget = 60  # epochs over the training rows, for each approach

# %%
# The panda: babysitting one model
# --------------------------------
# Each call of ``partial_fit`` trains one epoch and keeps the weights, the
# optimizer's state and the batch-normalization statistics. After every epoch
# the babysitter looks at the validation loss; after four epochs without a
# new best it halves the learning rate with ``set_params``, which applies from
# the next epoch on, and once the learning rate is down to :math:`10^{-4}` it
# stops: smaller steps would not change the model any more. The figure is redrawn every epoch, so in an interactive
# session (``plt.ion()``) the curve grows while the model trains.
panda = MLPBatchNormClassifier(
    hidden_layer_sizes=(128, 64), learning_rate_init=0.02, random_state=0
)
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
(train_line,) = ax.plot([], [], label="training loss")
(val_line,) = ax.plot([], [], label="validation loss")
ax.set_xlabel("epoch")
ax.set_ylabel("log-loss")
ax.set_yscale("log")
ax.set_xlim(0, budget + 1)
ax.set_ylim(1e-4, 3)

validation_losses = []
best_loss, epochs_without_best = np.inf, 0
for epoch in range(1, budget + 1):
    panda.partial_fit(X_fit, y_fit, classes=classes)
    validation_losses.append(
        log_loss(y_val, panda.predict_proba(X_val), labels=classes)
    )
    if validation_losses[-1] < best_loss:
        best_loss, epochs_without_best = validation_losses[-1], 0
    else:
        epochs_without_best += 1
    if epochs_without_best == 4:
        learning_rate = panda.learning_rate_init / 2
        panda.set_params(learning_rate_init=learning_rate)
        epochs_without_best = 0
        ax.axvline(epoch + 0.5, color="grey", linestyle=":", linewidth=1)
        print(f"epoch {epoch}: no progress, learning rate now {learning_rate:.3g}")

    epochs = np.arange(1, epoch + 1)
    train_line.set_data(epochs, panda.loss_curve_)
    val_line.set_data(epochs, validation_losses)
    if matplotlib.is_interactive():
        plt.pause(0.01)
    if panda.learning_rate_init < 1e-4:
        break

ax.legend(title="dotted: learning rate halved")
plt.show()
panda_accuracy = panda.score(X_val, y_val)
print(f"panda: validation accuracy {panda_accuracy:.4f} after {panda.n_iter_} epochs")

# %%
# The model keeps its own record of the run: ``loss_curve_`` and
# ``learning_rate_curve_`` hold one value per epoch.
print(pd.Series(panda.learning_rate_curve_).value_counts(sort=False).rename("epochs"))

# %%
# Caviar: many models in parallel
# -------------------------------
# The same 60 epochs spread over six random configurations of 10 epochs each,
# trained two at a time (``n_jobs=2``), and scored on the same validation rows
# (a :class:`~sklearn.model_selection.PredefinedSplit` keeps the babysitter's
# split).
warnings.filterwarnings("ignore", category=ConvergenceWarning)
X_all = pd.concat([X_fit, X_val])
y_all = pd.concat([y_fit, y_val])
validation_fold = PredefinedSplit(np.r_[np.full(len(X_fit), -1), np.zeros(len(X_val))])
space = {
    "learning_rate_init": loguniform(1e-3, 1e-1),
    "hidden_layer_sizes": layer_sizes(n_layers=[1, 2], n_units=loguniform_int(32, 128)),
}


def caviar_search(**parallelism):
    """Six random candidates, each scored on the fixed validation rows."""
    return RandomizedSearchCV(
        MLPBatchNormClassifier(max_iter=10, random_state=0),
        space,
        n_iter=6,
        cv=validation_fold,
        refit=False,
        random_state=0,
        **parallelism,
    )


caviar = caviar_search(n_jobs=2).fit(X_all, y_all)

results = pd.DataFrame(caviar.cv_results_)
print(
    results[["param_learning_rate_init", "param_hidden_layer_sizes", "mean_test_score"]]
    .sort_values("mean_test_score", ascending=False)
    .to_string(index=False)
)
print(f"caviar: best validation accuracy {caviar.best_score_:.4f}")

# %%
# The same search on a Dask cluster
# ---------------------------------
# joblib's Dask backend sends the same fits to the workers of a Dask cluster;
# only where they run changes. Here the "cluster" is two workers inside this
# process, which is enough to show the mechanics; for a real cluster, give
# ``Client`` the scheduler's address, with workers started as one process per
# core and one thread each. The candidates are drawn in this process, so the
# results are the same as above.
try:
    from dask.distributed import Client, LocalCluster
except ImportError:  # Dask is optional: pip install ".[dask]"
    Client = None

if Client is not None:
    from joblib import parallel_config

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster),
        parallel_config(backend="dask"),
    ):
        caviar_dask = caviar_search().fit(X_all, y_all)
    same = np.allclose(
        caviar_dask.cv_results_["mean_test_score"],
        caviar.cv_results_["mean_test_score"],
    )
    print(
        f"Dask: best validation accuracy {caviar_dask.best_score_:.4f}; same scores: {same}"
    )

# %%
# Which one?
# ----------
# On a problem this small both reach about the same accuracy. The panda spent
# a person's attention on every epoch and ran on one core; the caviar ran
# unattended on every core, and its table says which learning rates and sizes
# work, which is worth more than one good model when the next round of tuning
# comes. Babysit when one run takes most of the compute you have; search in
# parallel as soon as you can afford several runs.
