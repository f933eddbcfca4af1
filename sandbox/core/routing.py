"""Weighted alias routing as a pure function of a random draw.

An alias with ``RoutingConfig.AdditionalVersionWeights = {"2": 0.1}`` sends each invocation
to version 2 with probability 0.1 and to its primary version otherwise; the choice is a
fresh draw per invocation (spec §5), so it has high variance at low traffic. Taking the draw
as an argument makes routing reproducible: seed a ``random.Random`` and the canary is
deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

__all__ = ["choose_version"]


def choose_version(
    primary: str, weights: Mapping[str, float], draw: float | Callable[[], float]
) -> str:
    """The version an alias invocation executes.

    Args:
        primary: the alias's ``FunctionVersion``.
        weights: ``AdditionalVersionWeights`` (at most one entry).
        draw: a number in [0, 1), or a callable returning one (``random.Random().random``).
            It is only consumed when there is an extra version.

    >>> choose_version("1", {"2": 0.25}, 0.1), choose_version("1", {"2": 0.25}, 0.9)
    ('2', '1')
    """
    if not weights:
        return primary
    u = draw() if callable(draw) else draw
    threshold = 0.0
    for version, weight in weights.items():
        threshold += weight
        if u < threshold:
            return version
    return primary
