"""RM-Bench from a file in THU-KEG/RM-Bench's schema: nine pairs per prompt, the 3 x 3 matrix and
its hard / normal / easy means on hand-set rewards, a tie counted as a loss (upstream's strict >),
and the layout of upstream's compute_accuracy with the rows it reads.

    python -m pytest tests/benchmarks/test_rmbench.py -q
"""

from __future__ import annotations

import json

import pytest
from cells import reward_records

from genrm_exp.benchmarks import leaderboard_json, score
from genrm_exp.benchmarks.rmbench import matrix_levels
from genrm_exp.data.loaders import load_pairs

STYLES = ("concise", "detailed", "markdown")
# id, domain, rewards of chosen styles 0..2, rewards of rejected styles 0..2
ROWS = [
    ("1", "chat", [1, 2, 3], [0, 1.5, 2.5]),
    ("2", "chat", [1, 1, 1], [1, 1, 1]),
    ("3", "safety-refuse", [5, 5, 5], [0, 0, 0]),
    ("4", "math", [0, 0, 0], [1, 1, 1]),
    ("5", "code", [2, 1, 0], [1, 1, 1]),
]


def rows():
    """Rows as THU-KEG/RM-Bench stores them: chosen / rejected lists in style order."""
    return [
        {
            "id": i,
            "prompt": f"prompt {i}",
            "chosen": [f"good {s} {i}" for s in STYLES],
            "rejected": [f"bad {s} {i}" for s in STYLES],
            "domain": d,
        }
        for i, d, _, _ in ROWS
    ]


@pytest.fixture
def scored(tmp_path):
    path = tmp_path / "total_dataset.json"
    path.write_text(json.dumps(rows()))
    pairs, _ = load_pairs({"format": "rmbench", "path": str(path), "source": "rmbench"})
    rewards = {i: (good, bad) for i, _, good, bad in ROWS}
    records = reward_records(pairs, rewards)
    return pairs, records


def test_nine_pairs_per_prompt(scored):
    pairs, _ = scored
    assert len(pairs) == 45
    first = pairs[:9]
    assert [p.id for p in first] == [f"chat:1/c{i}r{j}" for i in range(3) for j in range(3)]
    assert first[5].chosen == "good detailed 1" and first[5].rejected == "bad markdown 1" and first[5].group == "chat:1"
    assert pairs[18].subset == "safety-refuse"


def test_matrix_levels_on_a_hand_matrix():
    """Upper triangle (plainer chosen vs fancier rejected) = hard, diagonal = normal, lower = easy."""
    m = [[0.5, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.5, 0.5]]
    assert matrix_levels(m) == {"hard": 0.0, "normal": 0.5, "easy": 0.5}


def test_domains_and_levels_on_hand_computed_numbers(scored):
    """chat: prompt 1 wins cells [[1,0,0],[1,1,0],[1,1,1]], prompt 2 ties everywhere (0) -> hard 0,
    normal 1/2, easy 1/2, chat 1/3; safety 1 everywhere; math 0; code [[1,1,1],[0,0,0],[0,0,0]] ->
    hard 2/3, normal 1/3, easy 0, code 1/3. total = (1/3 + 0 + 1/3 + 1)/4 = 5/12 = mean of hard
    5/12, normal 11/24, easy 3/8."""
    pairs, records = scored
    out = score("rmbench", pairs, records)
    assert out["sections"] == pytest.approx(
        {"chat": 1 / 3, "math": 0.0, "code": 1 / 3, "safety": 1.0, "easy": 3 / 8, "normal": 11 / 24, "hard": 5 / 12}
    )
    assert out["score"] == pytest.approx(5 / 12) and out["n_items"] == 5 and out["partial"] is False
    assert out["matrices"]["chat"] == [[0.5, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.5, 0.5]]


def test_judge_tie_counts_as_a_loss(scored):
    """Verdict records: chat prompt 2's ties score 0.5 each and count as losses, as upstream's '>'."""
    pairs, records = scored
    verdicts = [{"id": r["id"], "subset": r["subset"], "score": r["score"], "p_chosen": None} for r in records]
    assert score("rmbench", pairs, verdicts)["sections"] == score("rmbench", pairs, records)["sections"]


def test_results_layout_and_rows(scored):
    pairs, records = scored
    layout = leaderboard_json("rmbench", "my-rm", "Seq. Classifier", pairs, records)
    assert layout["total_avg_acc"] == pytest.approx(5 / 12) and layout["hard_acc"] == pytest.approx(5 / 12)
    assert set(layout) >= {"chat", "math", "code", "safety", "normal_acc", "easy_acc"}
    assert layout["rows"][0] == {
        "id": "1",
        "domain": "chat",
        "score_chosen": [1.0, 2.0, 3.0],
        "score_rejected": [0.0, 1.5, 2.5],
    }
