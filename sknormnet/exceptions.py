"""The warnings and errors sknormnet raises for its users to filter or catch.

:class:`InconsistentVersionWarning` says that a saved model was loaded with
another version of sknormnet than the one that saved it;
:class:`ModelFileError` that a file is not a whole, unchanged model file.
"""

__all__ = ["InconsistentVersionWarning", "ModelFileError"]


class ModelFileError(ValueError):
    """A model file is truncated, damaged or was changed after it was saved.

    :func:`sknormnet.io.load` raises it, whatever part of the file is wrong,
    in place of the many errors of reading a broken file (a ``BadZipFile``,
    a ``KeyError`` for a missing array, an ``AttributeError`` for a missing
    attribute, ...), which it chains as the cause. A subclass of
    :class:`ValueError`, as the file is a bad value.

    Examples
    --------
    >>> from sknormnet.exceptions import ModelFileError
    >>> issubclass(ModelFileError, ValueError)
    True
    """


class InconsistentVersionWarning(UserWarning):
    """A model saved with one version of sknormnet was loaded with another.

    Loading a fitted :class:`~sknormnet.MLPBatchNormClassifier` (with
    :func:`pickle.load`, :func:`joblib.load` or :func:`skops.io.load`) warns
    with this class when the sknormnet that saved it is not the one loading
    it. The model's state may have changed meaning between the two
    versions: it may load wrongly, predict differently, or fail later on.

    Parameters
    ----------
    estimator_name : str
        The class of the loaded model.
    current_sknormnet_version : str
        The version loading the model.
    original_sknormnet_version : str
        The version that saved it (``"unknown"`` when the file does not say).

    See Also
    --------
    sklearn.exceptions.InconsistentVersionWarning : scikit-learn's warning for
        its own estimators.

    Examples
    --------
    The warning carries both versions:

    >>> from sknormnet.exceptions import InconsistentVersionWarning
    >>> warning = InconsistentVersionWarning(
    ...     estimator_name="MLPBatchNormClassifier",
    ...     current_sknormnet_version="0.2.0",
    ...     original_sknormnet_version="0.1.0",
    ... )
    >>> warning.original_sknormnet_version
    '0.1.0'

    To refuse a model saved with another version, make the warning an error
    with :func:`warnings.simplefilter` around the load, as the user guide's
    page "Saving and deploying" shows.
    """

    def __init__(
        self,
        *,
        estimator_name: str,
        current_sknormnet_version: str,
        original_sknormnet_version: str,
    ) -> None:
        super().__init__(
            estimator_name, current_sknormnet_version, original_sknormnet_version
        )
        self.estimator_name = estimator_name
        self.current_sknormnet_version = current_sknormnet_version
        self.original_sknormnet_version = original_sknormnet_version

    def __str__(self) -> str:
        return (
            f"Loading a {self.estimator_name} saved with sknormnet "
            f"{self.original_sknormnet_version} into sknormnet "
            f"{self.current_sknormnet_version}: its state may not mean the same "
            "in this version, so it may predict differently or fail. Refit it "
            f"with sknormnet {self.current_sknormnet_version}, or load it with "
            f"sknormnet {self.original_sknormnet_version}."
        )
