"""
==========================================================
Coarse-to-fine search against random search, same budget
==========================================================

:class:`~sknormnet.model_selection.CoarseToFineSearchCV` samples its first
round of candidates from the whole search space, like
:class:`~sklearn.model_selection.RandomizedSearchCV`, and each later round from
a space narrowed around the best candidates so far. This example tunes the
learning rate, Adam's momentum term ``beta_1`` and the hidden layers of
:class:`~sknormnet.MLPBatchNormClassifier` on the digits data, with three
rounds of eight candidates, and compares it with a random search of 24
candidates: the same number of fits.
"""

import warnings

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import RandomizedSearchCV, ShuffleSplit, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sknormnet import MLPBatchNormClassifier
from sknormnet.distributions import (
    layer_sizes,
    loguniform,
    loguniform_int,
    one_minus_loguniform,
)
from sknormnet.model_selection import CoarseToFineSearchCV

X, y = load_digits(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

# Each candidate trains for a few epochs only: enough to rank them.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

model = Pipeline(
    [
        ("scale", StandardScaler()),
        ("mlp", MLPBatchNormClassifier(max_iter=15, random_state=0)),
    ]
)

# %%
# The search space and the two searches
# -------------------------------------
# The learning rate is drawn log-uniformly between :math:`10^{-4}` and 1,
# ``beta_1`` as :math:`1 - 10^r` with :math:`r` uniform in
# :math:`[-3, -1]`, and one or two hidden layers of 16 to 256 units. Every
# candidate is scored on the same held-out quarter of the training data.
space = {
    "mlp__learning_rate_init": loguniform(1e-4, 1),
    "mlp__beta_1": one_minus_loguniform(0.9, 0.999),
    "mlp__hidden_layer_sizes": layer_sizes(
        n_layers=[1, 2], n_units=loguniform_int(16, 256)
    ),
}
holdout = ShuffleSplit(n_splits=1, test_size=0.25, random_state=0)

coarse_to_fine = CoarseToFineSearchCV(
    model,
    space,
    n_iter=8,
    n_rounds=3,
    top_k=3,
    cv=holdout,
    n_jobs=2,
    random_state=0,
).fit(X_train, y_train)

random_search = RandomizedSearchCV(
    model,
    space,
    n_iter=24,
    cv=holdout,
    n_jobs=2,
    random_state=0,
).fit(X_train, y_train)

# %%
# Each round of the coarse-to-fine search samples a narrower range of learning
# rates, around the best ones found so far:
for round_, round_space in enumerate(coarse_to_fine.search_spaces_):
    low, high = round_space["mlp__learning_rate_init"].support()
    print(f"round {round_}: learning_rate_init in [{low:.2g}, {high:.2g}]")

# %%
# Both searches, side by side: the best validation accuracy, the accuracy of
# the refitted best model on the test quarter, and how many candidates came
# within one percentage point of the best.
rows = {}
for name, search in (
    ("coarse to fine", coarse_to_fine),
    ("random", random_search),
):
    scores = search.cv_results_["mean_test_score"]
    rows[name] = {
        "candidates": len(scores),
        "best validation accuracy": search.best_score_,
        "test accuracy": search.score(X_test, y_test),
        "within 1% of its best": int(np.sum(scores >= np.max(scores) - 0.01)),
        "best learning rate": search.best_params_["mlp__learning_rate_init"],
    }
print(pd.DataFrame.from_dict(rows, orient="index").round(4).to_string())

# %%
# The zoom, round by round
# ------------------------
# :func:`~sknormnet.plotting.plot_search` draws the score of every candidate
# against each parameter on its sampling scale (``1 - beta_1`` on a log axis),
# coloured by round, with the interval each round sampled shaded. The later
# rounds gather around the good learning rates.
import matplotlib.pyplot as plt

from sknormnet.plotting import plot_search

fig, axes = plot_search(coarse_to_fine, ncols=2)
fig.suptitle("CoarseToFineSearchCV: three rounds of eight candidates")
plt.show()

# %%
# The best score found after each number of candidates (the dotted lines
# separate the rounds), and the score of every candidate in the order it was
# drawn (those below 0.8 are off the chart). The first eight candidates of
# both searches are plain random draws; from then on the coarse-to-fine search
# draws where the good candidates are.
fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
for name, search in (
    ("coarse to fine", coarse_to_fine),
    ("random", random_search),
):
    scores = search.cv_results_["mean_test_score"]
    order = np.arange(1, len(scores) + 1)
    (line,) = ax.plot(
        order, np.fmax.accumulate(scores), drawstyle="steps-post", label=name
    )
    ax.plot(order, scores, "o", color=line.get_color(), alpha=0.5, markersize=4)
for boundary in np.cumsum(coarse_to_fine.n_candidates_)[:-1]:
    ax.axvline(boundary + 0.5, color="grey", linestyle=":")
ax.set_xlabel("candidates evaluated")
ax.set_ylabel("validation accuracy")
ax.set_ylim(0.8, 1.0)
ax.legend()
plt.show()

# %%
# A random search spreads its budget evenly over the whole space, which is
# what the first round should do. Once the good region is known, the later
# rounds of a coarse-to-fine search spend the budget inside it, so many more
# of its candidates come close to the best. Which search holds the single best
# candidate varies from one random draw to the next at a budget this small,
# and the difference between the two best scores is within the noise of one
# validation split; what the zoom changes reliably is how much of the budget
# goes to candidates worth trying. The same idea by hand is a second random
# search on a narrower space; the search object runs it round after round and
# records each round's space in ``search_spaces_``.
