"""Batch-normalized softmax MLPs and the tools to tune them, for scikit-learn."""

from ._mlp import MLPBatchNormClassifier
from .distributions import loguniform, one_minus_loguniform
from .model_selection import CoarseToFineSearchCV

__version__ = "0.1.0.dev0"

__all__ = [
    "CoarseToFineSearchCV",
    "MLPBatchNormClassifier",
    "__version__",
    "loguniform",
    "one_minus_loguniform",
]
