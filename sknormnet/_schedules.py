"""Learning-rate decay schedules, independent of the optimizer.

A schedule maps the initial learning rate and the number of completed epochs
to the learning rate of the next epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable


def inverse_time_decay(
    learning_rate_init: float, decay_rate: float, epoch: int
) -> float:
    """``learning_rate_init / (1 + decay_rate * epoch)``.

    Examples
    --------
    >>> from sknormnet._schedules import inverse_time_decay
    >>> inverse_time_decay(0.1, 1.0, 4)
    0.02
    """
    return learning_rate_init / (1.0 + decay_rate * epoch)


def exponential_decay(
    learning_rate_init: float, decay_rate: float, epoch: int
) -> float:
    """``learning_rate_init * exp(-decay_rate * epoch)``.

    Examples
    --------
    >>> import math
    >>> from sknormnet._schedules import exponential_decay
    >>> math.isclose(exponential_decay(0.1, math.log(2), 1), 0.05)
    True
    """
    return learning_rate_init * math.exp(-decay_rate * epoch)


SCHEDULES: dict[str, Callable[[float, float, int], float]] = {
    "inverse_time": inverse_time_decay,
    "exponential": exponential_decay,
}
