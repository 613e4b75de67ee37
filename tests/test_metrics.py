"""Accuracy, bootstrap intervals, calibration and position bias on hand-computed cases."""

import math

import numpy as np
import pytest

from genrm_exp.metrics import (
    a_rate,
    bootstrap_ci,
    expected_calibration_error,
    pair_accuracy,
    position_consistency,
    reliability_bins,
    score_from_prob,
    score_from_rewards,
    summarize,
)
from genrm_exp.orders import verdict_as_stored
from genrm_exp.verdicts import INVALID, A, B


def test_pair_accuracy_counts_ties_as_half():
    """(1 + 0 + 0.5 + 1) / 4 = 0.625."""
    assert pair_accuracy([1, 0, 0.5, 1]) == pytest.approx(0.625)
    assert math.isnan(pair_accuracy([]))


def test_pair_accuracy_rejects_non_scores():
    with pytest.raises(ValueError, match="pair scores must each be 0, 0.5 or 1"):
        pair_accuracy([1, 0.7])


def test_scores_from_rewards_and_probs():
    assert [
        score_from_rewards(2.0, 1.0),
        score_from_rewards(-1.0, 0.5),
        score_from_rewards(0.3, 0.3),
    ] == [
        1.0,
        0.0,
        0.5,
    ]
    assert [score_from_prob(0.51), score_from_prob(0.49), score_from_prob(0.5)] == [
        1.0,
        0.0,
        0.5,
    ]
    with pytest.raises(ValueError, match="reward is nan"):
        score_from_rewards(float("nan"), 0.0)
    with pytest.raises(ValueError, match="probability is nan"):
        score_from_prob(float("nan"))


def test_bootstrap_is_deterministic_under_seed():
    scores = [1, 0, 1, 1, 0.5, 0, 1, 1, 0, 1, 0.5] * 7
    assert bootstrap_ci(scores, seed=3) == bootstrap_ci(scores, seed=3)
    assert bootstrap_ci(scores, seed=3) != bootstrap_ci(scores, seed=4)


def test_bootstrap_contains_mean_and_narrows_with_n():
    rng = np.random.default_rng(0)
    small = rng.choice([0.0, 1.0], size=40, p=[0.3, 0.7])
    large = np.tile(small, 25)  # same mean, 25x the pairs: width shrinks by about 5x
    lo_s, hi_s = bootstrap_ci(small)
    lo_l, hi_l = bootstrap_ci(large)
    assert lo_s < small.mean() < hi_s
    assert lo_l < large.mean() < hi_l
    assert (hi_l - lo_l) < 0.4 * (hi_s - lo_s)


def test_bootstrap_edge_cases():
    assert all(math.isnan(x) for x in bootstrap_ci([]))
    assert bootstrap_ci([0.5]) == (0.5, 0.5)
    assert bootstrap_ci([1, 1, 1]) == (1.0, 1.0)
    with pytest.raises(ValueError, match="need n_boot >= 1 and 0 < alpha < 1"):
        bootstrap_ci([1, 0], alpha=0.0)


def test_summarize_has_exactly_the_metrics_json_keys():
    out = summarize([1, 0, 1, 1])
    assert set(out) == {"accuracy", "ci95", "n"}
    assert out["accuracy"] == 0.75
    assert out["n"] == 4
    assert isinstance(out["ci95"], list) and len(out["ci95"]) == 2
    assert out["ci95"][0] <= 0.75 <= out["ci95"][1]


def test_ece_zero_when_calibrated():
    """p = 0.8 for 8 pairs (right, confidence 0.8) and 0.2 for 2 (wrong, confidence 0.8):
    one bin, accuracy 8/10 = mean confidence 0.8, so ECE = 0. Certain and right: also 0."""
    assert expected_calibration_error([0.8] * 8 + [0.2] * 2) == pytest.approx(0.0, abs=1e-12)
    assert expected_calibration_error([1.0, 1.0, 1.0]) == 0.0


def test_ece_overconfident_by_hand():
    """Confidence 0.9 everywhere, half right: ECE = |0.5 - 0.9| = 0.4.

    Mixed case, 10 bins of width 0.05: p = 0.96, 0.96, 0.04 -> confidence 0.96 in [0.95, 1],
    accuracy 2/3, gap 0.96 - 2/3 = 0.29333, weight 3/5; p = 0.7, 0.7 -> confidence 0.7 in
    [0.70, 0.75), accuracy 1, gap 0.3, weight 2/5. ECE = 0.6 * 0.29333 + 0.4 * 0.3 = 0.296.
    """
    assert expected_calibration_error([0.9] * 5 + [0.1] * 5) == pytest.approx(0.4)
    assert expected_calibration_error([0.96, 0.96, 0.04, 0.7, 0.7]) == pytest.approx(0.296)


def test_ece_counts_exact_ties_as_half_correct():
    """p = 0.5 -> confidence 0.5, correct 0.5: no gap. With p = 1.0 (right): bins 0 and 9
    both have zero gap, ECE 0. If ties were counted wrong, ECE would be 0.5 * 0.5 = 0.25."""
    assert expected_calibration_error([0.5, 1.0]) == pytest.approx(0.0)


def test_reliability_bins_shape():
    bins = reliability_bins([0.96, 0.96, 0.04, 0.7, 0.7], n_bins=10)
    assert len(bins) == 10
    assert bins[0]["lo"] == 0.5 and bins[-1]["hi"] == 1.0
    assert [b["count"] for b in bins] == [0, 0, 0, 0, 2, 0, 0, 0, 0, 3]
    assert bins[4]["accuracy"] == 1.0
    assert bins[4]["mean_confidence"] == pytest.approx(0.7)
    assert bins[9]["accuracy"] == pytest.approx(2 / 3)
    assert bins[0]["accuracy"] is None and bins[0]["mean_confidence"] is None
    # 1.0 lands in the closed last bin
    assert reliability_bins([1.0], n_bins=2)[1]["count"] == 1
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]"):
        reliability_bins([1.2])


def test_a_rate_over_valid_verdicts():
    """3 A and 1 B among valid verdicts (INVALID ignored): 3 / 4."""
    assert a_rate([A, A, B, INVALID, A]) == 0.75
    assert math.isnan(a_rate([INVALID]))
    with pytest.raises(ValueError, match="unknown verdict 'chosen'"):
        a_rate(["chosen"])


def _judged_both_orders(shown_original, shown_swapped):
    return [(verdict_as_stored(o, "AB"), verdict_as_stored(s, "BA")) for o, s in zip(shown_original, shown_swapped)]


def test_position_consistency_always_a_is_zero_and_perfect_is_one():
    always_a = _judged_both_orders([A, A, A], [A, A, A])
    assert position_consistency(always_a) == 0.0
    # A perfect judge: chosen is first in the original order and second when swapped.
    perfect = _judged_both_orders([A, A, B], [B, B, A])
    assert position_consistency(perfect) == 1.0


def test_position_consistency_counts_invalid_as_inconsistent():
    assert position_consistency([(A, A), (B, B), (INVALID, INVALID), (A, INVALID)]) == 0.5
    assert math.isnan(position_consistency([]))
