"""Batch-normalized softmax MLPs and the tools to tune them, for scikit-learn."""

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

# The version is written in pyproject.toml alone; pip records it in the
# installed metadata.
try:
    __version__ = version("sknormnet")
except PackageNotFoundError:
    raise ImportError(
        "sknormnet is imported from a folder that pip did not install, so it "
        "has no version: install it from its folder with pip install -e ."
    ) from None

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
