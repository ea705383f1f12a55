"""Which columns ``sknormnet tune`` leaves out or caps, and the line of each."""

import uuid

import numpy as np
import pandas as pd
import pytest

from sknormnet._columns import MAX_CATEGORIES, Decision, choose_columns

N_ROWS = 60


def _table(**columns):
    """A table of N_ROWS rows: a numeric feature that repeats, and ``columns``."""
    return pd.DataFrame({"score": np.arange(N_ROWS) % 5, **columns})


def _decisions(X, drop=()):
    kept, decisions = choose_columns(X, drop)
    return list(kept.columns), [str(d) for d in decisions]


IDENTIFIERS = {
    "row numbers": np.arange(N_ROWS),
    "shuffled row numbers": np.random.default_rng(0).permutation(N_ROWS) + 100,
    "uuids": [str(uuid.UUID(int=i)) for i in range(N_ROWS)],
    "codes": [f"C-{i:05d}" for i in range(N_ROWS)],
}


@pytest.mark.parametrize("case", IDENTIFIERS, ids=list(IDENTIFIERS))
def test_identifiers_are_dropped_with_a_line(case):
    kept, lines = _decisions(_table(ref=IDENTIFIERS[case]))
    assert kept == ["score"]
    assert lines == [
        "note: dropped 'ref': a different value in every row (an identifier)"
    ]


def test_an_integer_named_like_an_id_is_an_identifier():
    ids = np.random.default_rng(0).choice(10**6, N_ROWS, replace=False)
    for name in ("id", "ID", "customer_id", "order-id", "uuid", "key"):
        kept, _ = _decisions(_table(**{name: ids}))
        assert kept == ["score"], name


MEASUREMENTS = {
    "unique floats": np.random.default_rng(0).normal(size=N_ROWS),
    "unique integers, not a range": np.random.default_rng(0).choice(
        10**6, N_ROWS, replace=False
    ),
    "row numbers with a gap": np.r_[np.arange(N_ROWS - 1), np.nan],
    "repeated text": ["a", "b", "c"] * (N_ROWS // 3),
    "booleans": [True, False] * (N_ROWS // 2),
}


@pytest.mark.parametrize("case", MEASUREMENTS, ids=list(MEASUREMENTS))
def test_measurements_are_kept(case):
    kept, lines = _decisions(_table(value=MEASUREMENTS[case]))
    assert (kept, lines) == (["score", "value"], [])


DATES = {
    "iso dates": pd.date_range("2024-01-01", periods=N_ROWS).strftime("%Y-%m-%d"),
    "iso times": pd.date_range("2024-01-01", periods=N_ROWS, freq="h").strftime(
        "%Y-%m-%dT%H:%M:%S"
    ),
    "us dates": pd.date_range("2024-01-01", periods=N_ROWS).strftime("%m/%d/%Y"),
    "datetime dtype": pd.date_range("2024-01-01", periods=N_ROWS),
    "repeated dates": list(pd.date_range("2024-01-01", periods=3).strftime("%Y-%m-%d"))
    * (N_ROWS // 3),
}


@pytest.mark.parametrize("case", DATES, ids=list(DATES))
def test_dates_and_times_are_dropped_with_a_line(case):
    kept, lines = _decisions(_table(when=DATES[case]))
    assert kept == ["score"]
    assert lines == [
        "note: dropped 'when': dates or times, which sknormnet tune does not use"
    ]


NOT_DATES = {
    "month names": ["Jan", "Feb", "Mar"] * (N_ROWS // 3),
    "numbers as text": ["1.5", "2", "3.25"] * (N_ROWS // 3),
    "sizes": ["10 ml", "20 ml", "30 ml"] * (N_ROWS // 3),
}


@pytest.mark.parametrize("case", NOT_DATES, ids=list(NOT_DATES))
def test_text_that_is_not_a_date_is_kept(case):
    kept, lines = _decisions(_table(text=NOT_DATES[case]))
    assert (kept, lines) == (["score", "text"], [])


def test_text_of_many_values_is_capped_with_a_line():
    cities = [f"city {i % (MAX_CATEGORIES + 5)}" for i in range(N_ROWS)]
    kept, lines = _decisions(_table(city=cities))
    assert kept == ["score", "city"]
    assert lines == [
        f"note: capped 'city': {MAX_CATEGORIES + 5} values, one-hot encoded as the "
        f"{MAX_CATEGORIES - 1} most frequent and one for the rest"
    ]
    # as many values as the cap: nothing to say
    cities = [f"city {i % MAX_CATEGORIES}" for i in range(N_ROWS)]
    assert _decisions(_table(city=cities)) == (["score", "city"], [])


def test_empty_and_dropped_columns_come_first_and_in_order():
    X = _table(notes=[np.nan] * N_ROWS, plan=["a", "b"] * (N_ROWS // 2))
    kept, lines = _decisions(X, drop=["plan", "score"])
    assert kept == []
    assert lines == [
        "note: dropped 'score': as --drop asks",
        "note: dropped 'notes': no values",
        "note: dropped 'plan': as --drop asks",
    ]


def test_dropping_an_unknown_column_raises_key_error_naming_it():
    with pytest.raises(KeyError, match="'nope'"):
        choose_columns(_table(), drop=["score", "nope"])


def test_a_decision_is_one_short_line():
    decision = Decision("city", "capped", "many values")
    assert str(decision) == "note: capped 'city': many values"
    assert "\n" not in str(decision)
