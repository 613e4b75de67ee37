"""PPE from files in lmarena-ai's schemas: human votes (ties dropped and counted), best-of-K rows
with their sampled conflict pairs (the correct answer chosen), accuracy and best-of-K on hand-set
rewards.

    python -m pytest tests/benchmarks/test_ppe.py -q
"""

from __future__ import annotations

import json

import pytest

from genrm_exp.benchmarks import leaderboard_json, score
from genrm_exp.data.loaders import load_pairs


def human_rows():
    """Rows as lmarena-ai/PPE-Human-Preference-V1 (split test) stores them."""
    base = {"model_a": "m1", "model_b": "m2", "language": "English", "conv_metadata": {"turns": 1}}
    return [
        {
            **base,
            "question_id": f"q{n}",
            "prompt": f"prompt {n}",
            "response_1": f"one {n}",
            "response_2": f"two {n}",
            "winner": w,
        }
        for n, w in enumerate(["model_a", "model_b", "tie", "tie (bothbad)"])
    ]


def correctness_row(qid, scores, conflicts):
    """A row as lmarena-ai/PPE-*-Best-of-K (split train) stores it: K answers, their grades."""
    return {
        "question_id": qid,
        "model_name": "gpt-4o-mini",
        "prompt": f"question {qid}",
        **{f"response_{k + 1}": f"answer {k} of {qid}" for k in range(len(scores))},
        "scores": scores,
        "sampled_conflict_pairs": conflicts,
    }


def test_human_votes_ties_dropped_and_counted(tmp_path):
    path = tmp_path / "human.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in human_rows()))
    pairs, report = load_pairs({"format": "ppe_human", "path": str(path), "source": "ppe_human", "subset": "ppe_human"})
    assert [(p.chosen, p.rejected) for p in pairs] == [("one 0", "two 0"), ("two 1", "one 1")]
    assert report.skipped == {"tie": 2} and report.rows_read == 4
    recs = [{"id": p.id, "subset": p.subset, "score": s, "p_chosen": None} for p, s in zip(pairs, [1.0, 0.5])]
    out = score("ppe_human", pairs, recs)
    assert out["score"] == 0.75 and out["sections"] == {"ppe_human": 0.75} and out["n_items"] == 2


@pytest.fixture
def correctness(tmp_path):
    """mmlu_pro: grades [T, F, T, F], conflicts [0,1] [3,2] [0,3] -> pairs c0r1, c2r3, c0r3; rewards
    .5 .7 .9 .1: c0r1 lost, the others won (2/3); the top reward (.9) is a correct answer (1).
    math: grades [0, 1], conflict [0,1] -> c1r0; rewards 2, 1: lost (0), top is wrong (0)."""
    sets, rewards = [], {}
    for subset, row, r in (
        ("mmlu_pro", correctness_row("a", [True, False, True, False], [[0, 1], [3, 2], [0, 3]]), [0.5, 0.7, 0.9, 0.1]),
        ("math", correctness_row("b", [0, 1], [[0, 1]]), [2.0, 1.0]),
    ):
        path = tmp_path / f"{subset}.jsonl"
        path.write_text(json.dumps(row) + "\n")
        sets += load_pairs(
            {"format": "ppe_correctness", "path": str(path), "source": "ppe_correctness", "subset": subset}
        )[0]
        rewards[subset] = r
    recs = []
    for p in sets:
        i, j = (int(x) for x in p.id.rsplit("/c", 1)[1].split("r"))
        rc, rr = rewards[p.subset][i], rewards[p.subset][j]
        recs.append(
            {
                "id": p.id,
                "subset": p.subset,
                "r_chosen": rc,
                "r_rejected": rr,
                "score": float(rc > rr),
                "p_chosen": None,
            }
        )
    return sets, recs


def test_conflict_pairs_put_the_correct_answer_first(correctness):
    pairs, _ = correctness
    assert [p.id for p in pairs] == [
        "mmlu_pro:a:gpt-4o-mini/c0r1",
        "mmlu_pro:a:gpt-4o-mini/c2r3",
        "mmlu_pro:a:gpt-4o-mini/c0r3",
        "math:b:gpt-4o-mini/c1r0",
    ]
    assert (pairs[1].chosen, pairs[1].rejected) == ("answer 2 of a", "answer 3 of a")
    assert pairs[0].group == "mmlu_pro:a:gpt-4o-mini"


def test_correctness_accuracy_and_best_of_k(correctness):
    pairs, recs = correctness
    out = score("ppe_correctness", pairs, recs)
    assert out["sections"] == pytest.approx({"mmlu_pro": 2 / 3, "math": 0.0})
    assert out["score"] == pytest.approx(1 / 3) and out["n_items"] == 2 and out["n_pairs"] == 4
    assert out["best_of_k"] == {"mmlu_pro": 1.0, "math": 0.0}
    assert out["items_all_right"] == {"mmlu_pro": 0.0, "math": 0.0}
    assert out["partial"] is True and "gpqa" in out["missing_sections"]
    layout = leaderboard_json("ppe_correctness", "rm", "Seq. Classifier", pairs, recs)
    assert layout["benchmark"] == "ppe_correctness" and layout["best_of_k"]["mmlu_pro"] == 1.0
