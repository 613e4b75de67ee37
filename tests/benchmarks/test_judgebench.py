"""JudgeBench from a file in ScalerLab/JudgeBench's schema: the label picks the better response,
upstream's rule for two orders (+1 / -1 / 0 per decision, right when the sum is positive) on hand
cases, a scalar reward model, and the JSONL-lines layout of run_judge.py.

    python -m pytest tests/benchmarks/test_judgebench.py -q
"""

from __future__ import annotations

import json

import pytest

from genrm_exp.benchmarks import leaderboard_json, score
from genrm_exp.data.loaders import load_pairs

# source, label, order_verdicts ("A" = the better response), right by upstream's rule
CASES = [
    ("mmlu-pro-law", "A>B", ["A", "A"], True),  # +2
    ("mmlu-pro-math", "B>A", ["A", "B"], False),  # 0: one right, one wrong
    ("livebench-math", "A>B", ["A", "tie"], True),  # +1
    ("livebench-reasoning", "B>A", ["invalid", "B"], False),  # -1
    ("livecodebench", "A>B", ["tie", "tie"], False),  # 0
]


@pytest.fixture
def pairs(tmp_path):
    path = tmp_path / "dataset=judgebench,response_model=gpt-4o-2024-05-13.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "pair_id": f"id-{n}",
                    "original_id": n,
                    "source": source,
                    "question": f"question {n}",
                    "response_model": "gpt-4o-2024-05-13",
                    "response_A": f"answer A {n}",
                    "response_B": f"answer B {n}",
                    "label": label,
                }
            )
            + "\n"
            for n, (source, label, _, _) in enumerate(CASES)
        )
    )
    return load_pairs({"format": "judgebench", "path": str(path), "source": "judgebench"})[0]


def records(pairs):
    out = []
    for p, (_, _, verdicts, _) in zip(pairs, CASES):
        value = [1.0 if v == "A" else 0.0 if v == "B" else 0.5 for v in verdicts]
        out.append(
            {
                "id": p.id,
                "subset": p.subset,
                "orders": ["AB", "BA"],
                "order_verdicts": verdicts,
                "score": sum(value) / 2,
                "p_chosen": sum(value) / 2,
            }
        )
    return out


def test_label_picks_the_better_response(pairs):
    assert [p.id for p in pairs][:2] == ["mmlu-pro-law:id-0", "mmlu-pro-math:id-1"]
    assert (pairs[0].chosen, pairs[0].rejected) == ("answer A 0", "answer B 0")
    assert (pairs[1].chosen, pairs[1].rejected) == ("answer B 1", "answer A 1")


def test_two_orders_combine_by_upstreams_rule(pairs):
    """Right: cases 0 and 2 -> overall 2/5; knowledge 1/2, reasoning 0, math 1, coding 0."""
    out = score("judgebench", pairs, records(pairs))
    assert out["score"] == 0.4 and out["n_items"] == 5 and out["both_orders"] == 5
    assert out["sections"] == {"knowledge": 0.5, "reasoning": 0.0, "math": 1.0, "coding": 0.0}
    assert out["partial"] is False


def test_scalar_rewards_need_a_strictly_higher_chosen(pairs):
    rewards = [(2, 1), (1, 1), (0, 1), (3, 0), (1, 2)]
    recs = [
        {"id": p.id, "subset": p.subset, "r_chosen": c, "r_rejected": r, "score": 0.5, "p_chosen": None}
        for p, (c, r) in zip(pairs, rewards)
    ]
    assert score("judgebench", pairs, recs)["score"] == 0.4


def test_results_layout_is_run_judges_lines(pairs):
    layout = leaderboard_json("judgebench", "my-judge", "Generative RM", pairs, records(pairs))
    assert layout["scores"] == {
        "mmlu-pro": 0.5,
        "livebench-reasoning": 0.0,
        "livebench-math": 1.0,
        "livecodebench": 0.0,
        "Overall": 0.4,
    }
    line = layout["pairs"][0]
    assert line["pair_id"] == "id-0" and line["label"] == "A>B" and line["source"] == "mmlu-pro-law"
    # The second judgment is of the swapped order: the better response shown second wins as "B>A".
    assert line["judgments"] == [{"decision": "A>B"}, {"decision": "B>A"}]
    assert layout["pairs"][4]["judgments"] == [{"decision": "A=B"}, {"decision": "A=B"}]
