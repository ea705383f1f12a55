import copy
import decimal
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.model_selection import ParameterSampler, RandomizedSearchCV
from sklearn.preprocessing import QuantileTransformer, StandardScaler

from sknormnet.distributions import (
    as_distribution,
    categorical,
    layer_sizes,
    loguniform,
    loguniform_int,
    one_minus_loguniform,
    quantile_window,
)

DISTRIBUTIONS = {
    "loguniform": lambda: loguniform(1e-4, 1.0),
    "one_minus_loguniform": lambda: one_minus_loguniform(0.9, 0.999),
    "loguniform_int": lambda: loguniform_int(50, 100),
    "layer_sizes": lambda: layer_sizes(
        n_layers=[2, 3, 4], n_units=loguniform_int(50, 100)
    ),
    "categorical": lambda: categorical([32, 64, 128], p=[0.2, 0.5, 0.3]),
    "quantile_window": lambda: quantile_window(stats.norm(0, 1), 0.1, 0.6),
}

REPRS = {
    "loguniform": "loguniform(low=0.0001, high=1.0)",
    "one_minus_loguniform": "one_minus_loguniform(low=0.9, high=0.999)",
    "loguniform_int": "loguniform_int(low=50, high=100)",
    "layer_sizes": (
        "layer_sizes(n_layers=[2, 3, 4], n_units=loguniform_int(low=50, high=100))"
    ),
    "categorical": "categorical([32, 64, 128], p=[0.2, 0.5, 0.3])",
    "quantile_window": "quantile_window(norm(0, 1), q_low=0.1, q_high=0.6)",
}

SCALAR_TYPES = {
    "loguniform": float,
    "one_minus_loguniform": float,
    "loguniform_int": int,
    "layer_sizes": tuple,
    "categorical": int,
    "quantile_window": float,
}


def _inside(dist, value):
    """Whether a drawn value lies inside the distribution's support."""
    low, high = dist.support()
    if isinstance(dist, layer_sizes):
        return len(low) <= len(value) <= len(high) and all(
            low[0] <= v <= high[0] for v in value
        )
    if isinstance(dist, categorical):
        return value in dist.values
    return low <= value <= high


@pytest.fixture(params=sorted(DISTRIBUTIONS))
def name(request):
    return request.param


def test_rvs_returns_a_scalar_or_an_array(name):
    dist = DISTRIBUTIONS[name]()
    assert isinstance(dist.rvs(random_state=0), SCALAR_TYPES[name])
    assert dist.rvs(size=5, random_state=0).shape == (5,)
    assert dist.rvs(size=(2, 3), random_state=0).shape == (2, 3)


def test_rvs_is_reproducible_for_every_kind_of_random_state(name):
    dist = DISTRIBUTIONS[name]()
    draws = dist.rvs(size=20, random_state=3)
    assert_array_equal(draws, dist.rvs(size=20, random_state=3))
    assert_array_equal(draws, dist.rvs(size=20, random_state=np.random.RandomState(3)))
    from_generator = dist.rvs(size=20, random_state=np.random.default_rng(3))
    assert_array_equal(
        from_generator, dist.rvs(size=20, random_state=np.random.default_rng(3))
    )
    assert len({repr(v) for v in draws}) > 1
    # a shared RandomState advances, so consecutive draws differ
    rng = np.random.RandomState(0)
    assert repr(dist.rvs(size=5, random_state=rng)) != repr(
        dist.rvs(size=5, random_state=rng)
    )


def test_draws_lie_inside_the_support(name):
    dist = DISTRIBUTIONS[name]()
    draws = dist.rvs(size=3000, random_state=0)
    assert all(_inside(dist, v) for v in draws)


def test_repr(name):
    assert repr(DISTRIBUTIONS[name]()) == REPRS[name]


def test_pickle_and_deepcopy_keep_the_distribution(name):
    dist = DISTRIBUTIONS[name]()
    for copied in (pickle.loads(pickle.dumps(dist)), copy.deepcopy(dist)):
        assert copied is not dist
        assert repr(copied) == repr(dist)
        assert_array_equal(
            copied.rvs(size=10, random_state=0), dist.rvs(size=10, random_state=0)
        )


class _Records(BaseEstimator):
    """Accepts any value of ``p`` and scores 0."""

    def __init__(self, p=None):
        self.p = p

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def score(self, X, y=None):
        return 0.0


def test_parameter_sampler_and_randomized_search_accept_the_distribution(name):
    dist = DISTRIBUTIONS[name]()
    sampled = list(ParameterSampler({"p": dist}, n_iter=8, random_state=0))
    assert len(sampled) == 8
    assert all(_inside(dist, params["p"]) for params in sampled)

    search = RandomizedSearchCV(
        _Records(), {"p": dist}, n_iter=4, cv=2, random_state=0
    ).fit(np.zeros((6, 1)))
    drawn = [params["p"] for params in search.cv_results_["params"]]
    assert len(drawn) == 4
    assert all(_inside(dist, v) for v in drawn)


def test_loguniform_is_uniform_in_log10():
    x = loguniform(1e-4, 1.0).rvs(size=20_000, random_state=0)
    assert stats.kstest(np.log10(x), stats.uniform(-4, 4).cdf).pvalue > 1e-3
    # not uniform on the linear scale
    assert stats.kstest(x, stats.uniform(1e-4, 1).cdf).pvalue < 1e-10


def test_one_minus_loguniform_is_uniform_in_log10_of_one_minus():
    dist = one_minus_loguniform(0.9, 0.999)
    x = dist.rvs(size=20_000, random_state=0)
    assert stats.kstest(np.log10(1 - x), stats.uniform(-3, 2).cdf).pvalue > 1e-3
    assert abs(np.mean(x > 0.99) - 0.5) < 0.02
    assert_allclose(dist.cdf(0.95), np.log10(0.1 / 0.05) / 2)
    assert abs(np.mean(x <= 0.95) - dist.cdf(0.95)) < 0.02


def test_one_minus_loguniform_is_accurate_next_to_one():
    low, high = 1 - 1e-6, 1 - 1e-8
    dist = one_minus_loguniform(low, high)
    x = dist.rvs(size=20_000, random_state=0)
    assert np.all((x >= low) & (x <= high) & (x < 1))
    assert stats.kstest(np.log10(1 - x), stats.uniform(-8, 2).cdf).pvalue > 1e-3
    assert dist.ppf(0.0) == low and dist.ppf(1.0) == high
    assert_allclose(np.log10(1 - dist.ppf(0.5)), -7, rtol=1e-6)
    assert dist.cdf(low) == 0.0 and dist.cdf(high) == 1.0


@pytest.mark.parametrize("low, high", [(1, 3), (50, 100)])
def test_loguniform_int_matches_the_log_of_the_half_integers(low, high):
    dist = loguniform_int(low, high)
    k = dist.rvs(size=40_000, random_state=0)
    values = np.arange(low, high + 1)
    expected = np.diff(np.log(np.append(values - 0.5, high + 0.5)))
    expected /= expected.sum()
    observed = np.bincount(k - low, minlength=values.size)
    assert observed[0] > 0 and observed[-1] > 0  # both ends reachable
    assert stats.chisquare(observed, expected * k.size).pvalue > 1e-3
    assert_allclose(dist.cdf(values), np.cumsum(expected))
    assert_array_equal(dist.ppf(dist.cdf(values)), values)


@pytest.mark.parametrize(
    "dist, inside",
    [
        (loguniform(1e-4, 1.0), [1e-4, 3e-3, 0.5, 1.0]),
        (one_minus_loguniform(0.9, 0.999), [0.9, 0.95, 0.99, 0.999]),
        (quantile_window(stats.gamma(2.0), 0.05, 0.7), [0.4, 1.0, 2.0]),
    ],
)
def test_cdf_and_ppf_are_inverses(dist, inside):
    q = np.linspace(0, 1, 11)
    assert_allclose(dist.cdf(dist.ppf(q)), q, atol=1e-12)
    assert_allclose(dist.ppf(dist.cdf(np.array(inside))), inside, rtol=1e-9)
    low, high = dist.support()
    assert dist.cdf(low / 2 if low > 0 else low - 1) == 0.0
    assert dist.cdf(high + 1) == 1.0
    assert np.isnan(dist.ppf(1.5))


def test_quantile_window_draws_follow_the_truncated_distribution():
    window = quantile_window(stats.norm(0, 1), 0.2, 0.9)
    x = window.rvs(size=20_000, random_state=0)
    truncated = stats.truncnorm(stats.norm.ppf(0.2), stats.norm.ppf(0.9))
    assert stats.kstest(x, truncated.cdf).pvalue > 1e-3
    assert_allclose(window.support(), truncated.support())


def test_quantile_window_of_a_discrete_distribution():
    window = quantile_window(stats.randint(1, 11), 0.25, 0.55)
    assert window.support() == (3, 6)
    draws = window.rvs(size=5000, random_state=0)
    assert set(draws.tolist()) == {3, 4, 5, 6}


def test_categorical_frequencies_follow_p():
    dist = categorical(["relu", "tanh", "logistic"], p=[0.6, 0.3, 0.1])
    draws = dist.rvs(size=20_000, random_state=0)
    counts = [np.sum(draws == v) for v in dist.values]
    assert stats.chisquare(counts, np.array(dist.p) * draws.size).pvalue > 1e-3
    assert dist.cdf("tanh") == pytest.approx(0.9)
    assert dist.ppf(0.5) == "relu" and dist.ppf(0.61) == "tanh"
    assert dist.support() == ("relu", "logistic")


def test_layer_sizes_draws_depth_and_widths_independently():
    dist = layer_sizes(n_layers=[2, 3, 4], n_units=loguniform_int(50, 100))
    draws = dist.rvs(size=6000, random_state=0)
    depths = np.bincount([len(t) for t in draws])[2:]
    assert stats.chisquare(depths).pvalue > 1e-3
    widths = np.array([w for t in draws for w in t])
    assert widths.min() == 50 and widths.max() == 100
    assert all(isinstance(w, int) for t in draws[:20] for w in t)
    # a distribution can also give the number of layers
    dist = layer_sizes(n_layers=stats.randint(1, 3), n_units=[8, 16])
    assert dist.support() == ((8,), (16, 16))
    assert {len(t) for t in dist.rvs(size=200, random_state=0)} == {1, 2}


@pytest.mark.parametrize("method", ["cdf", "ppf"])
def test_layer_sizes_has_no_cdf_or_ppf(method):
    dist = layer_sizes(n_layers=[1, 2], n_units=[8, 16])
    with pytest.raises(TypeError, match="n_layers or n_units"):
        getattr(dist, method)(0.5)


def test_layer_sizes_rejects_non_integer_draws():
    dist = layer_sizes(n_layers=[2], n_units=loguniform(1.0, 10.0))
    with pytest.raises(ValueError, match="loguniform_int"):
        dist.rvs(random_state=0)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: loguniform(0, 1), "low > 0.*low=0.0"),
        (lambda: loguniform(-1e-3, 1), "low > 0.*low=-0.001"),
        (lambda: loguniform(1.0, 1.0), "low < high.*low=1.0 and high=1.0"),
        (lambda: loguniform(1.0, 1e-3), "low < high"),
        (lambda: loguniform("a", 1.0), "low='a'"),
        (lambda: loguniform(1e-3, np.inf), "finite high"),
        (lambda: one_minus_loguniform(0.9, 1.0), "0 < high < 1.*high=1.0"),
        (lambda: one_minus_loguniform(0.0, 0.9), "0 < low < 1.*low=0.0"),
        (lambda: one_minus_loguniform(1.5, 0.9), "low=1.5"),
        (lambda: one_minus_loguniform(0.99, 0.9), "low < high.*low=0.99"),
        (lambda: loguniform_int(0, 10), "low >= 1.*low=0"),
        (lambda: loguniform_int(5, 5), "low < high.*low=5 and high=5"),
        (lambda: loguniform_int(1.5, 4), "integer bounds.*low=1.5"),
        (lambda: layer_sizes([0, 1], [8]), "n_layers to hold positive"),
        (lambda: layer_sizes([1], [8.5]), "n_units to hold positive"),
        (lambda: layer_sizes([1], 8), "n_units to be a list"),
        (lambda: categorical([]), "at least one value"),
        (lambda: categorical([1, 2], p=[1.0]), "one non-negative probability"),
        (lambda: quantile_window(stats.norm(), 0.5, 0.5), "q_low < q_high"),
        (lambda: quantile_window([1, 2]), "cdf and ppf"),
    ],
)
def test_invalid_arguments_raise_a_value_error_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_loguniform_is_scipy_loguniform():
    dist = loguniform(1e-4, 1.0)
    reference = stats.loguniform(1e-4, 1.0)
    assert (dist.low, dist.high) == (1e-4, 1.0)
    assert dist.support() == (1e-4, 1.0)
    assert_allclose(
        dist.rvs(size=50, random_state=0),
        reference.rvs(size=50, random_state=0),
        rtol=1e-15,
    )
    x = np.geomspace(1e-5, 2.0, 30)
    assert_allclose(dist.cdf(x), reference.cdf(x))
    q = np.linspace(0, 1, 11)
    assert_allclose(dist.ppf(q), reference.ppf(q))
    # Python floats for scalars, as before
    assert type(dist.rvs(random_state=0)) is float
    assert type(dist.cdf(0.01)) is float and type(dist.ppf(0.5)) is float


@pytest.mark.parametrize(
    "dist, values, scale",
    [
        (loguniform(1e-6, 1.0), [1e-3, 3e-3], np.log10),
        (one_minus_loguniform(0.5, 0.9999), [0.99, 0.995], lambda x: np.log10(1 - x)),
        (loguniform(1e-6, 1.0), [1e-6], np.log10),
        (one_minus_loguniform(0.5, 0.9999), [0.9999], lambda x: np.log10(1 - x)),
    ],
)
def test_narrow_works_on_the_sampling_scale(dist, values, scale):
    narrowed = dist.narrow(values)
    assert type(narrowed) is type(dist)
    full = abs(scale(dist.high) - scale(dist.low))
    lo, hi = sorted([scale(narrowed.low), scale(narrowed.high)])
    vlo, vhi = sorted([scale(min(values)), scale(max(values))])
    # 10% of the current interval on each side, clipped to the bounds
    bound_lo, bound_hi = sorted([scale(dist.low), scale(dist.high)])
    assert_allclose(lo, max(bound_lo, vlo - 0.1 * full))
    assert_allclose(hi, min(bound_hi, vhi + 0.1 * full))
    assert dist.low <= narrowed.low < narrowed.high <= dist.high


def test_loguniform_int_narrow_keeps_the_values_and_never_collapses():
    dist = loguniform_int(1, 1024)
    for values in ([1], [1024], [30, 40], [7, 7]):
        narrowed = dist.narrow(values)
        assert dist.low <= narrowed.low <= min(values)
        assert max(values) <= narrowed.high <= dist.high
        assert narrowed.low < narrowed.high
    narrow = loguniform_int(7, 8)
    assert repr(narrow.narrow([8])) == repr(narrow)


def test_narrow_reweights_lists_and_keeps_every_value():
    values = ["relu", "tanh", "logistic", "identity"]
    narrowed = as_distribution(values).narrow(["tanh", "tanh", "relu"])
    assert isinstance(narrowed, categorical)
    assert_allclose(narrowed.p, 0.75 * np.array([1, 2, 0, 0]) / 3 + 0.25 / 4)
    again = narrowed.narrow(["tanh"])
    assert np.all(again.p > 0)
    assert again.p[1] > narrowed.p[1]
    with pytest.raises(ValueError, match="'gelu' is not one of the values"):
        narrowed.narrow(["gelu"])


def test_narrow_of_scipy_distributions_uses_quantiles():
    narrowed = as_distribution(stats.norm(0, 1)).narrow([0.0])
    assert isinstance(narrowed, quantile_window)
    assert_allclose([narrowed.q_low, narrowed.q_high], [0.4, 0.6])
    twice = narrowed.narrow([0.1])
    assert narrowed.q_low <= twice.q_low < twice.q_high <= narrowed.q_high
    assert twice.dist is narrowed.dist


def test_narrow_of_layer_sizes_is_component_wise():
    dist = layer_sizes(n_layers=[1, 2, 3, 4], n_units=loguniform_int(8, 1024))
    narrowed = dist.narrow([(100, 120), (90, 110, 130)])
    assert isinstance(narrowed, layer_sizes)
    assert_allclose(narrowed.n_layers.p, 0.75 * np.array([0, 1, 1, 0]) / 2 + 0.25 / 4)
    assert 8 <= narrowed.n_units.low <= 90 and 130 <= narrowed.n_units.high <= 1024
    assert narrowed.n_units.high - narrowed.n_units.low < 1024 - 8


def test_narrow_around_no_value_keeps_the_distribution(name):
    dist = DISTRIBUTIONS[name]()
    assert dist.narrow([]) is dist


@pytest.mark.parametrize(
    "entry, scale",
    [
        (loguniform(1e-4, 1.0), "log"),
        (one_minus_loguniform(0.9, 0.999), "one_minus"),
        (loguniform_int(32, 512), "log"),
        (categorical(["relu", "tanh"]), "category"),
        (categorical([True, False]), "category"),
        (categorical([32, 64, 128, 256]), "log"),  # a factor of 8
        (categorical([32, 64, 128]), "linear"),
        (categorical([-1.0, 10.0]), "linear"),
        (layer_sizes([1, 2], loguniform_int(32, 512)), "log"),
        (layer_sizes([1, 2], [8, 16]), "linear"),
        (quantile_window(loguniform_int(8, 512), 0.1, 0.5), "log"),
        (quantile_window(one_minus_loguniform(0.9, 0.99)), "one_minus"),
        (quantile_window(stats.uniform(0, 10), 0.2, 0.5), "linear"),
        (stats.loguniform(1e-3, 1.0), "log"),
        (stats.reciprocal(1e-3, 1.0), "log"),
        (stats.norm(0, 1), "linear"),
        ([1, 2, 4, 8], "log"),
        (["a", "b"], "category"),
    ],
)
def test_axis_scale(entry, scale):
    assert as_distribution(entry).axis_scale() == scale


@pytest.mark.parametrize(
    "entry, expected",
    [
        (loguniform(1e-4, 1.0), "0.0001..1"),
        (loguniform(3.98107e-4, 0.0251189), "0.000398..0.0251"),
        (one_minus_loguniform(0.9, 0.999), "0.9..0.999"),
        (loguniform_int(32, 512), "32..512"),
        (quantile_window(stats.uniform(0, 10), 0.2, 0.5), "2..5"),
        (quantile_window(stats.randint(1, 11), 0.25, 0.55), "3..6"),
        (stats.norm(0, 1), "-inf..inf"),
        ([32, 64, 128], "32, 64, 128 (equally likely)"),
        (["relu", "tanh"], "relu, tanh (equally likely)"),
        ([True, 0.5], "True, 0.5 (equally likely)"),
        ([64], "64"),
        (categorical([32, 64], p=[0.5, 0.5]), "32, 64 (equally likely)"),
        (categorical(["relu", "tanh"], p=[0.2, 0.8]), "relu (20%), tanh (80%)"),
        (layer_sizes([1], loguniform_int(32, 512)), "1 layer of 32..512 units"),
        (layer_sizes([3], loguniform_int(32, 512)), "3 layers of 32..512 units"),
        (
            layer_sizes(categorical([1, 2, 3], p=[0.1, 0.7, 0.2]), [64]),
            "1 (10%), 2 (70%), 3 (20%) layers of 64 units",
        ),
        # estimators by the name of their class, their parameters left out
        (
            [StandardScaler(), QuantileTransformer(output_distribution="normal")],
            "StandardScaler, QuantileTransformer (equally likely)",
        ),
    ],
)
def test_describe(entry, expected):
    assert as_distribution(entry).describe() == expected


class OnlyRvs:
    def rvs(self, size=None, random_state=None):
        return 1.0

    def __repr__(self):
        return "OnlyRvs()"


def test_a_sampler_with_rvs_only_is_drawn_as_it_is():
    sampler = OnlyRvs()
    dist = as_distribution(sampler)
    assert dist.rvs(random_state=0) == 1.0
    assert dist.narrow([1.0]) is sampler
    assert dist.axis_scale() == "linear"
    assert dist.describe() == "OnlyRvs()"


def test_as_distribution_keeps_distributions_and_converts_the_rest(name):
    dist = DISTRIBUTIONS[name]()
    assert as_distribution(dist) is dist
    listed = as_distribution(np.array([1, 2, 3]))
    assert isinstance(listed, categorical) and listed.values == [1, 2, 3]
    window = as_distribution(stats.norm(0, 1))
    assert isinstance(window, quantile_window)
    assert (window.q_low, window.q_high) == (0.0, 1.0)


@pytest.mark.parametrize(
    "entry, error, match",
    [
        (0.1, TypeError, r"or a list of values, got 0.1; .* e.g. \[0.1\]"),
        ("tanh", TypeError, "wrap a fixed value in a list"),
        ([], ValueError, "empty list"),
    ],
)
def test_as_distribution_rejects_what_cannot_be_drawn(entry, error, match):
    with pytest.raises(error, match=match):
        as_distribution(entry)


# ------------------------------------------------------- extreme arguments


def test_a_zero_width_uniform_narrows_to_itself():
    # scipy's uniform(loc, 0) draws loc, but its cdf and ppf are NaN: a
    # quantile window over it would draw NaN once narrowed.
    entry = stats.uniform(5.0, 0.0)
    assert entry.rvs(random_state=0) == 5.0
    dist = as_distribution(entry)
    narrowed = dist.narrow([5.0, 5.0])
    assert narrowed is entry
    assert as_distribution(narrowed).narrow([5.0]) is entry
    draws = narrowed.rvs(size=20, random_state=0)
    assert_allclose(draws, 5.0)
    assert dist.describe() == "uniform(5.0, 0.0)"
    with pytest.raises(ValueError, match=r"uniform\(5.0, 0.0\) has none .*scale of 0"):
        quantile_window(entry)


@pytest.mark.parametrize(
    "high", [2**52 + 1, 10**20, 10**400], ids=["2**52+1", "1e20", "1e400"]
)
def test_a_loguniform_int_bound_beyond_float64_integers_is_refused(high):
    with pytest.raises(ValueError, match=r"high <= 2\*\*52 = 4503599627370496"):
        loguniform_int(1, high)


@pytest.mark.parametrize(
    "low, high",
    [(2**52 - 3, 2**52), (10**15, 10**15 + 2), (2**40, 2**40 + 1)],
)
def test_loguniform_int_is_exact_for_large_integers(low, high):
    # Neighbouring integers far from 1 keep their own probabilities: the
    # logarithms are taken relative to low - 1/2, in exact offsets.
    dist = loguniform_int(low, high)
    values = np.arange(low, high + 1)
    # the cdf of the Notes, in 50 significant digits
    with decimal.localcontext(decimal.Context(prec=50)):
        half = decimal.Decimal("0.5")
        start = (low - half).ln()
        expected = [
            float(((k + half).ln() - start) / ((high + half).ln() - start))
            for k in range(low, high + 1)
        ]
    assert_allclose(dist.cdf(values), expected, rtol=1e-14)
    assert_array_equal(dist.ppf(dist.cdf(values)), values)
    draws = dist.rvs(size=4000, random_state=0)
    assert draws.dtype == np.int64
    assert_array_equal(np.unique(draws), values)
    assert dist.ppf(0.0) == low and dist.ppf(1.0) == high
    narrowed = dist.narrow([high - 1])
    assert low <= narrowed.low < narrowed.high <= high
