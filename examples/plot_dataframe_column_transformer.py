"""
=============================================================
Mixed numeric and categorical columns from a pandas DataFrame
=============================================================

Real tables mix numbers and categories. This example builds such a table (a
made-up subscription service whose customers stay, downgrade or leave),
scales its numeric columns and one-hot encodes its categorical ones with a
:class:`~sklearn.compose.ColumnTransformer`, and trains
:class:`~sknormnet.MLPBatchNormClassifier` on the result, all in one
:class:`~sklearn.pipeline.Pipeline` that takes the raw DataFrame. The network
records the names of the features it was trained on, and predicts class
probabilities for new customers, given as new rows of a DataFrame.
"""

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sknormnet import MLPBatchNormClassifier

# %%
# A table of customers
# --------------------
# Four numeric columns on very different scales and three categorical ones.
# The outcome is drawn from a softmax of scores that depend on both kinds of
# columns, so a model has something to learn from each.
rng = np.random.default_rng(0)
n_customers = 3000
customers = pd.DataFrame(
    {
        "age": rng.integers(18, 80, n_customers),
        "monthly_fee": rng.gamma(4.0, 8.0, n_customers).round(2),
        "tenure_months": rng.integers(1, 120, n_customers),
        "support_calls": rng.poisson(1.5, n_customers),
        "plan": rng.choice(["basic", "standard", "premium"], n_customers),
        "region": rng.choice(["north", "south", "east", "west"], n_customers),
        "payment": rng.choice(
            ["card", "transfer", "invoice"], n_customers, p=[0.6, 0.3, 0.1]
        ),
    }
)

plan_effect = customers["plan"].map({"basic": 0.8, "standard": 0.0, "premium": -0.6})
payment_effect = customers["payment"].map(
    {"card": 0.0, "transfer": -0.3, "invoice": 0.7}
)
leave = (
    0.8 * customers["support_calls"]
    - 0.03 * customers["tenure_months"]
    + 0.04 * (customers["monthly_fee"] - 32)
    + plan_effect
    + payment_effect
)
downgrade = 0.05 * (customers["monthly_fee"] - 32) + 0.02 * (customers["age"] - 50)
scores = np.column_stack([np.zeros(n_customers), downgrade, leave])
proba = np.exp(scores - scores.max(axis=1, keepdims=True))
proba /= proba.sum(axis=1, keepdims=True)
outcomes = np.array(["stays", "downgrades", "leaves"])
customers["outcome"] = outcomes[
    (proba.cumsum(axis=1) < rng.random((n_customers, 1))).sum(axis=1)
]

print(customers.head().to_string())
print(customers["outcome"].value_counts())

# %%
# One pipeline from the raw table to the classes
# ----------------------------------------------
# ``set_output(transform="pandas")`` makes the column transformer return a
# DataFrame with a name for each encoded column, so the network records them
# in ``feature_names_in_``.
numeric = ["age", "monthly_fee", "tenure_months", "support_calls"]
categorical = ["plan", "region", "payment"]
preprocess = ColumnTransformer(
    [
        ("scale", StandardScaler(), numeric),
        (
            "encode",
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            categorical,
        ),
    ]
).set_output(transform="pandas")
model = Pipeline(
    [
        ("preprocess", preprocess),
        (
            "mlp",
            MLPBatchNormClassifier(
                hidden_layer_sizes=(32, 16),
                learning_rate_init=0.01,
                early_stopping=True,
                random_state=0,
            ),
        ),
    ]
)

X = customers.drop(columns="outcome")
y = customers["outcome"]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
model.fit(X_train, y_train)
print(
    f"epochs: {model['mlp'].n_iter_}, test accuracy: {model.score(X_test, y_test):.3f}"
)

# %%
# The outcome is random given the columns, so no model can be right every
# time. The probabilities the outcomes were drawn from set the ceiling: always
# guessing their most likely class scores
most_likely = pd.Series(outcomes[proba.argmax(axis=1)], index=customers.index)
print(f"{(most_likely[X_test.index] == y_test).mean():.3f} on the test rows.")

# %%
# and the network comes close to it. Per class:
print(classification_report(y_test, model.predict(X_test)))

# %%
# The network saw 14 named features: the 4 scaled numeric columns and one
# column per category.
print(model["mlp"].feature_names_in_)

# %%
# Predicting for new customers
# ----------------------------
# New rows come as a DataFrame with the original columns. The last one has a
# region that was never seen in training; the encoder gives it all zeros
# instead of failing. The columns of ``predict_proba`` follow ``classes_``.
new_customers = pd.DataFrame(
    {
        "age": [25, 61, 44],
        "monthly_fee": [55.0, 20.0, 32.5],
        "tenure_months": [3, 96, 30],
        "support_calls": [5, 0, 2],
        "plan": ["basic", "premium", "standard"],
        "region": ["north", "west", "overseas"],
        "payment": ["invoice", "card", "transfer"],
    }
)
probabilities = pd.DataFrame(
    model.predict_proba(new_customers),
    columns=model.classes_,
    index=["new customer 1", "new customer 2", "new customer 3"],
)
print(probabilities.round(3))

# %%
import matplotlib.pyplot as plt

ax = probabilities[["stays", "downgrades", "leaves"]].plot.barh(
    stacked=True, figsize=(7, 2.8), color=["tab:green", "tab:orange", "tab:red"]
)
ax.set_xlabel("predicted probability")
ax.set_xlim(0, 1)
ax.invert_yaxis()
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=3)
ax.figure.tight_layout()
plt.show()
