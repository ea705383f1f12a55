"""Batch-normalized softmax MLPs and the tools to tune them, for scikit-learn."""

from ._mlp import MLPBatchNormClassifier

__version__ = "0.1.0.dev0"

__all__ = ["MLPBatchNormClassifier", "__version__"]
