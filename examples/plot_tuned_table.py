"""
=======================================
A tuned network for a table in one call
=======================================

:class:`~sknormnet.tabular.TunedMLPClassifier` is what ``sknormnet tune``
runs on a table: from the training rows alone it builds the preprocessing of
the columns, each fit's training length, the search space and the splits,
searches with :class:`~sknormnet.model_selection.CoarseToFineSearchCV`, and
averages the best candidates, refitted on all the rows.

This example runs it on a made-up table of loan applications: numbers on
very different scales, one of them heavily skewed, categories, and missing
values in both, and compares the tuned ensemble with gradient boosting and
with the network's own defaults behind the same preprocessing. The search is
sized by a number of candidates (``time_budget=None``) rather than by a time
budget, so that the example gives the same result on every machine.
"""

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

from sknormnet.plotting import plot_learning_curves
from sknormnet.tabular import TunedMLPClassifier, tabular_pipeline

# %%
# A table of loan applications
# ----------------------------
# The outcome depends on a ratio of two columns, on a category and on an
# interaction: something for the network's hidden layers to find.
rng = np.random.default_rng(0)
n_rows = 1500
income = rng.lognormal(10.5, 0.6, n_rows)  # skewed
loan = rng.lognormal(9.5, 0.8, n_rows)
applications = pd.DataFrame(
    {
        "income": income.round(-2),
        "loan": loan.round(-2),
        "years_employed": rng.integers(0, 40, n_rows).astype(float),
        "age": rng.integers(20, 75, n_rows),
        "purpose": rng.choice(["home", "car", "studies", "business"], n_rows),
        "housing": rng.choice(["owner", "tenant", "family"], n_rows),
    }
)
risk = (
    2.0 * np.log(loan / income)
    - 0.05 * applications["years_employed"]
    + applications["purpose"].map(
        {"home": -0.5, "car": 0.0, "studies": 0.3, "business": 0.8}
    )
    + 0.8 * (applications["housing"] == "tenant") * (applications["age"] < 30)
)
applications["decision"] = np.where(
    risk + rng.normal(0, 0.7, n_rows) > -2.5, "refused", "granted"
)
# gaps, as in any real table
applications.loc[rng.random(n_rows) < 0.08, "years_employed"] = np.nan
applications.loc[rng.random(n_rows) < 0.05, "housing"] = None

X = applications.drop(columns="decision")
y = applications["decision"]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
print(X.head().to_string())
print(y.value_counts().to_string())

# %%
# One call
# --------
# 12 candidates in rounds of 8 and 4 on two cores (the default uses every
# core and a time budget), each trained for about 600 optimizer steps; the
# 3 best are refitted and averaged.
model = TunedMLPClassifier(
    time_budget=None,
    n_candidates=12,
    ensemble_size=3,
    training_steps=600,
    n_jobs=2,
    random_state=0,
).fit(X_train, y_train)

results = pd.DataFrame(model.search_.cv_results_)
shown = [
    "round",
    "param_mlp__learning_rate_init",
    "param_mlp__hidden_layer_sizes",
    "param_mlp__dropout",
    "mean_test_score",
]
print(results.loc[model.ensemble_candidates_, shown].to_string())

# %%
# Against gradient boosting and the untuned network
# -------------------------------------------------
# Gradient boosting takes the categories as pandas categories; the untuned
# network gets the same preprocessing as the tuned one.
boosting = HistGradientBoostingClassifier(
    categorical_features="from_dtype", random_state=0
)
as_categories = {column: "category" for column in ("purpose", "housing")}
boosting.fit(X_train.astype(as_categories), y_train)
untuned = tabular_pipeline(X_train).set_params(mlp__random_state=0)
untuned.fit(X_train, y_train)
scores = pd.Series(
    {
        "TunedMLPClassifier": model.score(X_test, y_test),
        "HistGradientBoostingClassifier": boosting.score(
            X_test.astype(as_categories), y_test
        ),
        "MLPBatchNormClassifier, defaults": untuned.score(X_test, y_test),
    },
    name="held-out accuracy",
)
print(scores.round(4).to_string())

# %%
# The best member's training
# --------------------------
# Each member keeps its learning curves; the cosine schedule brings the
# learning rate down to nothing by the last epoch.
best = model.estimator_.estimators_[0]["mlp"]
plot_learning_curves(best)
