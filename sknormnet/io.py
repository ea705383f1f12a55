"""Loading saved models: :func:`load`.

A fitted model, alone or in a pipeline (the ``model.skops`` of ``sknormnet
tune`` among them), is saved with :func:`skops.io.dump`, and loaded with
:func:`load`: :func:`skops.io.load` trusting sknormnet's own types, which
turns every failure of a damaged file into one
:class:`~sknormnet.exceptions.ModelFileError`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .exceptions import ModelFileError

if TYPE_CHECKING:
    from typing import BinaryIO

__all__ = ["TRUSTED_TYPES", "load"]

TRUSTED_TYPES = (
    "sknormnet._mlp.MLPBatchNormClassifier",
    "sknormnet.preprocessing.as_text",
    "sknormnet.preprocessing.as_float32",
    "numpy.dtype",
    # the members of an ensemble, as scikit-learn's VotingClassifier names them
    "sklearn.utils._bunch.Bunch",
    # scikit-learn before 1.7 keeps the columns a column transformer leaves
    # out in a list of this type
    "sklearn.compose._column_transformer._RemainderColsList",
)
"""The types that :func:`load` trusts in every file.

The classifier (by the path of the module that defines it); the functions
with which the pipelines of ``sknormnet tune`` turn non-numeric columns into
text and their features into float32; ``numpy.dtype``, the data types that
scikit-learn's imputers keep, which skops rebuilds itself but does not trust
by default; scikit-learn's ``Bunch``, a dict in which its
``VotingClassifier`` names the members of the ensembles that ``sknormnet
tune`` saves; with scikit-learn older than 1.7, the list in which a column
transformer keeps the columns it leaves out. Their state is made of types
that skops trusts: numbers, text, arrays and scikit-learn's estimators.
"""


def load(
    file: str | os.PathLike[str] | BinaryIO, *, trusted: Sequence[str] = ()
) -> Any:
    """Load a fitted model saved with :func:`skops.io.dump`.

    :func:`skops.io.load`, trusting :data:`TRUSTED_TYPES` and ``trusted``:
    a file that holds any other type is refused before anything is built,
    with skops' ``UntrustedTypesFoundException``, which names the types. A
    file that cannot be read into a fitted model (truncated, damaged, or
    changed after it was saved) raises :class:`~sknormnet.exceptions.
    ModelFileError`, whatever part of it is wrong, with the error of reading
    it as the cause.

    Parameters
    ----------
    file : str, path or binary file
        The file, as :func:`skops.io.dump` wrote it.
    trusted : sequence of str, default=()
        More types to trust, such as the steps of another library in a
        pipeline, by the names :func:`skops.io.get_untrusted_types` gives.

    Returns
    -------
    model : object
        The fitted model, a :class:`~sknormnet.MLPBatchNormClassifier` or a
        pipeline (any fitted scikit-learn estimator).

    Raises
    ------
    ModelFileError
        If the file is not a whole, unchanged skops file of a fitted
        estimator.
    FileNotFoundError, PermissionError, IsADirectoryError
        If the file cannot be opened, as :func:`open` raises them.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> import skops.io
    >>> from sknormnet import MLPBatchNormClassifier
    >>> from sknormnet.io import load
    >>> X, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    >>> model = MLPBatchNormClassifier((4,), tol=1.0, n_iter_no_change=1).fit(X, y)
    >>> data = skops.io.dumps(model)  # what skops.io.dump writes to a file
    >>> bool(np.array_equal(load(io.BytesIO(data)).predict(X), model.predict(X)))
    True

    A truncated file is one clear error:

    >>> load(io.BytesIO(data[: len(data) // 2]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    sknormnet.exceptions.ModelFileError: the file is not a whole skops file of a fitted model: BadZipFile: File is not a zip file. It was truncated, ...
    """
    # skops.io takes seconds to import: only when a model is loaded
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    name = os.fspath(file) if isinstance(file, str | os.PathLike) else "the file"
    try:
        model = skops.io.load(file, trusted=[*TRUSTED_TYPES, *trusted])
        # A changed file may build an object that is no fitted model, such
        # as a pipeline without its steps.
        _check_fitted(model)
    except (UntrustedTypesFoundException, OSError, Warning):
        # untrusted types, a file that cannot be opened, or a warning made an
        # error (another version of sknormnet): clear as they are
        raise
    except Exception as error:  # any failure of reading the content
        raise ModelFileError(
            f"{name} is not a whole skops file of a fitted model: "
            f"{type(error).__name__}: {error}. It was truncated, damaged or "
            "changed after it was saved: save the model again, or get an "
            "intact copy."
        ) from error
    return model


def _check_fitted(model: Any) -> None:
    """Raise unless ``model`` is a fitted estimator, and so is every step of
    a pipeline."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    for _, step in getattr(model, "steps", ()):
        if step is not None and step != "passthrough":
            _check_fitted(step)
