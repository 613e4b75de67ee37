"""Pairwise accuracy, bootstrap intervals, calibration and position bias.

Every pair gets a score: 1 when the model prefers the chosen response, 0 when it prefers the
rejected one, 0.5 for a tie or an invalid verdict (RewardBench's convention). Accuracy is the
mean score; `summarize` is what a run writes to metrics.json.

Test: python -m pytest tests/test_metrics.py -q
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from genrm_exp.verdicts import INVALID, TIE, A, B

_NAN = float("nan")
_VERDICTS = (A, B, INVALID, TIE)


def _scores(scores: Sequence[float]) -> np.ndarray:
    arr = np.asarray(scores, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"pair scores must be a flat sequence, got shape {arr.shape}")
    if not np.isin(arr, (0.0, 0.5, 1.0)).all():
        raise ValueError("pair scores must each be 0, 0.5 or 1")
    return arr


def pair_accuracy(scores: Sequence[float]) -> float:
    """Mean of per-pair scores in {0, 0.5, 1}; nan when there are none."""
    arr = _scores(scores)
    return float(arr.mean()) if arr.size else _NAN


def score_from_rewards(r_chosen: float, r_rejected: float) -> float:
    """1 if the chosen response gets the higher reward, 0 if lower, 0.5 if equal."""
    if math.isnan(r_chosen) or math.isnan(r_rejected):
        raise ValueError("reward is nan")
    return 1.0 if r_chosen > r_rejected else 0.0 if r_chosen < r_rejected else 0.5


def score_from_prob(p_chosen: float) -> float:
    """1 if P(chosen preferred) > 0.5, 0 if < 0.5, 0.5 if exactly 0.5."""
    if math.isnan(p_chosen):
        raise ValueError("probability is nan")
    return 1.0 if p_chosen > 0.5 else 0.0 if p_chosen < 0.5 else 0.5


def bootstrap_ci(
    scores: Sequence[float], n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean score, deterministic under `seed`.

    Empty input gives (nan, nan); a single score x gives (x, x).
    """
    if n_boot < 1 or not 0.0 < alpha < 1.0:
        raise ValueError(f"need n_boot >= 1 and 0 < alpha < 1, got {n_boot=} {alpha=}")
    arr = _scores(scores)
    if arr.size == 0:
        return (_NAN, _NAN)
    if arr.size == 1:
        return (float(arr[0]), float(arr[0]))
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, arr.size, size=(n_boot, arr.size))].mean(axis=1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return (float(lo), float(hi))


def summarize(scores: Sequence[float], *, seed: int = 0, n_boot: int = 1000) -> dict:
    """{"accuracy": float, "ci95": [lo, hi], "n": int}, the metrics.json entry (nan when empty)."""
    lo, hi = bootstrap_ci(scores, n_boot=n_boot, seed=seed)
    return {"accuracy": pair_accuracy(scores), "ci95": [lo, hi], "n": len(scores)}


def length_baseline(len_chosen: Sequence[int], len_rejected: Sequence[int]) -> dict:
    """Accuracy of picking the longer response, and of picking the shorter, over pairs of lengths
    (a tie counts 0.5 for both): how much of a score length alone explains.

    >>> length_baseline([10, 3, 5], [4, 8, 5])
    {'longer': 0.5, 'shorter': 0.5}
    """
    if len(len_chosen) != len(len_rejected):
        raise ValueError("length_baseline needs one rejected length per chosen length")
    longer = [1.0 if c > r else 0.0 if c < r else 0.5 for c, r in zip(len_chosen, len_rejected)]
    return {"longer": pair_accuracy(longer), "shorter": pair_accuracy([1.0 - x for x in longer])}


def reliability_bins(probs_chosen: Sequence[float], n_bins: int = 10) -> list[dict]:
    """Equal-width confidence bins over [0.5, 1] for a reliability diagram.

    The outcome is always "chosen wins", so the probability itself cannot be scored against it;
    instead each pair is read from the side the model picked: confidence = max(p, 1 - p) and
    correct = 1 if p > 0.5 else 0. A tie (p == 0.5) keeps confidence 0.5 and counts as correct
    0.5, as in accuracy. Bins are [lo, hi) except the last, [lo, 1]. Each bin is
    {"lo", "hi", "count", "mean_confidence", "accuracy"}; the last two are None when empty.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    p = np.asarray(probs_chosen, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"probabilities must be a flat sequence, got shape {p.shape}")
    if not ((p >= 0.0) & (p <= 1.0)).all():  # also rejects nan
        raise ValueError("probabilities must lie in [0, 1]")
    confidence = np.maximum(p, 1.0 - p)
    correct = np.where(p > 0.5, 1.0, np.where(p < 0.5, 0.0, 0.5))
    edges = np.linspace(0.5, 1.0, n_bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, n_bins - 1)
    bins = []
    for i in range(n_bins):
        members = index == i
        count = int(members.sum())
        bins.append(
            {
                "lo": float(edges[i]),
                "hi": float(edges[i + 1]),
                "count": count,
                "mean_confidence": float(confidence[members].mean()) if count else None,
                "accuracy": float(correct[members].mean()) if count else None,
            }
        )
    return bins


def expected_calibration_error(probs_chosen: Sequence[float], n_bins: int = 10) -> float:
    """ECE = sum over bins of (share of pairs in bin) * |accuracy - mean confidence|.

    Bins and the reading of p are those of `reliability_bins`; nan when there are no pairs.
    """
    bins = reliability_bins(probs_chosen, n_bins)
    total = sum(b["count"] for b in bins)
    if total == 0:
        return _NAN
    return float(sum(b["count"] / total * abs(b["accuracy"] - b["mean_confidence"]) for b in bins if b["count"]))


def a_rate(verdicts_shown: Sequence[str]) -> float:
    """Share of valid verdicts that say A in the order shown (0.5 = no position preference).

    INVALID and TIE are left out; nan when no verdict is valid.
    """
    _check_all(verdicts_shown)
    a, b = sum(v == A for v in verdicts_shown), sum(v == B for v in verdicts_shown)
    return a / (a + b) if a + b else _NAN


def position_consistency(verdict_pairs: Sequence[tuple[str, str]]) -> float:
    """Share of pairs judged in both orders whose two verdicts agree.

    Each element is (verdict from order AB, verdict from order BA), both already mapped back to the
    stored order with `orders.verdict_as_stored`, so a judge that
    always says A as shown scores 0. A pair with INVALID or TIE on either side counts as
    inconsistent. nan when there are no pairs.
    """
    if not verdict_pairs:
        return _NAN
    agree = 0
    for first, second in verdict_pairs:
        _check_all((first, second))
        agree += first == second and first in (A, B)
    return agree / len(verdict_pairs)


def _check_all(verdicts: Sequence[str]) -> None:
    for verdict in verdicts:
        if verdict not in _VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}; expected one of {list(_VERDICTS)}")
