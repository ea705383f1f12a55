"""Gradient-descent optimizers that update parameter arrays in place.

Each optimizer has one job, ``update_params(params, grads)``, and keeps its
state as one list of arrays per moment, aligned with ``params``. Its
hyperparameters are plain attributes, so they can be changed between epochs
without losing the accumulated moments.

Every update is one compiled pass over the parameters, their gradient and the
moments, where NumPy would need up to a dozen passes with a scratch array.
"""

import math

import numpy as np

from ._jit import kernel


def _flat(array):
    """``array`` as a 1-d view, so that the kernels update it in place."""
    if not array.flags.c_contiguous:
        raise ValueError(
            "optimizers update parameters in place and need C-contiguous "
            f"arrays; got one with strides {array.strides}"
        )
    return array.reshape(-1)


def _scalars(array, *values):
    """``values`` as scalars of ``array``'s dtype: numba would compute in
    float64 with Python floats."""
    return [array.dtype.type(value) for value in values]


@kernel
def _sgd_kernel(param, grad, learning_rate):
    for i in range(param.size):
        param[i] -= learning_rate * grad[i]


@kernel
def _momentum_kernel(param, grad, velocity, learning_rate, beta, one_minus_beta):
    for i in range(param.size):
        new_velocity = beta * velocity[i] + one_minus_beta * grad[i]
        velocity[i] = new_velocity
        param[i] -= learning_rate * new_velocity


@kernel
def _rmsprop_kernel(
    param, grad, square, learning_rate, beta_2, one_minus_beta_2, epsilon
):
    for i in range(param.size):
        g = grad[i]
        new_square = beta_2 * square[i] + one_minus_beta_2 * g * g
        square[i] = new_square
        param[i] -= learning_rate * g / (np.sqrt(new_square) + epsilon)


@kernel
def _adam_kernel(
    param,
    grad,
    first_moment,
    second_moment,
    step_size,
    beta_1,
    one_minus_beta_1,
    beta_2,
    one_minus_beta_2,
    epsilon,
):
    for i in range(param.size):
        g = grad[i]
        m = beta_1 * first_moment[i] + one_minus_beta_1 * g
        v = beta_2 * second_moment[i] + one_minus_beta_2 * g * g
        first_moment[i] = m
        second_moment[i] = v
        param[i] -= step_size * m / (np.sqrt(v) + epsilon)


class SGD:
    """Plain gradient descent: ``w -= learning_rate * g``.

    Parameters
    ----------
    params : list of ndarray
        The arrays that will be updated; used to shape the state.
    learning_rate : float
    """

    def __init__(self, params, learning_rate):
        self.learning_rate = learning_rate

    def update_params(self, params, grads):
        for param, grad in zip(params, grads):
            (learning_rate,) = _scalars(param, self.learning_rate)
            _sgd_kernel(_flat(param), _flat(grad), learning_rate)


class Momentum:
    """Gradient descent with momentum, as an exponentially weighted average.

    ``v = beta * v + (1 - beta) * g``, then ``w -= learning_rate * v``.

    Parameters
    ----------
    params : list of ndarray
    learning_rate : float
    beta : float
    """

    def __init__(self, params, learning_rate, beta):
        self.learning_rate = learning_rate
        self.beta = beta
        self.velocities = [np.zeros_like(param) for param in params]

    def update_params(self, params, grads):
        for param, grad, velocity in zip(params, grads, self.velocities):
            _momentum_kernel(
                _flat(param),
                _flat(grad),
                _flat(velocity),
                *_scalars(param, self.learning_rate, self.beta, 1 - self.beta),
            )


class RMSprop:
    """RMSprop: ``s = beta_2 * s + (1 - beta_2) * g**2``,
    ``w -= learning_rate * g / (sqrt(s) + epsilon)``.

    Parameters
    ----------
    params : list of ndarray
    learning_rate : float
    beta_2 : float
    epsilon : float
    """

    def __init__(self, params, learning_rate, beta_2, epsilon):
        self.learning_rate = learning_rate
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.squares = [np.zeros_like(param) for param in params]

    def update_params(self, params, grads):
        for param, grad, square in zip(params, grads, self.squares):
            _rmsprop_kernel(
                _flat(param),
                _flat(grad),
                _flat(square),
                *_scalars(
                    param,
                    self.learning_rate,
                    self.beta_2,
                    1 - self.beta_2,
                    self.epsilon,
                ),
            )


class Adam:
    """Adam with bias correction.

    With ``t`` the number of updates so far (this one included)::

        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        w -= learning_rate * (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)

    Parameters
    ----------
    params : list of ndarray
    learning_rate : float
    beta_1, beta_2 : float
    epsilon : float

    Notes
    -----
    The step is computed as ``learning_rate * sqrt(c2) / c1 * m / (sqrt(v) +
    epsilon * sqrt(c2))`` with ``c1 = 1 - beta_1**t``, ``c2 = 1 - beta_2**t``:
    the same value with two scalar factors instead of two array divisions.
    """

    def __init__(self, params, learning_rate, beta_1, beta_2, epsilon):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.first_moments = [np.zeros_like(param) for param in params]
        self.second_moments = [np.zeros_like(param) for param in params]

    def update_params(self, params, grads):
        self.t += 1
        root_second_correction = math.sqrt(1 - self.beta_2**self.t)
        step_size = (
            self.learning_rate * root_second_correction / (1 - self.beta_1**self.t)
        )
        epsilon = self.epsilon * root_second_correction
        for param, grad, m, v in zip(
            params, grads, self.first_moments, self.second_moments
        ):
            _adam_kernel(
                _flat(param),
                _flat(grad),
                _flat(m),
                _flat(v),
                *_scalars(
                    param,
                    step_size,
                    self.beta_1,
                    1 - self.beta_1,
                    self.beta_2,
                    1 - self.beta_2,
                    epsilon,
                ),
            )


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam}


def optimizer_hyperparameters(estimator):
    """The optimizer's keyword arguments, read from ``estimator``'s parameters."""
    solver = estimator.solver
    if solver == "momentum":
        return {"beta": estimator.momentum}
    if solver == "rmsprop":
        return {"beta_2": estimator.beta_2, "epsilon": estimator.epsilon}
    if solver == "adam":
        return {
            "beta_1": estimator.beta_1,
            "beta_2": estimator.beta_2,
            "epsilon": estimator.epsilon,
        }
    return {}
