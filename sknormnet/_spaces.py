"""Search spaces: checking, sampling and describing one, and the ready-made
spaces of :class:`~sknormnet.MLPBatchNormClassifier` (public as
:func:`sknormnet.model_selection.tuning_space`).

A space maps parameter names to entries: distributions (objects with ``rvs``)
or lists of values; :func:`~sknormnet.distributions.as_distribution` gives
every entry the methods a search asks of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from sknormnet.distributions import (
    as_distribution,
    categorical,
    layer_sizes,
    loguniform,
    loguniform_int,
    one_minus_loguniform,
)

if TYPE_CHECKING:
    from typing import TypeAlias

    from sknormnet.distributions import SearchEntry

    # Parameter names mapped to distributions (objects with ``rvs``) or lists;
    # Any, as mypy infers a dict mixing the two as ``dict[str, object]``.
    SearchSpace: TypeAlias = Mapping[str, Any]

__all__ = ["check_spaces", "describe_space", "sample", "tuning_space"]

# Joins the words of a description that wrapping a line must keep together.
NO_BREAK = "\u00a0"


def check_spaces(
    param_distributions: SearchSpace | Sequence[SearchSpace],
) -> list[SearchSpace]:
    """``param_distributions`` as a list of dicts, with each entry checked."""
    spaces = (
        [param_distributions]
        if isinstance(param_distributions, Mapping)
        else list(param_distributions)
    )
    if not spaces:
        raise ValueError("param_distributions=[] is empty; give at least one dict.")
    for space in spaces:
        if not isinstance(space, Mapping):
            raise TypeError(
                f"param_distributions must be a dict or a list of dicts, got an "
                f"element {space!r} of type {type(space).__name__}."
            )
        for name, entry in space.items():
            try:
                as_distribution(entry)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"param_distributions[{name!r}]: {exc}") from None
    return spaces


def sample(
    spaces: Sequence[SearchSpace],
    chooser: categorical[int],
    n_candidates: int,
    rng: np.random.RandomState,
) -> tuple[list[dict[str, Any]], list[int]]:
    """Draw candidates, each from a space drawn from ``chooser``; return them
    and the index of the space of each."""
    candidates: list[dict[str, Any]] = []
    origins: list[int] = []
    for _ in range(n_candidates):
        origin = chooser.rvs(random_state=rng) if len(spaces) > 1 else 0
        params = {}
        for name, entry in sorted(spaces[origin].items()):
            if hasattr(entry, "rvs"):
                params[name] = entry.rvs(random_state=rng)
            else:
                params[name] = entry[rng.randint(len(entry))]
        candidates.append(params)
        origins.append(origin)
    return candidates, origins


def describe_space(space: SearchSpace) -> str:
    """``"name range; name range"``, each range from the entry's ``describe()``,
    joined to its name by no-break spaces that wrapping the line keeps."""
    return "; ".join(
        f"{name} {as_distribution(entry).describe()}".replace(" ", NO_BREAK)
        for name, entry in space.items()
    )


# the parameter holding each solver's momentum term (its first-moment average)
_MOMENTUM_PARAMETER: dict[str, str | None] = {
    "adam": "beta_1",
    "momentum": "momentum",
    "rmsprop": None,
    "sgd": None,
}


def tuning_space(
    priority: Literal[1, 2, 3] = 1,
    *,
    solver: Literal["adam", "momentum", "rmsprop", "sgd"] = "adam",
    prefix: str = "",
) -> dict[str, SearchEntry]:
    """Search space for :class:`~sknormnet.MLPBatchNormClassifier` by priority.

    Not all hyperparameters matter equally. The learning rate matters most; then
    the momentum term, the mini-batch size and the number of hidden units; then
    the number of layers and the learning-rate decay. Adam's ``beta_2`` and
    ``epsilon`` are rarely worth tuning (0.999 and 1e-8 work well). Tune the
    first priority alone when compute is scarce, and add the others as it
    allows.

    Parameters
    ----------
    priority : {1, 2, 3}, default=1
        Include the hyperparameters of this priority and of the ones before:

        1. ``learning_rate_init``: ``loguniform(1e-4, 1)``, as good learning
           rates spread over decades.
        2. the momentum term, ``one_minus_loguniform(0.9, 0.999)`` (averaging
           over about 10 to 1000 steps, with as many draws above as below 0.99);
           ``batch_size``, powers of two ``[32, 64, 128, 256, 512]``;
           ``hidden_layer_sizes``, one hidden layer (the estimator's default
           depth) of ``loguniform_int(32, 512)`` units.
        3. ``hidden_layer_sizes`` with 1 to 4 hidden layers of
           ``loguniform_int(32, 512)`` units each, and learning-rate decay:
           ``learning_rate="inverse_time"`` with ``decay_rate``
           ``loguniform(1e-4, 1e-1)``, which divides the learning rate by
           about 1.01 to 11 over 100 epochs.

    solver : {"adam", "momentum", "rmsprop", "sgd"}, default="adam"
        The estimator's solver, which decides the momentum term of priority 2:
        ``beta_1`` for ``"adam"``, ``momentum`` for ``"momentum"``, none for
        ``"sgd"`` and ``"rmsprop"`` (RMSprop's ``beta_2`` is, like Adam's,
        rarely tuned).

    prefix : str, default=""
        Prepended to every parameter name, e.g. ``"mlp__"`` when the classifier
        is the step named ``"mlp"`` of a :class:`~sklearn.pipeline.Pipeline`.

    Returns
    -------
    param_distributions : dict
        Parameter names mapped to distributions or lists, for
        :class:`CoarseToFineSearchCV` or
        :class:`~sklearn.model_selection.RandomizedSearchCV`.

    Examples
    --------
    >>> from sknormnet.model_selection import tuning_space
    >>> tuning_space(1)
    {'learning_rate_init': loguniform(low=0.0001, high=1.0)}
    >>> sorted(tuning_space(2, solver="momentum", prefix="mlp__"))
    ['mlp__batch_size', 'mlp__hidden_layer_sizes', 'mlp__learning_rate_init', 'mlp__momentum']
    >>> tuning_space(3)["hidden_layer_sizes"]
    layer_sizes(n_layers=[1, 2, 3, 4], n_units=loguniform_int(low=32, high=512))
    """
    if isinstance(priority, bool) or priority not in (1, 2, 3):
        raise ValueError(
            f"priority={priority!r} is not one of 1, 2, 3; use 1 for the learning "
            "rate alone, 2 to add momentum, batch size and hidden units, 3 to add "
            "the number of layers and the learning-rate decay."
        )
    if solver not in _MOMENTUM_PARAMETER:
        raise ValueError(
            f"solver={solver!r} is not one of {sorted(_MOMENTUM_PARAMETER)}; pass "
            "the solver of the estimator being tuned."
        )
    if not isinstance(prefix, str):
        raise ValueError(f"prefix={prefix!r} must be a string such as 'mlp__'.")

    space: dict[str, SearchEntry] = {"learning_rate_init": loguniform(1e-4, 1.0)}
    if priority >= 2:
        momentum = _MOMENTUM_PARAMETER[solver]
        if momentum is not None:
            space[momentum] = one_minus_loguniform(0.9, 0.999)
        space["batch_size"] = [32, 64, 128, 256, 512]
        space["hidden_layer_sizes"] = layer_sizes(
            n_layers=[1], n_units=loguniform_int(32, 512)
        )
    if priority >= 3:
        space["hidden_layer_sizes"] = layer_sizes(
            n_layers=[1, 2, 3, 4], n_units=loguniform_int(32, 512)
        )
        space["learning_rate"] = ["inverse_time"]
        space["decay_rate"] = loguniform(1e-4, 1e-1)
    return {prefix + name: entry for name, entry in space.items()}
