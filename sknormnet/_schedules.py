"""Learning-rate schedules, independent of the optimizer.

A schedule gives the learning rate of the next epoch from the initial rate
and the training's progress (:class:`Progress`); any optimizer takes it. The
``"adaptive"`` schedule also depends on whether training still improves,
which the estimator tracks: here it is the constant rate, which the
estimator divides by 5 each time training stops improving.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple


class Progress(NamedTuple):
    """Where training stands at the start of an epoch, and the settings the
    schedules read.

    Attributes
    ----------
    epoch : int
        Epochs completed before this one.
    samples_seen : int
        Training rows seen before this epoch.
    max_iter : int
        Epochs of a full ``fit``: the horizon of the cosine schedule.
    decay_rate : float
        Of the ``"inverse_time"`` and ``"exponential"`` schedules.
    power_t : float
        Of the ``"invscaling"`` schedule.
    warmup_epochs : int
        Epochs over which every schedule ramps up linearly from
        ``1 / (warmup_epochs + 1)`` of its rate.
    """

    epoch: int
    samples_seen: int
    max_iter: int
    decay_rate: float = 0.0
    power_t: float = 0.5
    warmup_epochs: int = 0


def constant(learning_rate_init: float, progress: Progress) -> float:
    """``learning_rate_init``."""
    return learning_rate_init


def inverse_time(learning_rate_init: float, progress: Progress) -> float:
    """``learning_rate_init / (1 + decay_rate * epoch)``.

    Examples
    --------
    >>> from sknormnet._schedules import Progress, inverse_time
    >>> inverse_time(0.1, Progress(epoch=4, samples_seen=0, max_iter=10, decay_rate=1))
    0.02
    """
    return learning_rate_init / (1.0 + progress.decay_rate * progress.epoch)


def exponential(learning_rate_init: float, progress: Progress) -> float:
    """``learning_rate_init * exp(-decay_rate * epoch)``."""
    return learning_rate_init * math.exp(-progress.decay_rate * progress.epoch)


def cosine(learning_rate_init: float, progress: Progress) -> float:
    """``learning_rate_init * (1 + cos(pi * epoch / max_iter)) / 2``: from the
    initial rate down towards 0 at the last epoch of ``fit``, then 0.

    Examples
    --------
    >>> from sknormnet._schedules import Progress, cosine
    >>> cosine(0.1, Progress(epoch=5, samples_seen=0, max_iter=10))
    0.05
    """
    fraction = min(progress.epoch / progress.max_iter, 1.0)
    return learning_rate_init * 0.5 * (1.0 + math.cos(math.pi * fraction))


def invscaling(learning_rate_init: float, progress: Progress) -> float:
    """``learning_rate_init / (samples_seen + 1) ** power_t``, as in
    scikit-learn's ``MLPClassifier(learning_rate="invscaling")``."""
    return learning_rate_init * math.pow(progress.samples_seen + 1, -progress.power_t)


def warmup_factor(progress: Progress) -> float:
    """``min(1, (epoch + 1) / (warmup_epochs + 1))``: the share of its rate a
    schedule takes in the first ``warmup_epochs`` epochs."""
    return min(1.0, (progress.epoch + 1) / (progress.warmup_epochs + 1))


SCHEDULES: dict[str, Callable[[float, Progress], float]] = {
    "constant": constant,
    "inverse_time": inverse_time,
    "exponential": exponential,
    "cosine": cosine,
    "invscaling": invscaling,
    "adaptive": constant,
}

# "adaptive" divides the rate by this each time training stops improving, and
# stops training once the rate falls below ADAPTIVE_MINIMUM (scikit-learn's).
ADAPTIVE_DIVISOR = 5.0
ADAPTIVE_MINIMUM = 1e-6
