"""Which columns of a table ``sknormnet tune`` uses, and why not the others.

A column that one-hot encoding would turn into noise is left out, or capped,
with a line naming it: an identifier (a different value in every row) gives a
feature per row that no new row shares; a date or time, read as text, gives a
feature per day; a text column of thousands of values gives thousands of
features seen a few times each. :func:`choose_columns` makes these decisions
and returns them as :class:`Decision` objects, which the command line prints
one per line.
"""

import re
from dataclasses import dataclass

import pandas as pd

# A one-hot encoded column keeps its most frequent values as features, this
# many at most; the rarer values share one feature.
MAX_CATEGORIES = 20
# Names that announce an identifier: "id", "ID", "customer_id", "uuid", "key".
_ID_NAME = re.compile(r"(^|[\W_])(id|uuid|guid|key)$", re.IGNORECASE)
# The values of a column tried as dates: enough to decide, few enough to be quick.
_DATE_SAMPLE = 200


@dataclass(frozen=True)
class Decision:
    """What happens to one column, and why.

    Attributes
    ----------
    column : str
        The column's name.
    action : {"dropped", "capped"}
        ``"dropped"``: left out of the features; ``"capped"``: one-hot encoded
        with at most :data:`MAX_CATEGORIES` features.
    reason : str
        Why, in a few words, e.g. ``"a different value in every row (an
        identifier)"``.
    """

    column: str
    action: str
    reason: str

    def __str__(self):
        return f"note: {self.action} {self.column!r}: {self.reason}"


def is_numeric(column: pd.Series) -> bool:
    """Whether a column is standardized as a number (booleans are categories).

    Parameters
    ----------
    column : Series

    Returns
    -------
    numeric : bool
    """
    return bool(
        pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    )


def _is_identifier(column):
    """A complete column with a different value in every row, not a measurement:
    text (UUIDs, codes), or integers that are a range or named like an ID."""
    if len(column) < 2 or column.isna().any() or not column.is_unique:
        return False
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_float_dtype(column):
        return False  # a float unique per row is a measurement, e.g. an income
    if not pd.api.types.is_integer_dtype(column):
        return True  # text: each value would be a feature of one row
    consecutive = int(column.max()) - int(column.min()) + 1 == len(column)
    return consecutive or bool(_ID_NAME.search(str(column.name)))


def _is_datetime(column):
    """A column of dates or times: of a datetime dtype, or text that parses as
    dates (checked on a sample of its values, each holding a digit)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return True
    if is_numeric(column) or pd.api.types.is_bool_dtype(column):
        return False
    sample = column.dropna().astype(str).head(_DATE_SAMPLE)
    if sample.empty or not sample.str.contains(r"\d").all():
        return False
    try:
        pd.to_datetime(sample, format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        try:
            pd.to_datetime(sample, format="mixed", dayfirst=False)
        except (ValueError, TypeError, OverflowError):
            return False
        # "1.5" or "12" parse as dates too; real ones have a separator
        return bool(sample.str.contains(r"\d[-/.:]\d|\d \w").all())
    return True


def choose_columns(X, drop=()):
    """The columns to use as features, and a decision for each of the others.

    In this order: the columns in ``drop`` are left out; so are columns without
    any value, dates or times (which would otherwise be one-hot encoded as
    text) and identifiers (a complete column with a different value in every
    row: text such as UUIDs, or integers that count the rows or are named
    like ``id``, ``customer_id``, ``uuid``); text columns with more than
    :data:`MAX_CATEGORIES` values are kept but capped, their rarest values
    sharing one feature.

    Parameters
    ----------
    X : DataFrame
        The feature columns.
    drop : sequence of str, default=()
        Columns to leave out, each a column of ``X``.

    Returns
    -------
    X : DataFrame
        The columns kept, in their order.
    decisions : list of Decision
        One per column dropped or capped, in the order of the columns.

    Raises
    ------
    KeyError
        If a name in ``drop`` is not a column of ``X``; the message names it.

    Examples
    --------
    >>> import pandas as pd
    >>> from sknormnet._columns import choose_columns
    >>> X = pd.DataFrame(
    ...     {
    ...         "customer_id": [101, 205, 333, 412],
    ...         "signed_up": ["2024-01-03", "2024-02-11", "2024-02-29", "2024-03-05"],
    ...         "age": [31, 45, 27, 52],
    ...         "plan": ["basic", "pro", "basic", "pro"],
    ...     }
    ... )
    >>> kept, decisions = choose_columns(X)
    >>> list(kept.columns)
    ['age', 'plan']
    >>> for decision in decisions:
    ...     print(decision)
    note: dropped 'customer_id': a different value in every row (an identifier)
    note: dropped 'signed_up': dates or times, which sknormnet tune does not use
    """
    unknown = [name for name in drop if name not in X.columns]
    if unknown:
        raise KeyError(unknown[0])
    decisions, dropped = [], []
    for name in X.columns:
        column = X[name]
        if name in drop:
            reason = "as --drop asks"
        elif column.isna().all():
            reason = "no values"
        elif _is_datetime(column):  # before identifiers: times are often unique
            reason = "dates or times, which sknormnet tune does not use"
        elif _is_identifier(column):
            reason = "a different value in every row (an identifier)"
        else:
            n_values = column.nunique()
            if not is_numeric(column) and n_values > MAX_CATEGORIES:
                decisions.append(
                    Decision(
                        str(name),
                        "capped",
                        f"{n_values} values, one-hot encoded as the "
                        f"{MAX_CATEGORIES - 1} most frequent and one for the rest",
                    )
                )
            continue
        decisions.append(Decision(str(name), "dropped", reason))
        dropped.append(name)
    return X.drop(columns=dropped), decisions
