"""Weighted alias routing is a pure function of its random draw (spec §5)."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from sandbox.core.routing import choose_version


def test_no_weights_is_always_primary() -> None:
    assert choose_version("3", {}, 0.999) == "3"


def test_threshold_is_the_weight() -> None:
    assert choose_version("1", {"2": 0.25}, 0.2499) == "2"
    assert choose_version("1", {"2": 0.25}, 0.25) == "1"
    assert choose_version("1", {"2": 0.0}, 0.0) == "1"
    assert choose_version("1", {"2": 1.0}, 0.9999) == "2"


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0, exclude_max=True))
def test_choice_matches_the_draw(weight: float, u: float) -> None:
    expected = "2" if u < weight else "1"
    assert choose_version("1", {"2": weight}, u) == expected


@given(st.floats(0.05, 0.95), st.integers(0, 2**32 - 1))
def test_observed_share_tracks_the_weight(weight: float, seed: int) -> None:
    rng = random.Random(seed)
    n = 4000
    hits = sum(choose_version("1", {"2": weight}, rng.random) == "2" for _ in range(n))
    # binomial: 5 standard deviations never fails in practice for a correct router
    sd = (n * weight * (1 - weight)) ** 0.5
    assert abs(hits - n * weight) < 5 * sd


def test_seeded_draws_are_reproducible() -> None:
    a = [choose_version("1", {"2": 0.3}, random.Random(9).random) for _ in range(5)]
    b = [choose_version("1", {"2": 0.3}, random.Random(9).random) for _ in range(5)]
    assert a == b
