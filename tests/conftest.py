import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler


@pytest.fixture(scope="session")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture
def small_multiclass():
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=3, size=(3, 6))
    y = np.repeat(np.arange(3), 40)
    X = centers[y] + rng.normal(size=(y.size, 6))
    return X, y
