"""
=======================================================
Quick start: a batch-normalized MLP on the digits data
=======================================================

Train :class:`~sknormnet.MLPBatchNormClassifier` on the hand-written digits
that ship with scikit-learn, fed as a pandas DataFrame through a
``StandardScaler``, and compare it with the same network without batch
normalization.
"""

import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknormnet import MLPBatchNormClassifier

digits = load_digits(as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(
    digits.data, digits.target, test_size=0.25, stratify=digits.target, random_state=0
)

# %%
# Batch normalization on and off, everything else equal. Early stopping holds
# out a stratified tenth of the training data and keeps the best epoch.
results = {}
models = {}
for batch_norm in (True, False):
    model = make_pipeline(
        StandardScaler(),
        MLPBatchNormClassifier(
            hidden_layer_sizes=(128, 64),
            batch_norm=batch_norm,
            learning_rate_init=0.01,
            early_stopping=True,
            random_state=0,
        ),
    )
    model.fit(X_train, y_train)
    network = model[-1]
    label = "batch norm" if batch_norm else "no batch norm"
    models[label] = network
    results[label] = {
        "epochs": network.n_iter_,
        "best epoch": network.best_epoch_,
        "test accuracy": model.score(X_test, y_test),
    }

print(pd.DataFrame(results).T)

# %%
# The learning curves: training loss and validation loss per epoch.
try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, network in models.items():
        (line,) = ax.plot(network.loss_curve_, label=f"{label}: training")
        ax.plot(
            network.validation_loss_curve_,
            linestyle="--",
            color=line.get_color(),
            label=f"{label}: validation",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("log-loss")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    plt.show()
