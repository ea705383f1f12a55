"""scikit-learn's own estimator checks, over several configurations."""

import pytest
from sklearn.utils.estimator_checks import (
    check_param_validation,
    parametrize_with_checks,
)

from sknormnet import MLPBatchNormClassifier

# The checks train on tiny data with few epochs on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

CONFIGURATIONS = [
    MLPBatchNormClassifier(max_iter=100, random_state=0),
    MLPBatchNormClassifier(batch_norm=False, max_iter=100, random_state=0),
    MLPBatchNormClassifier(
        solver="sgd", learning_rate_init=0.1, max_iter=100, random_state=0
    ),
    MLPBatchNormClassifier(
        solver="momentum",
        learning_rate_init=0.1,
        hidden_layer_sizes=(20, 10),
        activation="tanh",
        max_iter=100,
        random_state=0,
    ),
    MLPBatchNormClassifier(
        solver="rmsprop",
        activation="logistic",
        learning_rate_init=0.01,
        max_iter=100,
        random_state=0,
    ),
]

# Batch statistics are plain means over the rows of a batch, as in the
# batch-norm paper, so a weight of k cannot equal k repeated rows: the repeated
# rows shift the batch mean and variance.
BATCH_NORM_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "batch-norm statistics are unweighted, so a weight of k differs from "
        "k repeated rows"
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "batch-norm statistics are unweighted, so a weight of k differs from "
        "k repeated rows"
    ),
}


def expected_failed_checks(estimator):
    return BATCH_NORM_FAILED_CHECKS if estimator.batch_norm else {}


def _parametrize_with_checks(estimators, **kwargs):
    """``parametrize_with_checks``, with the checks in a list.

    scikit-learn 1.6 hands pytest a generator, which pytest 9.1 deprecates.
    """
    decorator = parametrize_with_checks(estimators, **kwargs)
    names, checks = decorator.args
    return pytest.mark.parametrize(names, list(checks), **decorator.kwargs)


@_parametrize_with_checks(CONFIGURATIONS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", CONFIGURATIONS, ids=repr)
def test_param_validation(estimator):
    check_param_validation(type(estimator).__name__, estimator)
