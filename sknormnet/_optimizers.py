"""Gradient-descent optimizers that update parameter arrays in place.

Each optimizer has one job, ``update_params(params, grads, learning_rate)``,
and keeps its state as one list of arrays per moment,
aligned with ``params`` and allocated at the first update. Each class declares
the hyperparameters it takes in ``hyperparameters``; they are plain attributes,
so :meth:`Optimizer.set_hyperparameters` changes them between epochs without
losing the accumulated moments. The learning rate is an argument of each
update, so that a schedule (see ``_schedules``) can drive any optimizer.

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
def _nesterov_kernel(param, grad, velocity, learning_rate, beta, one_minus_beta):
    for i in range(param.size):
        g = grad[i]
        new_velocity = beta * velocity[i] + one_minus_beta * g
        velocity[i] = new_velocity
        param[i] -= learning_rate * (beta * new_velocity + one_minus_beta * g)


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


class Optimizer:
    """What the optimizers share: one compiled pass per parameter array that
    applies the update rule.

    A subclass sets ``_kernel`` and ``hyperparameters`` (the names of its
    constructor's arguments), and implements ``_new_moments`` (its state,
    one list of arrays per moment, aligned with ``params``) and
    ``_kernel_scalars`` (the kernel's scalars).
    """

    hyperparameters = ()
    _kernel = None

    def __init__(self, **hyperparameters):
        self.set_hyperparameters(**hyperparameters)
        self.moments = None

    def set_hyperparameters(self, **hyperparameters):
        """Set the declared hyperparameters; the moments are kept.

        Raises
        ------
        TypeError
            If a name is not one of ``hyperparameters``.
        """
        unknown = set(hyperparameters) - set(self.hyperparameters)
        if unknown:
            raise TypeError(
                f"{type(self).__name__} takes the hyperparameters "
                f"{list(self.hyperparameters)}; got {sorted(unknown)}."
            )
        for name, value in hyperparameters.items():
            setattr(self, name, value)

    def _new_moments(self, params):
        return []

    def _kernel_scalars(self, learning_rate):
        return [learning_rate]

    def update_params(self, params, grads, learning_rate):
        """Update ``params`` in place, one step down ``grads``.

        Parameters
        ----------
        params, grads : list of ndarray
            C-contiguous arrays, each gradient shaped like its parameter; the
            same list of shapes at every call.
        learning_rate : float
            Step size of this update.
        """
        if self.moments is None:
            self.moments = self._new_moments(params)
        self._count_step()
        scalars = self._kernel_scalars(learning_rate)
        for param, *arrays in zip(params, grads, *self.moments):
            # scalars of the array's dtype: with Python floats numba would
            # compute a float32 update in float64
            self._kernel(
                _flat(param),
                *map(_flat, arrays),
                *[param.dtype.type(value) for value in scalars],
            )

    def _count_step(self):
        """Called once per update, before the kernels run."""


class SGD(Optimizer):
    """Plain gradient descent: ``w -= learning_rate * g``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknormnet._optimizers import SGD
    >>> w = np.array([1.0, 2.0])
    >>> SGD().update_params([w], [np.array([0.5, -1.0])], learning_rate=0.1)
    >>> w
    array([0.95, 2.1 ])
    """

    _kernel = staticmethod(_sgd_kernel)


class Momentum(Optimizer):
    """Gradient descent with momentum, as an exponentially weighted average.

    ``v = momentum * v + (1 - momentum) * g``, then ``w -= learning_rate * v``;
    with Nesterov's momentum the step looks one average ahead,
    ``w -= learning_rate * (momentum * v + (1 - momentum) * g)``.

    Parameters
    ----------
    momentum : float
        The ``beta`` of the average.
    nesterovs_momentum : bool
        Whether to take Nesterov's step.
    """

    hyperparameters = ("momentum", "nesterovs_momentum")

    def __init__(self, momentum=0.9, nesterovs_momentum=False):
        super().__init__(momentum=momentum, nesterovs_momentum=nesterovs_momentum)

    @property
    def _kernel(self):
        return _nesterov_kernel if self.nesterovs_momentum else _momentum_kernel

    def _new_moments(self, params):
        return [[np.zeros_like(param) for param in params]]

    def _kernel_scalars(self, learning_rate):
        return [learning_rate, self.momentum, 1 - self.momentum]


class RMSprop(Optimizer):
    """RMSprop: ``s = beta_2 * s + (1 - beta_2) * g**2``,
    ``w -= learning_rate * g / (sqrt(s) + epsilon)``.

    Parameters
    ----------
    beta_2 : float
    epsilon : float
    """

    hyperparameters = ("beta_2", "epsilon")
    _kernel = staticmethod(_rmsprop_kernel)

    def __init__(self, beta_2=0.999, epsilon=1e-8):
        super().__init__(beta_2=beta_2, epsilon=epsilon)

    def _new_moments(self, params):
        return [[np.zeros_like(param) for param in params]]

    def _kernel_scalars(self, learning_rate):
        return [learning_rate, self.beta_2, 1 - self.beta_2, self.epsilon]


class Adam(Optimizer):
    """Adam with bias correction.

    With ``t`` the number of updates so far (this one included)::

        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        w -= learning_rate * (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)

    Parameters
    ----------
    beta_1, beta_2 : float
    epsilon : float

    Attributes
    ----------
    t : int
        Number of updates so far.

    Notes
    -----
    The step is computed as ``learning_rate * sqrt(c2) / c1 * m / (sqrt(v) +
    epsilon * sqrt(c2))`` with ``c1 = 1 - beta_1**t``, ``c2 = 1 - beta_2**t``:
    the same value with two scalar factors instead of two array divisions.
    """

    hyperparameters = ("beta_1", "beta_2", "epsilon")
    _kernel = staticmethod(_adam_kernel)

    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        super().__init__(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        self.t = 0

    def _new_moments(self, params):
        return [
            [np.zeros_like(param) for param in params],
            [np.zeros_like(param) for param in params],
        ]

    def _count_step(self):
        self.t += 1

    def _kernel_scalars(self, learning_rate):
        root_second_correction = math.sqrt(1 - self.beta_2**self.t)
        step_size = learning_rate * root_second_correction / (1 - self.beta_1**self.t)
        return [
            step_size,
            self.beta_1,
            1 - self.beta_1,
            self.beta_2,
            1 - self.beta_2,
            self.epsilon * root_second_correction,
        ]


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam}
