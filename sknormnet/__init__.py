"""Batch-normalized softmax MLPs and the tools to tune them, for scikit-learn."""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

__all__ = [
    "CoarseToFineSearchCV",
    "MLPBatchNormClassifier",
    "TunedMLPClassifier",
    "__version__",
    "loguniform",
    "one_minus_loguniform",
]

if TYPE_CHECKING:
    from ._mlp import MLPBatchNormClassifier
    from .distributions import loguniform, one_minus_loguniform
    from .model_selection import CoarseToFineSearchCV
    from .tabular import TunedMLPClassifier

# Where each public name lives. They are imported at first use (PEP 562):
# the estimator and the search load numba and scikit-learn, which take
# seconds that `sknormnet --help` and `import sknormnet` alone do without.
_HOMES = {
    "CoarseToFineSearchCV": "model_selection",
    "MLPBatchNormClassifier": "_mlp",
    "TunedMLPClassifier": "tabular",
    "loguniform": "distributions",
    "one_minus_loguniform": "distributions",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'sknormnet' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
