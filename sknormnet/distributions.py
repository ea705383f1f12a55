"""Sampling distributions for hyperparameter search.

Each distribution draws with ``rvs(size=None, random_state=None)`` and so can be
used as a value of ``param_distributions`` in scikit-learn's
:class:`~sklearn.model_selection.RandomizedSearchCV` and
:class:`~sklearn.model_selection.ParameterSampler`, as well as in
:class:`sknormnet.model_selection.CoarseToFineSearchCV`.

The continuous distributions are uniform on a *sampling scale*:

- :class:`loguniform`: ``log10(x)`` is uniform, for scale parameters such as a
  learning rate or a penalty, where ``1e-4`` to ``1e-3`` deserves as many trials
  as ``0.1`` to ``1``;
- :class:`one_minus_loguniform`: ``log10(1 - x)`` is uniform, for averaging
  constants such as momentum or Adam's ``beta_1``, whose effect depends on the
  horizon ``1 / (1 - beta)`` and so is very sensitive close to 1;
- :class:`loguniform_int`: integers whose logarithm is (nearly) uniform, for
  counts such as the number of hidden units.

:class:`layer_sizes` combines two integer distributions (or lists) into
``hidden_layer_sizes`` tuples, :class:`categorical` is a list of values with
weights, and :class:`quantile_window` restricts any distribution with ``cdf``
and ``ppf`` (for instance a frozen :mod:`scipy.stats` distribution) to a range of
quantiles.

Besides ``rvs``, ``cdf``, ``ppf`` and ``support``, every distribution of this
module knows three things about itself, which the search, the plots and the
command line ask it:

- ``narrow(values)``: the distribution narrowed around ``values`` (the values of
  the best candidates of a search), on its sampling scale;
- ``axis_scale()``: the scale of a plot axis showing its values, ``"log"``,
  ``"one_minus"`` (``1 - x`` on a log axis), ``"linear"`` or ``"category"``;
- ``describe()``: what it draws, in one short line such as ``"0.0001..1"``.

:func:`as_distribution` gives the same three methods to the other entries of a
search space: lists of values and foreign distributions.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar, cast, overload

import numpy as np
from scipy import stats
from sklearn.utils import check_random_state

if TYPE_CHECKING:
    from typing import Literal, Protocol, Self, TypeAlias

    from numpy.typing import ArrayLike, NDArray

    # The names below exist for type checkers only: annotate with them under
    # ``if TYPE_CHECKING:``, e.g. ``from sknormnet.distributions import Sampler``.

    RandomStateLike: TypeAlias = (
        int | np.random.RandomState | np.random.Generator | None
    )
    """A seed, a ``RandomState`` or a ``Generator``, as ``random_state``."""

    Size: TypeAlias = int | tuple[int, ...]
    """The ``size`` of the array of draws."""

    Scalar: TypeAlias = float | np.number[Any]
    """A value for which ``cdf`` and ``ppf`` return a Python float."""

    class Sampler(Protocol):
        """What a search draws from: an object with ``rvs``, such as a frozen
        scipy.stats distribution or any distribution of this module."""

        def rvs(self, size: Any = ..., random_state: Any = ...) -> Any: ...

    class SearchDistribution(Sampler, Protocol):
        """What :func:`as_distribution` returns: a sampler that narrows and
        describes itself."""

        def narrow(self, values: Sequence[Any]) -> Sampler: ...

        def axis_scale(self) -> str: ...

        def describe(self) -> str: ...

    class CdfPpf(Protocol):
        """A distribution with ``cdf`` and ``ppf``, as :class:`quantile_window`
        restricts."""

        def cdf(self, x: Any) -> Any: ...

        def ppf(self, q: Any) -> Any: ...

    SearchEntry: TypeAlias = Sampler | Sequence[Any] | NDArray[Any]
    """A value of ``param_distributions``: a sampler or a list of values."""

_T = TypeVar("_T")
_Number = TypeVar("_Number", int, float)
_FloatInterval = TypeVar("_FloatInterval", bound="_Interval[float]")

__all__ = [
    "as_distribution",
    "categorical",
    "layer_sizes",
    "loguniform",
    "loguniform_int",
    "one_minus_loguniform",
    "quantile_window",
]

# When a distribution is narrowed around the best candidates, the narrowed
# interval is padded on each side by this fraction of the current interval, on
# the distribution's sampling scale.
_PADDING = 0.1

# When a list of values is re-weighted toward the values of the best
# candidates, this share of the probability mass is kept on the previous
# weights, so that every value keeps a chance.
_KEEP = 0.25

_LN10 = math.log(10.0)

# loguniform_int draws through float64, which holds every integer and every
# half-integer ``k + 1/2`` (its cdf takes their logarithm) only up to 2**52.
_LARGEST_INT_BOUND = 2**52
_EPS = float(np.finfo(float).eps)


def _check_rng(
    random_state: RandomStateLike,
) -> np.random.RandomState | np.random.Generator:
    """A RandomState or Generator from None, an int, a RandomState or a Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    rng: np.random.RandomState = check_random_state(random_state)
    return rng


def _randint(
    rng: np.random.RandomState | np.random.Generator, n: int, size: Size | None = None
) -> Any:
    """Uniform integers in ``[0, n)`` from a RandomState or a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng.integers(n, size=size)
    return rng.randint(n, size=size)


def _check_real(name: str, value: object, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"{owner} needs a real number for {name}, got {name}={value!r}."
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{owner} needs a finite {name}, got {name}={value!r}.")
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _padded_interval(
    points: ArrayLike, low: float, high: float, padding: float = _PADDING
) -> tuple[float, float]:
    """The smallest interval holding ``points``, padded and clipped to [low, high].

    Each side is padded by ``padding * (high - low)``.

    >>> from sknormnet.distributions import _padded_interval
    >>> _padded_interval([2, 3], 0, 10)
    (1.0, 4.0)
    >>> _padded_interval([9.5], 0, 10)
    (8.5, 10.0)
    """
    clipped = np.clip(np.asarray(points, dtype=float), low, high)
    pad = padding * (high - low)
    return float(max(low, clipped.min() - pad)), float(min(high, clipped.max() + pad))


@overload
def _as_output(values: Any, size: None, kind: type[_Number]) -> _Number: ...
@overload
def _as_output(values: Any, size: Size, kind: type[_Number]) -> NDArray[Any]: ...
def _as_output(
    values: Any, size: Size | None, kind: type[_Number]
) -> _Number | NDArray[Any]:
    """A Python scalar when ``size`` is None, else an array."""
    if size is None:
        return kind(values)
    array: NDArray[Any] = np.asarray(values).astype(kind)
    return array


def _scalar_or_array(values: Any, reference: ArrayLike) -> float | NDArray[np.float64]:
    """A Python float for a scalar ``reference``, else the array."""
    if np.ndim(reference) == 0:
        return float(values)
    return np.asarray(values, dtype=float)


def _short(value: object) -> str:
    """A value for a one-line description: numbers to 3 significant digits,
    an estimator (anything with ``get_params``) by its class's name."""
    if isinstance(value, bool | np.bool_ | str):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.3g}"
    if hasattr(value, "get_params"):
        return type(value).__name__
    return str(value)


def _describe_interval(low: object, high: object) -> str:
    return f"{_short(low)}..{_short(high)}"


class _Interval(Generic[_Number]):
    """What the distributions drawing from ``[low, high]`` share."""

    low: _Number
    high: _Number

    def __init__(self, low: _Number, high: _Number) -> None:
        self.low = low
        self.high = high

    def support(self) -> tuple[_Number, _Number]:
        """The smallest and largest values that can be drawn, as ``(low, high)``."""
        return self.low, self.high

    def describe(self) -> str:
        """The interval drawn from, ``"low..high"``, to 3 significant digits."""
        return _describe_interval(self.low, self.high)

    def _narrow_on_scale(
        self: _FloatInterval,
        values: Collection[float],
        forward: Callable[[Any], Any],
        inverse: Callable[[Any], Any],
    ) -> _FloatInterval:
        """The same distribution around ``values``, padded on the scale ``forward``."""
        if len(values) == 0:
            return self
        a, b = forward(self.low), forward(self.high)
        lo, hi = _padded_interval(forward(np.asarray(values, dtype=float)), a, b)
        low = self.low if lo <= a else float(inverse(lo))
        high = self.high if hi >= b else float(inverse(hi))
        try:
            return type(self)(low, high)
        except ValueError:  # the interval collapsed below float resolution
            return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(low={self.low!r}, high={self.high!r})"


class loguniform(_Interval[float]):
    """Continuous values whose base-10 logarithm is uniform.

    Draws ``10 ** r`` with ``r`` uniform on ``[log10(low), log10(high)]``, so each
    decade between ``low`` and ``high`` gets the same share of the draws. Use it
    for scale parameters such as ``learning_rate_init`` or ``alpha``. It samples,
    and computes ``cdf`` and ``ppf``, with :data:`scipy.stats.loguniform`; it
    adds what a coarse-to-fine search needs (``narrow``, ``axis_scale``,
    ``describe``).

    Parameters
    ----------
    low : float
        Smallest value, ``low > 0``.
    high : float
        Largest value, ``high > low``.

    Attributes
    ----------
    low, high : float
        The bounds.

    See Also
    --------
    one_minus_loguniform : For parameters close to 1 such as momentum.
    loguniform_int : The integer version.

    Notes
    -----
    With :math:`u` uniform on [0, 1), a draw is

    .. math:: x = 10^{\\log_{10} l + u (\\log_{10} h - \\log_{10} l)},

    and :math:`F(x) = (\\log_{10} x - \\log_{10} l) / (\\log_{10} h - \\log_{10} l)`.

    Examples
    --------
    >>> from sknormnet.distributions import loguniform
    >>> dist = loguniform(1e-4, 1)
    >>> dist
    loguniform(low=0.0001, high=1.0)
    >>> x = dist.rvs(size=10_000, random_state=0)
    >>> bool(x.min() >= 1e-4 and x.max() <= 1)
    True
    >>> round(float((x < 1e-2).mean()), 1)  # half the decades, half the draws
    0.5
    >>> round(dist.cdf(1e-2), 6), round(dist.ppf(0.25), 6)
    (0.5, 0.001)
    >>> dist.narrow([1e-3, 1e-2]), dist.axis_scale(), dist.describe()
    (loguniform(low=0.00039810717055349735, high=0.025118864315095794), 'log', '0.0001..1')
    """

    def __init__(self, low: float, high: float) -> None:
        low = _check_real("low", low, "loguniform")
        high = _check_real("high", high, "loguniform")
        if low <= 0:
            raise ValueError(
                f"loguniform needs low > 0 (it samples log10 of the value), got "
                f"low={low!r}; use a small positive bound such as low=1e-6."
            )
        if low >= high:
            raise ValueError(
                f"loguniform needs low < high, got low={low!r} and high={high!r}; "
                "swap them or widen the range."
            )
        super().__init__(low, high)
        self._scipy = stats.loguniform(low, high)

    @overload
    def rvs(self, size: None = None, random_state: RandomStateLike = None) -> float: ...
    @overload
    def rvs(
        self, size: Size, random_state: RandomStateLike = None
    ) -> NDArray[np.float64]: ...
    def rvs(
        self, size: Size | None = None, random_state: RandomStateLike = None
    ) -> float | NDArray[np.float64]:
        """Draw a float (``size=None``) or an array of ``size`` floats."""
        draws = self._scipy.rvs(size=size, random_state=_check_rng(random_state))
        # exp(log(low)) may round one ulp outside the bounds
        return _as_output(np.clip(draws, self.low, self.high), size, float)

    @overload
    def cdf(self, x: Scalar) -> float: ...
    @overload
    def cdf(self, x: ArrayLike) -> NDArray[np.float64]: ...
    def cdf(self, x: ArrayLike) -> float | NDArray[np.float64]:
        """Probability of drawing a value lower than or equal to ``x``."""
        return _scalar_or_array(self._scipy.cdf(x), x)

    @overload
    def ppf(self, q: Scalar) -> float: ...
    @overload
    def ppf(self, q: ArrayLike) -> NDArray[np.float64]: ...
    def ppf(self, q: ArrayLike) -> float | NDArray[np.float64]:
        """The value below which a fraction ``q`` of the draws falls."""
        return _scalar_or_array(self._scipy.ppf(q), q)

    def narrow(self, values: Collection[float]) -> Self:
        """The interval around ``values`` on the ``log10`` scale.

        The smallest interval of ``log10(x)`` holding ``log10(values)``, padded
        on each side by 10% of the current one and clipped to it.
        """
        return self._narrow_on_scale(values, np.log10, lambda t: np.power(10.0, t))

    def axis_scale(self) -> Literal["log"]:
        """``"log"``: plotted on a log axis."""
        return "log"


class one_minus_loguniform(_Interval[float]):
    """Values in ``[low, high]`` below 1 whose distance to 1 is log-uniform.

    Draws ``1 - 10 ** r`` with ``r`` uniform on ``[log10(1 - high), log10(1 -
    low)]``. For ``one_minus_loguniform(0.9, 0.999)`` as many draws fall in
    [0.9, 0.99] as in [0.99, 0.999], which suits averaging constants (momentum,
    Adam's ``beta_1``): their averaging horizon ``1 / (1 - beta)`` changes much
    faster near 1.

    Parameters
    ----------
    low : float
        Smallest value, ``0 < low``.
    high : float
        Largest value, ``low < high < 1``.

    Attributes
    ----------
    low, high : float
        The bounds.

    See Also
    --------
    loguniform : For scale parameters such as the learning rate.

    Notes
    -----
    With :math:`u` uniform on [0, 1), :math:`a = \\log_{10}(1 - h)` and
    :math:`b = \\log_{10}(1 - l)`, a draw is

    .. math:: x = 1 - 10^{b - u (b - a)}.

    It is computed as ``-expm1(...)`` and ``1 - x`` as ``log1p(-x)``, so bounds
    within ``1e-8`` of 1 keep their full precision.

    Examples
    --------
    >>> from sknormnet.distributions import one_minus_loguniform
    >>> beta = one_minus_loguniform(0.9, 0.999)
    >>> beta
    one_minus_loguniform(low=0.9, high=0.999)
    >>> x = beta.rvs(size=10_000, random_state=0)
    >>> round(float((x > 0.99).mean()), 1)
    0.5
    >>> round(beta.ppf(0.5), 6)
    0.99
    >>> near_one = one_minus_loguniform(1 - 1e-6, 1 - 1e-8)
    >>> y = near_one.rvs(size=1000, random_state=0)
    >>> bool(((y >= 1 - 1e-6) & (y <= 1 - 1e-8)).all())
    True
    >>> beta.axis_scale(), beta.describe()
    ('one_minus', '0.9..0.999')
    """

    def __init__(self, low: float, high: float) -> None:
        low = _check_real("low", low, "one_minus_loguniform")
        high = _check_real("high", high, "one_minus_loguniform")
        for name, value in (("low", low), ("high", high)):
            if not 0 < value < 1:
                raise ValueError(
                    f"one_minus_loguniform needs 0 < {name} < 1 (it samples "
                    f"log10(1 - value)), got {name}={value!r}; use e.g. "
                    "one_minus_loguniform(0.9, 0.999)."
                )
        if low >= high:
            raise ValueError(
                f"one_minus_loguniform needs low < high, got low={low!r} and "
                f"high={high!r}; swap them or widen the range."
            )
        super().__init__(low, high)

    @staticmethod
    def _forward(x: ArrayLike) -> NDArray[np.float64]:
        # -log10(1 - x): increasing in x, accurate near 1.
        t: NDArray[np.float64] = -np.log1p(-np.asarray(x, dtype=float)) / _LN10
        return t

    @staticmethod
    def _inverse(t: ArrayLike) -> NDArray[np.float64]:
        return -np.expm1(-np.asarray(t, dtype=float) * _LN10)

    @overload
    def rvs(self, size: None = None, random_state: RandomStateLike = None) -> float: ...
    @overload
    def rvs(
        self, size: Size, random_state: RandomStateLike = None
    ) -> NDArray[np.float64]: ...
    def rvs(
        self, size: Size | None = None, random_state: RandomStateLike = None
    ) -> float | NDArray[np.float64]:
        """Draw a float (``size=None``) or an array of ``size`` floats."""
        rng = _check_rng(random_state)
        return _as_output(self.ppf(rng.uniform(0.0, 1.0, size=size)), size, float)

    @overload
    def cdf(self, x: Scalar) -> float: ...
    @overload
    def cdf(self, x: ArrayLike) -> NDArray[np.float64]: ...
    def cdf(self, x: ArrayLike) -> float | NDArray[np.float64]:
        """Probability of drawing a value lower than or equal to ``x``."""
        x_arr = np.asarray(x, dtype=float)
        a, b = self._forward(self.low), self._forward(self.high)
        inside = np.clip(x_arr, self.low, self.high)
        out = np.clip((self._forward(inside) - a) / (b - a), 0.0, 1.0)
        out = np.where(x_arr < self.low, 0.0, np.where(x_arr >= self.high, 1.0, out))
        return _scalar_or_array(out, x)

    @overload
    def ppf(self, q: Scalar) -> float: ...
    @overload
    def ppf(self, q: ArrayLike) -> NDArray[np.float64]: ...
    def ppf(self, q: ArrayLike) -> float | NDArray[np.float64]:
        """The value below which a fraction ``q`` of the draws falls."""
        q_arr = np.asarray(q, dtype=float)
        a, b = self._forward(self.low), self._forward(self.high)
        x = np.clip(self._inverse(a + q_arr * (b - a)), self.low, self.high)
        x = np.where((q_arr >= 0.0) & (q_arr <= 1.0), x, np.nan)
        return _scalar_or_array(x, q)

    def narrow(self, values: Collection[float]) -> Self:
        """The interval around ``values`` on the ``log10(1 - x)`` scale.

        The smallest interval of ``log10(1 - x)`` holding the values, padded on
        each side by 10% of the current one and clipped to it.
        """
        return self._narrow_on_scale(values, self._forward, self._inverse)

    def axis_scale(self) -> Literal["one_minus"]:
        """``"one_minus"``: plotted as ``1 - x`` on a log axis."""
        return "one_minus"


class loguniform_int(_Interval[int]):
    """Integers in ``[low, high]`` whose logarithm is (nearly) uniform.

    Draws ``round(exp(r))`` with ``r`` uniform on ``[log(low - 1/2), log(high +
    1/2)]``: each integer ``k`` gets the probability of ``[k - 1/2, k + 1/2)``
    under the continuous log-uniform, so both ends are reachable and small
    integers are drawn more often than large ones.

    Parameters
    ----------
    low : int
        Smallest value, ``low >= 1``.
    high : int
        Largest value, ``low < high <= 2**52``: the draws go through float64,
        which holds every integer and half-integer only up to ``2**52``
        (about 4.5e15).

    Attributes
    ----------
    low, high : int
        The bounds.

    See Also
    --------
    loguniform : The continuous version.
    layer_sizes : Draws ``hidden_layer_sizes`` tuples from integer distributions.

    Notes
    -----
    :math:`P(X = k) = \\dfrac{\\log(k + 1/2) - \\log(k - 1/2)}
    {\\log(h + 1/2) - \\log(l - 1/2)}` for :math:`l \\le k \\le h`. ``rvs``
    returns integers, ``ppf`` returns integer-valued floats (as scipy's discrete
    distributions do). The logarithms are taken relative to :math:`l - 1/2`
    (``log1p`` and ``expm1``), so that neighbouring integers keep their own
    probabilities however large they are, up to ``2**52``.

    Examples
    --------
    >>> from sknormnet.distributions import loguniform_int
    >>> units = loguniform_int(50, 100)
    >>> units
    loguniform_int(low=50, high=100)
    >>> k = units.rvs(size=10_000, random_state=0)
    >>> int(k.min()), int(k.max())
    (50, 100)
    >>> units.rvs(random_state=0)
    73
    >>> units.narrow([60, 70]), units.describe()
    (loguniform_int(low=56, high=75), '50..100')
    """

    def __init__(self, low: int, high: int) -> None:
        for name, value in (("low", low), ("high", high)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(
                    f"loguniform_int needs integer bounds, got {name}={value!r}; "
                    "use loguniform for continuous values."
                )
        low, high = int(low), int(high)
        if low < 1:
            raise ValueError(
                f"loguniform_int needs low >= 1 (it samples the logarithm of the "
                f"value), got low={low!r}; use low=1 or more."
            )
        if low >= high:
            raise ValueError(
                f"loguniform_int needs low < high, got low={low!r} and "
                f"high={high!r}; swap them or widen the range."
            )
        if high > _LARGEST_INT_BOUND:
            raise ValueError(
                f"loguniform_int needs high <= 2**52 = {_LARGEST_INT_BOUND}, got "
                f"high={high!r}: it draws through float64, which holds every "
                "integer only up to there. Use a smaller high, or loguniform "
                "for a value that need not be an integer."
            )
        super().__init__(low, high)

    def _scale_support(self) -> tuple[float, float]:
        return math.log(self.low - 0.5), math.log(self.high + 0.5)

    def _log_ratio(self, k: Any) -> Any:
        """``log(k + 1/2) - log(low - 1/2)``, accurate when ``k`` is large
        and close to ``low``: integers below 2**52 and their offsets from
        ``low`` are exact in float64."""
        return np.log1p((np.asarray(k, dtype=float) - self.low + 1) / (self.low - 0.5))

    @overload
    def rvs(self, size: None = None, random_state: RandomStateLike = None) -> int: ...
    @overload
    def rvs(
        self, size: Size, random_state: RandomStateLike = None
    ) -> NDArray[np.int_]: ...
    def rvs(
        self, size: Size | None = None, random_state: RandomStateLike = None
    ) -> int | NDArray[np.int_]:
        """Draw an int (``size=None``) or an array of ``size`` ints."""
        rng = _check_rng(random_state)
        return _as_output(self.ppf(rng.uniform(0.0, 1.0, size=size)), size, int)

    @overload
    def cdf(self, x: Scalar) -> float: ...
    @overload
    def cdf(self, x: ArrayLike) -> NDArray[np.float64]: ...
    def cdf(self, x: ArrayLike) -> float | NDArray[np.float64]:
        """Probability of drawing an integer lower than or equal to ``x``."""
        x_arr = np.asarray(x, dtype=float)
        k = np.clip(np.floor(x_arr), self.low, self.high)
        out = np.clip(self._log_ratio(k) / self._log_ratio(self.high), 0.0, 1.0)
        out = np.where(x_arr < self.low, 0.0, out)
        return _scalar_or_array(out, x)

    @overload
    def ppf(self, q: Scalar) -> float: ...
    @overload
    def ppf(self, q: ArrayLike) -> NDArray[np.float64]: ...
    def ppf(self, q: ArrayLike) -> float | NDArray[np.float64]:
        """The smallest integer ``k`` with ``cdf(k) >= q`` (``low`` for ``q=0``)."""
        q_arr = np.asarray(q, dtype=float)
        # cdf(k) >= q where k + 1/2 >= (low - 1/2) * exp(q * log_ratio(high))
        offset = (self.low - 0.5) * np.expm1(q_arr * self._log_ratio(self.high))
        k = np.clip(self.low - 1 + np.ceil(offset), self.low, self.high)
        # the offset may round above its integer: step back when k - 1 suffices
        below = np.maximum(k - 1, self.low)
        k = np.where(np.asarray(self.cdf(below)) >= q_arr * (1 - 8 * _EPS), below, k)
        k = np.where((q_arr >= 0.0) & (q_arr <= 1.0), k, np.nan)
        return _scalar_or_array(k, q)

    def narrow(self, values: Collection[float]) -> Self:
        """The integers around ``values`` on the ``log`` scale.

        The smallest interval of ``log(k)`` holding the values, padded on each
        side by 10% of the current one and clipped to it; it keeps the values,
        and at least two integers.
        """
        if len(values) == 0:
            return self
        clipped = np.clip(np.asarray(values, dtype=float), self.low, self.high)
        a, b = self._scale_support()
        lo, hi = _padded_interval(np.log(clipped), a, b)
        # keep every integer whose own log lies in [lo, hi], and the values.
        low = max(self.low, min(int(clipped.min()), math.ceil(math.exp(lo))))
        high = min(self.high, max(int(clipped.max()), math.floor(math.exp(hi))))
        if low == high:
            if high < self.high:
                high += 1
            else:
                low -= 1
        return type(self)(low, high)

    def axis_scale(self) -> Literal["log"]:
        """``"log"``: plotted on a log axis."""
        return "log"


class categorical(Generic[_T]):
    """A list of values drawn with given probabilities.

    :class:`~sknormnet.model_selection.CoarseToFineSearchCV` turns the lists of
    ``param_distributions`` into ``categorical`` with weights moved toward the
    values of the best candidates; it can also be given directly to express a
    prior preference.

    Parameters
    ----------
    values : sequence
        The values, in the order used by ``cdf``, ``ppf`` and ``support``.
    p : sequence of float, default=None
        Their probabilities (normalized to sum to 1); uniform when None.

    Attributes
    ----------
    values : list
        The values.
    p : ndarray of shape (len(values),)
        Their probabilities.

    Notes
    -----
    ``cdf`` and ``ppf`` follow the order in which the values are listed:
    ``cdf(values[i])`` is ``p[0] + ... + p[i]``.

    Examples
    --------
    >>> from sknormnet.distributions import categorical
    >>> batch = categorical([32, 64, 128], p=[0.25, 0.5, 0.25])
    >>> batch
    categorical([32, 64, 128], p=[0.25, 0.5, 0.25])
    >>> draws = batch.rvs(size=1000, random_state=0)
    >>> sorted(set(draws.tolist()))
    [32, 64, 128]
    >>> batch.cdf(64), batch.ppf(0.9), batch.support()
    (0.75, 128, (32, 128))
    >>> batch.narrow([128, 128])
    categorical([32, 64, 128], p=[0.062, 0.125, 0.812])
    >>> batch.describe()
    '32 (25%), 64 (50%), 128 (25%)'
    >>> categorical([32, 64, 128]).describe()
    '32, 64, 128 (equally likely)'
    """

    def __init__(self, values: Collection[_T], p: ArrayLike | None = None) -> None:
        if isinstance(values, str) or not hasattr(values, "__len__"):
            raise ValueError(
                f"categorical needs a list of values, got values={values!r}; wrap "
                "a single value in a list."
            )
        listed = list(values)
        if not listed:
            raise ValueError("categorical needs at least one value, got values=[].")
        if p is None:
            p = np.full(len(listed), 1.0 / len(listed))
        weights = np.asarray(p, dtype=float)
        if (
            weights.shape != (len(listed),)
            or not np.all(np.isfinite(weights))
            or np.any(weights < 0)
        ):
            raise ValueError(
                f"categorical needs one non-negative probability per value, got "
                f"p={weights.tolist()!r} for {len(listed)} values."
            )
        if weights.sum() <= 0:
            raise ValueError(
                f"categorical needs p to sum to more than 0, got p={weights!r}."
            )
        self.values = listed
        self.p = weights / weights.sum()

    def _index(self, value: object) -> int:
        for i, candidate in enumerate(self.values):
            if candidate is value:
                return i
        for i, candidate in enumerate(self.values):
            try:
                if bool(candidate == value):
                    return i
            except (TypeError, ValueError):
                continue
        raise ValueError(f"{value!r} is not one of the values {self.values!r}.")

    @overload
    def rvs(self, size: None = None, random_state: RandomStateLike = None) -> _T: ...
    @overload
    def rvs(self, size: Size, random_state: RandomStateLike = None) -> NDArray[Any]: ...
    def rvs(
        self, size: Size | None = None, random_state: RandomStateLike = None
    ) -> _T | NDArray[Any]:
        """Draw a value (``size=None``) or an array of ``size`` values."""
        rng = _check_rng(random_state)
        drawn = rng.choice(len(self.values), size=size, p=self.p)
        if size is None:
            return self.values[int(drawn)]
        indices = np.asarray(drawn)
        if all(
            isinstance(v, numbers.Number) and not isinstance(v, bool)
            for v in self.values
        ):
            return np.asarray(self.values)[indices]
        out = np.empty(indices.shape, dtype=object)
        for position, i in np.ndenumerate(indices):
            out[position] = self.values[i]
        return out

    def cdf(self, x: _T) -> float:
        """Total probability of ``x`` and of the values listed before it."""
        return float(np.cumsum(self.p)[self._index(x)])

    def ppf(self, q: float) -> _T:
        """The first value whose ``cdf`` reaches ``q``."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"ppf needs 0 <= q <= 1, got q={q!r}.")
        i = int(np.searchsorted(np.cumsum(self.p), q - 1e-12))
        return self.values[min(i, len(self.values) - 1)]

    def support(self) -> tuple[_T, _T]:
        """The first and the last of the values, as ``(low, high)``."""
        return self.values[0], self.values[-1]

    def narrow(self, values: Collection[_T]) -> categorical[_T]:
        """The same values, re-weighted toward ``values``.

        The new probabilities are 75% the frequencies in ``values`` and 25% the
        current probabilities, so every value keeps a chance.
        """
        if len(values) == 0:
            return self
        counts = np.zeros(len(self.values))
        for value in values:
            counts[self._index(value)] += 1
        p = (1.0 - _KEEP) * counts / counts.sum() + _KEEP * self.p
        return categorical(self.values, p=p)

    def axis_scale(self) -> Literal["category", "log", "linear"]:
        """``"category"`` unless every value is a number.

        Numbers are plotted on a log axis when they are positive and the
        largest is 8 times the smallest or more (such as batch sizes), else on
        a linear one.
        """
        if not all(_is_number(v) for v in self.values):
            return "category"
        reals = cast("list[float]", self.values)
        low, high = min(reals), max(reals)
        return "log" if low > 0 and high >= 8 * low else "linear"

    def describe(self) -> str:
        """Every value, with its probability unless all are equally likely.

        ``"a, b, c (equally likely)"`` or ``"a (70%), b (20%), c (10%)"``: a
        space narrowed toward the best candidates still draws every value, so
        naming only the likeliest one would mislead.
        """
        shown = [_short(value) for value in self.values]
        if len(shown) == 1:
            return shown[0]
        if np.allclose(self.p, self.p[0]):
            return ", ".join(shown) + " (equally likely)"
        return ", ".join(f"{v} ({w:.0%})" for v, w in zip(shown, self.p))

    def __repr__(self) -> str:
        weights = [round(float(w), 3) for w in self.p]
        return f"categorical({self.values!r}, p={weights!r})"


class quantile_window:
    """Any distribution with ``cdf`` and ``ppf``, restricted to a quantile range.

    Draws ``dist.ppf(q)`` with ``q`` uniform on ``[q_low, q_high]``: the part of
    ``dist`` between its ``q_low`` and ``q_high`` quantiles, with the same shape.
    :class:`~sknormnet.model_selection.CoarseToFineSearchCV` narrows frozen
    :mod:`scipy.stats` distributions this way.

    Parameters
    ----------
    dist : object
        A distribution with ``cdf`` and ``ppf`` methods, such as
        ``scipy.stats.norm(0, 1)`` or ``scipy.stats.randint(1, 10)``.
    q_low, q_high : float, default=0.0, 1.0
        The quantile range, ``0 <= q_low < q_high <= 1``.

    Examples
    --------
    >>> from scipy.stats import uniform
    >>> from sknormnet.distributions import quantile_window
    >>> dist = quantile_window(uniform(0, 10), 0.2, 0.5)
    >>> dist
    quantile_window(uniform(0, 10), q_low=0.2, q_high=0.5)
    >>> dist.support()
    (2.0, 5.0)
    >>> x = dist.rvs(size=1000, random_state=0)
    >>> bool(x.min() >= 2 and x.max() <= 5)
    True
    >>> narrowed = dist.narrow([3.5])  # 10% of 0.3 around the quantile 0.35
    >>> round(narrowed.q_low, 6), round(narrowed.q_high, 6)
    (0.32, 0.38)
    >>> dist.axis_scale(), dist.describe()
    ('linear', '2..5')
    """

    def __init__(self, dist: CdfPpf, q_low: float = 0.0, q_high: float = 1.0) -> None:
        if not (hasattr(dist, "cdf") and hasattr(dist, "ppf")):
            raise ValueError(
                f"quantile_window needs a distribution with cdf and ppf methods, "
                f"got dist={dist!r}."
            )
        if not _has_quantiles(dist):
            raise ValueError(
                f"quantile_window needs a distribution with quantiles, but "
                f"{_scipy_repr(dist)} has none (its ppf is NaN): a scale of 0, "
                "such as scipy.stats.uniform(loc, 0), draws a single value; "
                "give a positive width, or the value in a list."
            )
        q_low = _check_real("q_low", q_low, "quantile_window")
        q_high = _check_real("q_high", q_high, "quantile_window")
        if not 0.0 <= q_low < q_high <= 1.0:
            raise ValueError(
                f"quantile_window needs 0 <= q_low < q_high <= 1, got "
                f"q_low={q_low!r} and q_high={q_high!r}."
            )
        self.dist = dist
        self.q_low = q_low
        self.q_high = q_high

    @property
    def _discrete(self) -> bool:
        return isinstance(getattr(self.dist, "dist", None), stats.rv_discrete)

    def _quantile_intervals(
        self, values: Collection[float]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Lower and upper quantile of each value (equal for continuous ones)."""
        x = np.asarray(values, dtype=float)
        upper = np.asarray(self.dist.cdf(x), dtype=float)
        lower = np.asarray(self.dist.cdf(x - 1), dtype=float)
        return (lower if self._discrete else upper), upper

    @overload
    def rvs(self, size: None = None, random_state: RandomStateLike = None) -> float: ...
    @overload
    def rvs(self, size: Size, random_state: RandomStateLike = None) -> NDArray[Any]: ...
    def rvs(
        self, size: Size | None = None, random_state: RandomStateLike = None
    ) -> float | NDArray[Any]:
        """Draw a value (``size=None``) or an array of ``size`` values."""
        rng = _check_rng(random_state)
        q = rng.uniform(self.q_low, self.q_high, size=size)
        kind: type[float] = int if self._discrete else float
        return _as_output(self.dist.ppf(q), size, kind)

    @overload
    def cdf(self, x: Scalar) -> float: ...
    @overload
    def cdf(self, x: ArrayLike) -> NDArray[np.float64]: ...
    def cdf(self, x: ArrayLike) -> float | NDArray[np.float64]:
        """Probability of drawing a value lower than or equal to ``x``."""
        width = self.q_high - self.q_low
        out = np.clip((np.asarray(self.dist.cdf(x)) - self.q_low) / width, 0.0, 1.0)
        return _scalar_or_array(out, x)

    @overload
    def ppf(self, q: Scalar) -> float: ...
    @overload
    def ppf(self, q: ArrayLike) -> NDArray[np.float64]: ...
    def ppf(self, q: ArrayLike) -> float | NDArray[np.float64]:
        """The value below which a fraction ``q`` of the draws falls."""
        q_arr = np.asarray(q, dtype=float)
        out = np.asarray(
            self.dist.ppf(self.q_low + q_arr * (self.q_high - self.q_low)), dtype=float
        )
        out = np.where((q_arr >= 0.0) & (q_arr <= 1.0), out, np.nan)
        return _scalar_or_array(out, q)

    def support(self) -> tuple[float, float]:
        """The smallest and largest values that can be drawn, as ``(low, high)``."""
        low = float(self.dist.ppf(self.q_low))
        high = float(self.dist.ppf(self.q_high))
        if self._discrete:
            # ppf(q_low) is drawn only if its cdf is above q_low
            if float(self.dist.cdf(low)) <= self.q_low:
                low += 1
            return int(low), int(high)
        return low, high

    def narrow(self, values: Collection[float]) -> quantile_window:
        """The quantile range around the quantiles of ``values``.

        The smallest range of quantiles holding those of the values, padded on
        each side by 10% of the current one and clipped to it.
        """
        if len(values) == 0:
            return self
        lower, upper = self._quantile_intervals(values)
        q_lo, _ = _padded_interval(lower, self.q_low, self.q_high)
        _, q_hi = _padded_interval(upper, self.q_low, self.q_high)
        if not q_lo < q_hi:
            return self
        return quantile_window(self.dist, q_lo, q_hi)

    def axis_scale(self) -> str:
        """The axis scale of ``dist``: ``"log"`` for a log-uniform, else ``"linear"``."""
        if hasattr(self.dist, "axis_scale"):
            return str(self.dist.axis_scale())
        family = getattr(getattr(self.dist, "dist", None), "name", None)
        return "log" if family in ("loguniform", "reciprocal") else "linear"

    def describe(self) -> str:
        """The interval drawn from, ``"low..high"``, to 3 significant digits."""
        return _describe_interval(*self.support())

    def __repr__(self) -> str:
        return (
            f"quantile_window({_scipy_repr(self.dist)}, q_low={self.q_low!r}, "
            f"q_high={self.q_high!r})"
        )


def _has_quantiles(dist: CdfPpf) -> bool:
    """Whether ``dist.ppf`` is defined: scipy returns NaN for every quantile
    of a distribution with invalid parameters, a scale of 0 among them."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return not np.isnan(np.asarray(dist.ppf(0.5), dtype=float)).all()


def _scipy_repr(dist: object) -> str:
    """A short description of a frozen scipy distribution, else its repr."""
    family = getattr(getattr(dist, "dist", None), "name", None)
    if family is None:
        return repr(dist)
    args = [repr(a) for a in getattr(dist, "args", ())]
    args += [f"{k}={v!r}" for k, v in getattr(dist, "kwds", {}).items()]
    return f"{family}({', '.join(args)})"


def _draw(
    component: Sampler | Sequence[Any],
    rng: np.random.RandomState | np.random.Generator,
    size: int | None = None,
) -> Any:
    """Draw from a distribution or uniformly from a list."""
    if hasattr(component, "rvs"):
        return component.rvs(size=size, random_state=rng)
    indices = _randint(rng, len(component), size=size)
    if size is None:
        return component[int(indices)]
    return [component[int(i)] for i in np.ravel(indices)]


def _component_support(component: Sampler | Sequence[int]) -> tuple[int, int]:
    if hasattr(component, "rvs"):
        low, high = cast("Any", component).support()  # an integer distribution
        return int(low), int(high)
    return min(component), max(component)


class layer_sizes:
    """``hidden_layer_sizes`` tuples: a number of layers, then units per layer.

    Each draw takes a number of layers ``n`` from ``n_layers``, then ``n``
    independent draws from ``n_units``, one per hidden layer.

    Parameters
    ----------
    n_layers : list of int or distribution
        The number of hidden layers: a list of positive integers (drawn
        uniformly) or an integer distribution such as :class:`loguniform_int`
        or ``scipy.stats.randint``.
    n_units : list of int or distribution
        The number of units of each hidden layer, likewise.

    Attributes
    ----------
    n_layers, n_units : list of int or distribution
        The two components.

    Notes
    -----
    A tuple has no natural order, so ``cdf`` and ``ppf`` raise ``TypeError``;
    use those of the components. ``support()`` returns the smallest and the
    largest network, ``(n_units_low,) * n_layers_low`` and ``(n_units_high,) *
    n_layers_high``. ``narrow`` narrows each component separately: ``n_layers``
    around the depths of the given tuples and ``n_units`` around all their
    layer widths.

    Examples
    --------
    >>> from sknormnet.distributions import layer_sizes, loguniform_int
    >>> sizes = layer_sizes(n_layers=[2, 3, 4], n_units=loguniform_int(50, 100))
    >>> sizes
    layer_sizes(n_layers=[2, 3, 4], n_units=loguniform_int(low=50, high=100))
    >>> sizes.rvs(random_state=0)
    (75, 90)
    >>> sizes.support()
    ((50, 50), (100, 100, 100, 100))
    >>> sizes.describe()
    '2, 3, 4 (equally likely) layers of 50..100 units'
    """

    def __init__(
        self, n_layers: Sequence[int] | Sampler, n_units: Sequence[int] | Sampler
    ) -> None:
        for name, component in (("n_layers", n_layers), ("n_units", n_units)):
            if hasattr(component, "rvs"):
                continue
            if isinstance(component, str) or not hasattr(component, "__len__"):
                raise ValueError(
                    f"layer_sizes needs {name} to be a list of positive integers or "
                    f"an integer distribution, got {name}={component!r}."
                )
            bad = [
                v
                for v in component
                if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1
            ]
            if not len(component) or bad:
                raise ValueError(
                    f"layer_sizes needs {name} to hold positive integers, got "
                    f"{name}={component!r}; e.g. {name}=[1, 2, 3] or "
                    f"{name}=loguniform_int(16, 512)."
                )
        self.n_layers = n_layers
        self.n_units = n_units

    def _draw_one(
        self, rng: np.random.RandomState | np.random.Generator
    ) -> tuple[int, ...]:
        depth = _draw(self.n_layers, rng)
        widths = _draw(self.n_units, rng, size=int(depth))
        sizes = (int(depth), *(int(w) for w in np.ravel(widths)))
        if any(s < 1 or s != v for s, v in zip(sizes, [depth, *np.ravel(widths)])):
            raise ValueError(
                f"layer_sizes drew depth={depth!r} and widths={widths!r}, which are "
                "not all positive integers; use integer distributions such as "
                "loguniform_int for n_layers and n_units."
            )
        return sizes[1:]

    @overload
    def rvs(
        self, size: None = None, random_state: RandomStateLike = None
    ) -> tuple[int, ...]: ...
    @overload
    def rvs(
        self, size: Size, random_state: RandomStateLike = None
    ) -> NDArray[np.object_]: ...
    def rvs(
        self, size: Size | None = None, random_state: RandomStateLike = None
    ) -> tuple[int, ...] | NDArray[np.object_]:
        """Draw a tuple (``size=None``) or an object array of ``size`` tuples."""
        rng = _check_rng(random_state)
        if size is None:
            return self._draw_one(rng)
        out = np.empty(size, dtype=object)
        for position in np.ndindex(out.shape):
            out[position] = self._draw_one(rng)
        return out

    def cdf(self, x: object) -> NoReturn:
        """Not defined for tuples: raises ``TypeError``."""
        raise TypeError(
            "layer_sizes draws tuples, which have no cumulative distribution; use "
            "the cdf of its n_layers or n_units component."
        )

    def ppf(self, q: object) -> NoReturn:
        """Not defined for tuples: raises ``TypeError``."""
        raise TypeError(
            "layer_sizes draws tuples, which have no quantiles; use the ppf of its "
            "n_layers or n_units component."
        )

    def support(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The smallest and largest networks, as ``(low, high)``."""
        depth_low, depth_high = _component_support(self.n_layers)
        width_low, width_high = _component_support(self.n_units)
        return (width_low,) * depth_low, (width_high,) * depth_high

    def narrow(self, values: Collection[Sequence[int]]) -> layer_sizes:
        """Both components narrowed: the depths, then all the layer widths."""
        if len(values) == 0:
            return self
        depths = [len(v) for v in values]
        widths = [w for v in values for w in v]
        return layer_sizes(
            n_layers=as_distribution(self.n_layers).narrow(depths),
            n_units=as_distribution(self.n_units).narrow(widths),
        )

    def axis_scale(self) -> str:
        """The axis scale of the layer widths, that of ``n_units``."""
        return as_distribution(self.n_units).axis_scale()

    def describe(self) -> str:
        """``"1 layer of 32..512 units"``, or with several depths
        ``"1, 2 (equally likely) layers of 32..512 units"``."""
        depths = as_distribution(self.n_layers)
        units = as_distribution(self.n_units).describe()
        layers = "layer" if depths.describe() == "1" else "layers"
        return f"{depths.describe()} {layers} of {units} units"

    def __repr__(self) -> str:
        return f"layer_sizes(n_layers={self.n_layers!r}, n_units={self.n_units!r})"


class _Sampler:
    """A sampler with ``rvs`` only: drawn as it is, never narrowed."""

    def __init__(self, sampler: Sampler) -> None:
        self.sampler = sampler

    def rvs(
        self, size: Size | None = None, random_state: RandomStateLike = None
    ) -> Any:
        return self.sampler.rvs(size=size, random_state=random_state)

    def narrow(self, values: Sequence[Any]) -> Sampler:
        return self.sampler

    def axis_scale(self) -> Literal["linear"]:
        return "linear"

    def describe(self) -> str:
        try:
            low, high = cast("Any", self.sampler).support()
        except (AttributeError, TypeError, ValueError):
            return _scipy_repr(self.sampler)
        if _is_number(low) and _is_number(high) and np.isnan([low, high]).any():
            return _scipy_repr(self.sampler)  # no support, e.g. a scale of 0
        return _describe_interval(low, high)


def as_distribution(entry: SearchEntry) -> SearchDistribution:
    """An entry of a search space as a distribution that narrows and describes itself.

    The distributions of this module, and any object with these three methods,
    are returned as they are. A list of values becomes a uniform
    :class:`categorical`. Another distribution with ``cdf`` and ``ppf``, such
    as a frozen :mod:`scipy.stats` distribution, becomes a
    :class:`quantile_window` over all its quantiles, so that it narrows on its
    quantile scale. A sampler with ``rvs`` only, or whose quantiles are
    undefined (scipy's distributions of scale 0, such as a zero-width
    ``uniform(loc, 0)``, which draws ``loc``), is wrapped so that ``narrow``
    returns it unchanged, ``axis_scale`` is ``"linear"`` and ``describe``
    shows its ``support()`` (or its repr).

    Parameters
    ----------
    entry : distribution or list
        A value of ``param_distributions``: an object with an ``rvs`` method, or
        a non-empty list (or array) of values.

    Returns
    -------
    distribution : object
        With the methods ``rvs``, ``narrow(values)``, ``axis_scale()`` and
        ``describe()``.

    Raises
    ------
    TypeError
        If ``entry`` is neither a distribution nor a list.
    ValueError
        If ``entry`` is an empty list.

    Examples
    --------
    >>> from scipy.stats import uniform
    >>> from sknormnet.distributions import as_distribution, loguniform
    >>> as_distribution(loguniform(1e-4, 1)).narrow([1e-3, 1e-2])
    loguniform(low=0.00039810717055349735, high=0.025118864315095794)
    >>> as_distribution([1, 2, 3, 4]).narrow([2, 2])
    categorical([1, 2, 3, 4], p=[0.062, 0.812, 0.062, 0.062])
    >>> as_distribution(uniform(0, 10)).narrow([5.0])
    quantile_window(uniform(0, 10), q_low=0.4, q_high=0.6)
    >>> as_distribution([32, 64, 128]).describe()
    '32, 64, 128 (equally likely)'
    >>> as_distribution([1, 2]).axis_scale()
    'linear'
    """
    if all(hasattr(entry, name) for name in ("narrow", "axis_scale", "describe")):
        return cast("SearchDistribution", entry)
    if hasattr(entry, "rvs"):
        if (
            hasattr(entry, "cdf")
            and hasattr(entry, "ppf")
            and _has_quantiles(cast("CdfPpf", entry))
        ):
            return quantile_window(cast("CdfPpf", entry))
        return _Sampler(cast("Sampler", entry))
    if isinstance(entry, str) or not isinstance(entry, Sequence | np.ndarray):
        raise TypeError(
            f"expected a distribution (with an rvs method) or a list of values, got "
            f"{entry!r}; wrap a fixed value in a list, e.g. [{entry!r}]."
        )
    if len(entry) == 0:
        raise ValueError("an empty list has no value to draw; give at least one.")
    return categorical(entry)
