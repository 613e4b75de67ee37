"""The order vocabulary and its policies (pure: milliseconds)."""

from __future__ import annotations

import pytest

from genrm_exp.errors import ConfigError
from genrm_exp.orders import orders_for, orders_for_all, prob_as_stored, shown, verdict_as_stored


def test_policies():
    assert orders_for("x", 0, "fixed") == ["AB"]
    assert orders_for("x", 0, "both") == ["AB", "BA"]
    draws = [orders_for(f"id{i}", 3, "random")[0] for i in range(2000)]
    assert draws == [orders_for(f"id{i}", 3, "random")[0] for i in range(2000)]  # seeded per pair
    assert 900 < draws.count("BA") < 1100
    assert draws != [orders_for(f"id{i}", 4, "random")[0] for i in range(2000)]
    with pytest.raises(ConfigError, match="judge.order='sometimes'"):
        orders_for("x", 0, "sometimes")
    with pytest.raises(ConfigError, match="star.order='alternate'"):
        orders_for("x", 0, "alternate", "star.order")  # a list policy, not a per-pair one


def test_alternate_swaps_exactly_half_by_a_seeded_hash():
    ids = [f"p{i}" for i in range(11)]
    got = orders_for_all(ids, 7, "alternate")
    assert sum(o == ["BA"] for o in got) == 5 and all(len(o) == 1 for o in got)
    assert orders_for_all(list(reversed(ids)), 7, "alternate") == list(reversed(got))  # depends on ids, not places
    assert orders_for_all(ids, 8, "alternate") != got


def test_shown_and_mapped_back():
    assert shown("good", "bad", "AB") == ("good", "bad") and shown("good", "bad", "BA") == ("bad", "good")
    assert [verdict_as_stored(v, "BA") for v in ("A", "B", "tie", "invalid")] == ["B", "A", "tie", "invalid"]
    assert verdict_as_stored("A", "AB") == "A"
    assert prob_as_stored(0.8, "BA") == pytest.approx(0.2) and prob_as_stored(0.8, "AB") == 0.8
    with pytest.raises(ValueError, match="order 'ba'"):
        shown("a", "b", "ba")
