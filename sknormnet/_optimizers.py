"""Gradient-descent optimizers that update parameter arrays in place.

Each optimizer has one job, ``update_params(params, grads)``, and keeps its
state as one list of arrays per moment, aligned with ``params``. Its
hyperparameters are plain attributes, so they can be changed between epochs
without losing the accumulated moments.
"""

import math

import numpy as np


def _scratch(params):
    return [np.empty_like(param) for param in params]


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
        self._steps = _scratch(params)

    def update_params(self, params, grads):
        for param, grad, step in zip(params, grads, self._steps):
            np.multiply(grad, self.learning_rate, out=step)
            param -= step


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
        self._steps = _scratch(params)

    def update_params(self, params, grads):
        for param, grad, velocity, step in zip(
            params, grads, self.velocities, self._steps
        ):
            velocity *= self.beta
            np.multiply(grad, 1 - self.beta, out=step)
            velocity += step
            np.multiply(velocity, self.learning_rate, out=step)
            param -= step


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
        self._steps = _scratch(params)

    def update_params(self, params, grads):
        for param, grad, square, step in zip(params, grads, self.squares, self._steps):
            square *= self.beta_2
            np.multiply(grad, grad, out=step)
            step *= 1 - self.beta_2
            square += step
            np.sqrt(square, out=step)
            step += self.epsilon
            np.divide(grad, step, out=step)
            step *= self.learning_rate
            param -= step


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
    the same value in one pass less.
    """

    def __init__(self, params, learning_rate, beta_1, beta_2, epsilon):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.first_moments = [np.zeros_like(param) for param in params]
        self.second_moments = [np.zeros_like(param) for param in params]
        self._steps = _scratch(params)

    def update_params(self, params, grads):
        self.t += 1
        root_second_correction = math.sqrt(1 - self.beta_2**self.t)
        step_size = (
            self.learning_rate * root_second_correction / (1 - self.beta_1**self.t)
        )
        epsilon = self.epsilon * root_second_correction
        for param, grad, m, v, step in zip(
            params, grads, self.first_moments, self.second_moments, self._steps
        ):
            m *= self.beta_1
            np.multiply(grad, 1 - self.beta_1, out=step)
            m += step
            v *= self.beta_2
            np.multiply(grad, grad, out=step)
            step *= 1 - self.beta_2
            v += step
            np.sqrt(v, out=step)
            step += epsilon
            np.divide(m, step, out=step)
            step *= step_size
            param -= step


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
