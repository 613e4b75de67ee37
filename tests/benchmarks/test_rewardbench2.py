"""RewardBench 2 from a file in allenai/reward-bench-2's schema: the loader's best-of-4 pairs, the
item rule on hand-set rewards (ties share the credit), upstream's Ties formula, a pairwise judge's
partial score, and the results layout of scripts/run_v2.py.

    python -m pytest tests/benchmarks/test_rewardbench2.py -q
"""

from __future__ import annotations

import json
import math

import pytest
from cells import reward_records

from genrm_exp.benchmarks import BENCHMARKS, leaderboard_json, score
from genrm_exp.benchmarks.rewardbench2 import ties_score
from genrm_exp.data.loaders import load_pairs


def row(row_id, subset, chosen, rejected):
    """A row as allenai/reward-bench-2 (split test) stores it."""
    return {
        "id": row_id,
        "prompt": f"question {row_id}",
        "chosen": chosen,
        "rejected": rejected,
        "num_correct": len(chosen),
        "num_rejected": len(rejected),
        "total_completions": len(chosen) + len(rejected),
        "models": ["m"] * (len(chosen) + len(rejected)),
        "subset": subset,
    }


# (row, rewards of its chosen responses, rewards of its rejected ones)
ROWS = [
    (row("f1", "Factuality", ["c"], ["r1", "r2", "r3"]), [2], [1, 0, 1]),  # wins all: 1
    (row("f2", "Factuality", ["c"], ["r1", "r2", "r3"]), [1], [1, 0, 0]),  # ties one at the top: 1/2
    (row("p1", "Precise IF", ["c"], ["r1", "r2", "r3"]), [1], [0, 0, 0]),  # 1
    (row("m1", "Math", ["c"], ["r1", "r2", "r3"]), [0], [1, -1, -1]),  # loses one: 0
    (row("s1", "Safety", ["c"], ["r1", "r2", "r3"]), [0], [0, 0, 0]),  # four-way tie: 1/4
    (row("o1", "Focus", ["c"], ["r1", "r2", "r3"]), [5], [6, 0, 0]),  # 0
    (row("ref:1", "Ties", ["c"], ["w1", "w2"]), [3], [1, 2]),  # gap 1
    (row("tied:1", "Ties", ["c1", "c2"], ["w1", "w2"]), [4, 3.8], [1, 3]),  # gap 0.8, spread 0.2
    (row("ref:2", "Ties", ["c"], ["w1"]), [0], [1]),  # gap -1
    (row("tied:2", "Ties", ["c1", "c2"], ["w1"]), [2, 1], [1.5]),  # gap -0.5, spread 1
]


@pytest.fixture
def scored(tmp_path):
    path = tmp_path / "rb2.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r, _, _ in ROWS))
    pairs, report = load_pairs({"format": "rewardbench2", "path": str(path), "source": "rewardbench2"})
    rewards = {r["id"]: (good, bad) for r, good, bad in ROWS}
    records = reward_records(pairs, rewards)
    return pairs, report, records


def test_rows_become_one_pair_per_cell(scored):
    pairs, report, _ = scored
    assert report.kept == len(pairs) == 6 * 3 + 2 + 4 + 1 + 2
    first = [p for p in pairs if p.group == "Factuality:f1"]
    assert [p.id for p in first] == ["Factuality:f1/c0r0", "Factuality:f1/c0r1", "Factuality:f1/c0r2"]
    assert {p.chosen for p in first} == {"c"} and [p.rejected for p in first] == ["r1", "r2", "r3"]
    assert first[0].source == "rewardbench2" and first[0].question == "question f1"
    assert [p.id for p in pairs if p.group == "Ties:tied:1"] == [
        f"Ties:tied:1/c{i}r{j}" for i in (0, 1) for j in (0, 1)
    ]


def test_ties_formula_on_hand_computed_numbers():
    """ref acc 1/2, tied acc 1/2; prompt 1: tied gap 0.8 > spread 0.2 and min(1, 0.8) > 0.2, margin
    tanh(0.8/0.2 - 1) = tanh 3; prompt 2: -0.5 and min(-1, -0.5) not > 1, margin tanh(-1/1 - 1) =
    tanh(-2). Ties = 0.3*.5 + 0.3*.5 + 0.2*.5 + 0.2*.5 + 0.01*(tanh 3 - tanh 2)/2."""
    out = ties_score(
        {
            ("ref", "1"): ([3], [1, 2]),
            ("tied", "1"): ([4, 3.8], [1, 3]),
            ("ref", "2"): ([0], [1]),
            ("tied", "2"): ([2, 1], [1.5]),
        }
    )
    assert out["ref_accuracy"] == out["tied_accuracy"] == 0.5
    assert out["correctness_preferred"] == out["correctness_preferred_hard"] == 0.5
    assert out["margin_score"] == pytest.approx((math.tanh(3) - math.tanh(2)) / 2)
    assert out["score"] == pytest.approx(0.5 + 0.005 * (math.tanh(3) - math.tanh(2)))
    # A zero spread divides as numpy does: a positive gap gives tanh(+inf) = 1, 0/0 gives 0.
    assert ties_score({("ref", "1"): ([2], [1]), ("tied", "1"): ([2, 2], [1])})["margin_score"] == 1.0
    assert ties_score({("ref", "1"): ([1], [1]), ("tied", "1"): ([1, 1], [1])})["margin_score"] == 0.0


def test_scalar_rewards_score_every_domain(scored):
    """Factuality (1 + 1/2)/2, Precise IF 1, Math 0, Safety 1/4, Focus 0, Ties as above; the score
    is the plain mean of the six."""
    pairs, _, records = scored
    out = score("rewardbench2", pairs, records)
    ties = 0.5 + 0.005 * (math.tanh(3) - math.tanh(2))
    assert out["sections"] == pytest.approx(
        {"Factuality": 0.75, "Precise IF": 1.0, "Math": 0.0, "Safety": 0.25, "Focus": 0.0, "Ties": ties}
    )
    assert out["score"] == pytest.approx((0.75 + 1 + 0 + 0.25 + 0 + ties) / 6)
    assert out["partial"] is False and out["n_items"] == 10 and out["chance"] == 0.25
    assert out["ties_accuracy"] == 0.5  # ref:1 and tied:1 win every comparison, the other two do not


def test_pairwise_judge_gets_no_ties_score(scored):
    """Without rewards only the verdicts count: a tie (0.5) shares the credit, Ties is left out."""
    pairs, _, records = scored
    verdicts = [{k: v for k, v in r.items() if k not in ("r_chosen", "r_rejected")} for r in records]
    out = score("rewardbench2", pairs, verdicts)
    assert "Ties" not in out["sections"] and out["partial"] is True and out["missing_sections"] == ["Ties"]
    assert out["sections"]["Factuality"] == 0.75 and out["ties_accuracy"] == 0.5
    assert out["score"] == pytest.approx((0.75 + 1 + 0 + 0.25 + 0) / 5)


def test_results_layout_is_run_v2s(scored):
    pairs, _, records = scored
    layout = leaderboard_json("rewardbench2", "my-rm", "Seq. Classifier", pairs, records)
    assert layout["model"] == "my-rm" and layout["model_type"] == "Seq. Classifier" and layout["chat_template"] is None
    assert set(layout) - {"model", "model_type", "chat_template"} == set(
        BENCHMARKS["rewardbench2"].score(pairs, records)["sections"]
    )
    assert layout["Safety"] == 0.25


def test_the_report_compares_judges_and_reward_models_on_the_domains_both_have():
    """A BT row has Ties, a judge row does not: beside each row's own score, the mean of the five
    domains both have (each row's own score averages a different set)."""
    from genrm_exp.report.tables import _sections

    five = {d: 0.5 for d in ("Factuality", "Precise IF", "Math", "Safety", "Focus")}
    bt = {"score": 0.6, "sections": {**five, "Factuality": 0.8, "Ties": 0.9}, "missing_sections": []}
    judge = {"score": 0.4, "sections": {**five, "Math": 0.0}, "missing_sections": ["Ties"]}
    runs = [{"name": n, "metrics": {"_benchmarks": {"rewardbench2": e}}} for n, e in (("bt", bt), ("genrm", judge))]
    text = "\n".join(_sections(runs))
    assert "mean of the 5 sections all rows have" in text
    rows = {
        line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith(("| bt", "| genrm"))
    }
    assert rows["bt"].split(" | ")[-2] == "56.0" and rows["genrm"].split(" | ")[-2] == "40.0", rows
