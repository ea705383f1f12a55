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


# Each kernel adds the L2 penalty's gradient ``decay * w`` to the gradient it
# reads and returns ``sum(w**2)`` of the weights it read, so that the penalty
# costs no pass over memory of its own. The sum is the only reordered
# addition: every entry's update is computed exactly as written.
@kernel(reorder_sums=True)
def _sgd_kernel(param, grad, decay, learning_rate):
    squares = decay - decay
    for i in range(param.size):
        w = param[i]
        squares += w * w
        param[i] = w - learning_rate * (grad[i] + decay * w)
    return squares


@kernel(reorder_sums=True)
def _momentum_kernel(param, grad, velocity, decay, learning_rate, beta, one_minus_beta):
    squares = decay - decay
    for i in range(param.size):
        w = param[i]
        squares += w * w
        new_velocity = beta * velocity[i] + one_minus_beta * (grad[i] + decay * w)
        velocity[i] = new_velocity
        param[i] = w - learning_rate * new_velocity
    return squares


@kernel(reorder_sums=True)
def _rmsprop_kernel(
    param, grad, square, decay, learning_rate, beta_2, one_minus_beta_2, epsilon
):
    squares = decay - decay
    for i in range(param.size):
        w = param[i]
        squares += w * w
        g = grad[i] + decay * w
        new_square = beta_2 * square[i] + one_minus_beta_2 * g * g
        square[i] = new_square
        param[i] = w - learning_rate * g / (np.sqrt(new_square) + epsilon)
    return squares


@kernel(reorder_sums=True)
def _adam_kernel(
    param,
    grad,
    first_moment,
    second_moment,
    decay,
    step_size,
    beta_1,
    one_minus_beta_1,
    beta_2,
    one_minus_beta_2,
    epsilon,
):
    squares = decay - decay
    for i in range(param.size):
        w = param[i]
        squares += w * w
        g = grad[i] + decay * w
        m = beta_1 * first_moment[i] + one_minus_beta_1 * g
        v = beta_2 * second_moment[i] + one_minus_beta_2 * g * g
        first_moment[i] = m
        second_moment[i] = v
        param[i] = w - step_size * m / (np.sqrt(v) + epsilon)
    return squares


class _Optimizer:
    """What the optimizers share: one kernel call per parameter array, with
    the L2 penalty's gradient folded in.

    A subclass sets ``_kernel`` and implements ``_moments`` (its state, one
    list of arrays per moment, aligned with ``params``) and
    ``_hyperparameters`` (the kernel's scalars after ``decay``).
    """

    def _moments(self):
        return []

    def update_params(self, params, grads, decay=0.0, n_decayed=None):
        """Update ``params`` in place, one step down ``grads``.

        Parameters
        ----------
        params, grads : list of ndarray
            C-contiguous arrays, each gradient shaped like its parameter.
        decay : float, default=0.0
            L2 penalty factor: ``decay * w`` is added to the gradient of each
            decayed entry ``w`` (the gradient of ``0.5 * decay * sum(w**2)``)
            within the update's single pass over memory.
        n_decayed : int or None, default=None
            How many leading entries of each (flattened) array the penalty
            applies to; all when None.

        Returns
        -------
        squares : float
            ``sum(w**2)`` over the decayed entries before the update; 0.0
            when ``decay`` is 0.
        """
        hyperparameters = self._hyperparameters()
        squares = 0.0
        for param, *arrays in zip(params, grads, *self._moments()):
            flats = [_flat(param), *map(_flat, arrays)]
            size = param.size
            split = 0 if not decay else size if n_decayed is None else n_decayed
            split = min(split, size)
            scalars = _scalars(param, decay, *hyperparameters)
            if split == size:
                squares += float(self._kernel(*flats, *scalars))
                continue
            if split:
                decayed = [flat[:split] for flat in flats]
                squares += float(self._kernel(*decayed, *scalars))
            scalars[0] = param.dtype.type(0)
            self._kernel(*[flat[split:] for flat in flats], *scalars)
        return squares


class SGD(_Optimizer):
    """Plain gradient descent: ``w -= learning_rate * g``.

    Parameters
    ----------
    params : list of ndarray
        The arrays that will be updated; used to shape the state.
    learning_rate : float
    """

    _kernel = staticmethod(_sgd_kernel)

    def __init__(self, params, learning_rate):
        self.learning_rate = learning_rate

    def _hyperparameters(self):
        return [self.learning_rate]


class Momentum(_Optimizer):
    """Gradient descent with momentum, as an exponentially weighted average.

    ``v = beta * v + (1 - beta) * g``, then ``w -= learning_rate * v``.

    Parameters
    ----------
    params : list of ndarray
    learning_rate : float
    beta : float
    """

    _kernel = staticmethod(_momentum_kernel)

    def __init__(self, params, learning_rate, beta):
        self.learning_rate = learning_rate
        self.beta = beta
        self.velocities = [np.zeros_like(param) for param in params]

    def _moments(self):
        return [self.velocities]

    def _hyperparameters(self):
        return [self.learning_rate, self.beta, 1 - self.beta]


class RMSprop(_Optimizer):
    """RMSprop: ``s = beta_2 * s + (1 - beta_2) * g**2``,
    ``w -= learning_rate * g / (sqrt(s) + epsilon)``.

    Parameters
    ----------
    params : list of ndarray
    learning_rate : float
    beta_2 : float
    epsilon : float
    """

    _kernel = staticmethod(_rmsprop_kernel)

    def __init__(self, params, learning_rate, beta_2, epsilon):
        self.learning_rate = learning_rate
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.squares = [np.zeros_like(param) for param in params]

    def _moments(self):
        return [self.squares]

    def _hyperparameters(self):
        return [self.learning_rate, self.beta_2, 1 - self.beta_2, self.epsilon]


class Adam(_Optimizer):
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

    _kernel = staticmethod(_adam_kernel)

    def __init__(self, params, learning_rate, beta_1, beta_2, epsilon):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.first_moments = [np.zeros_like(param) for param in params]
        self.second_moments = [np.zeros_like(param) for param in params]

    def _moments(self):
        return [self.first_moments, self.second_moments]

    def update_params(self, params, grads, decay=0.0, n_decayed=None):
        self.t += 1
        return super().update_params(params, grads, decay, n_decayed)

    update_params.__doc__ = _Optimizer.update_params.__doc__

    def _hyperparameters(self):
        root_second_correction = math.sqrt(1 - self.beta_2**self.t)
        step_size = (
            self.learning_rate * root_second_correction / (1 - self.beta_1**self.t)
        )
        return [
            step_size,
            self.beta_1,
            1 - self.beta_1,
            self.beta_2,
            1 - self.beta_2,
            self.epsilon * root_second_correction,
        ]


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
