"""Evaluation bookkeeping: a set named after a benchmark keeps its own statistics beside the
benchmark's section scores, every set carries its fingerprint and length baselines.

    python -m pytest tests/test_evaluation.py -q
"""

from __future__ import annotations

import json
import sys

import pytest
from support import ENV, TINY, genrm, run_group

SUBSETS = ["llmbar-natural", "alpacaeval-easy", "hep-go", "donotanswer"]


def _rewardbench_rows() -> list[dict]:
    """A few rows in allenai/reward-bench's `filtered` schema: id, prompt, chosen, rejected, subset."""
    return [
        {
            "id": 100 * i + j,
            "prompt": f"Question {i}.{j}?",
            "chosen": f"A careful answer {j}" * (1 + j % 3),
            "rejected": f"Wrong {j}",
            "chosen_model": "m1",
            "rejected_model": "m2",
            "subset": subset,
        }
        for i, subset in enumerate(SUBSETS)
        for j in range(3)
    ]


def _evaluate_file(tmp_path, option: str, rows: list[dict], *extra: str):
    """`eval=<option>` with its Hub set read from a local file of `rows` (the Hub schema) instead:
    a zero-shot direct judge on tiny_random. Returns (run folder, metrics.json)."""
    data = tmp_path / f"{option}.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = tmp_path / "run"
    tiny = [o for o in TINY if not o.startswith("eval.max_pairs_per_set")]
    out = genrm(
        *tiny,
        "objective=zero_shot_direct",
        f"eval={option}",
        "eval.heldout=false",
        *extra,
        f"eval.sets.{option}.hub=null",
        f"eval.sets.{option}.split=null",
        f"+eval.sets.{option}.path={data}",
        f"paths.outputs={tmp_path}",
        f"hydra.run.dir={run}",
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return run, json.loads((run / "metrics.json").read_text())


@pytest.mark.slow  # ~14 s; tests/test_cli.py's end-to-end run checks RewardBench's sections in the suite
def test_eval_rewardbench_keeps_the_set_and_the_section_scores_apart(tmp_path):
    run, metrics = _evaluate_file(tmp_path, "rewardbench", _rewardbench_rows(), "judge.order=both")
    entry = metrics["rewardbench"]  # the set: its own accuracy, interval and judge statistics
    assert entry["n"] == 12 and {"accuracy", "ci95", "ece", "a_rate", "position_consistency", "fingerprint"} <= set(
        entry
    )
    assert (
        entry["baseline_longer"] == 1.0 and entry["baseline_shorter"] == 0.0
    )  # every chosen answer is the longer here
    sections = metrics["_benchmarks"]["rewardbench"]  # the benchmark: section scores
    assert set(sections["sections"]) == {"Chat", "Chat Hard", "Safety", "Reasoning"} and sections["partial"] is True
    scores = [
        json.loads(line)["score"] for line in (run / "predictions" / "rewardbench.jsonl").read_text().splitlines()
    ]
    assert entry["accuracy"] == sum(scores) / len(scores)
    assert json.loads((run / "data.json").read_text())["eval_fingerprints"]["rewardbench"] == entry["fingerprint"]
    rep = run_group([sys.executable, "-m", "genrm_exp.report", str(run)], env=ENV, timeout=120)
    assert rep.returncode == 0, rep.stderr[-2000:]
    text = (run / "report.md").read_text()
    judge_rows = text.split("## Judges")[1].split("\n## ")[0].splitlines()
    assert any(r.startswith("| zero_shot_direct") and "| rewardbench |" in r for r in judge_rows)  # the set's own row
    assert "## RewardBench sections" in text and "Chat Hard" in text


def test_a_best_of_4_benchmark_is_scored_by_item_and_written_in_its_own_layout(tmp_path):
    """eval=rewardbench2 on a local file in the Hub schema: each prompt is three pairs (one chosen
    against three rejected) that the evaluation cap keeps whole; the benchmark's score pools its
    items (an item's credit is 0 when the chosen response loses one of its pairs, else 1 / (1 + ties))
    and rewardbench2_results.json
    is written beside metrics.json."""
    rows = [
        {
            "id": str(i),
            "prompt": f"Question {i}?",
            "chosen": [f"good answer {i}"],
            "rejected": [f"bad {i}.{j}" for j in range(3)],
            "num_correct": 1,
            "num_rejected": 3,
            "total_completions": 4,
            "models": ["m"] * 4,
            "subset": ["Factuality", "Math", "Safety", "Focus"][i % 4],
        }
        for i in range(4)
    ]
    run, metrics = _evaluate_file(tmp_path, "rewardbench2", rows, "eval.max_pairs_per_set=7")
    assert metrics["rewardbench2"]["n"] == 6  # a cap of 7 pairs keeps two whole items, not 7 pairs
    assert metrics["rewardbench2"]["protocol"]["fit"]["rule"] == "per_response_right"  # as upstream's run_v2.py
    records = [json.loads(line) for line in (run / "predictions" / "rewardbench2.jsonl").read_text().splitlines()]
    by_item: dict[str, list[float]] = {}
    for r in records:
        by_item.setdefault(r["id"].split("/")[0], []).append(r["score"])
    # Judged in both orders, a pair whose two orders disagree is a tie (score 0.5): an item scores 0
    # if its chosen response loses a pair, else 1 / (1 + its ties).
    expected = [0.0 if any(s < 0.5 for s in v) else 1.0 / (1 + sum(s == 0.5 for s in v)) for v in by_item.values()]
    bench = metrics["_benchmarks"]["rewardbench2"]
    assert bench["n_items"] == 2 and len(bench["sections"]) == 2  # the cap samples whole items over the subsets
    sections = {rows[int(item.split(":")[1])]["subset"]: e for item, e in zip(by_item, expected)}
    assert bench["sections"] == sections and bench["score"] == sum(expected) / len(expected)
    assert bench["partial"] is True and "Ties" in bench["missing_sections"]
    assert (run / "rewardbench2_results.json").is_file()


def test_a_tie_counts_half_in_every_accuracy_and_is_left_out_of_calibration():
    """Two labelled pairs, the second a tie (ties: half): the judge's confident, right-looking A on
    the tie counts 0.5 at maj@k and at maj@1, and the tie's probability is not read as "chosen won"
    by the ECE."""
    from genrm_exp.data.formats import TIE_SUFFIX
    from genrm_exp.data.schema import Message, Pair
    from genrm_exp.evaluation import score_ties, set_metrics

    prompt = (Message("user", "q"),)
    pairs = [
        Pair("v:0", prompt, "a", "b", "votes", "votes"),
        Pair(f"v:1{TIE_SUFFIX}", prompt, "c", "d", "votes", "votes"),
    ]
    judged = [
        {
            "id": p.id,
            "score": 1.0,
            "score_maj1": 1.0,
            "p_chosen": p_chosen,
            "n_verdicts": 2,
            "invalid": 0,
            "orders": ["AB", "BA"],
        }
        for p, p_chosen in zip(pairs, (0.9, 0.2))
    ]
    records = score_ties(pairs, [dict(r) for r in judged])
    assert records[1]["tie"] and records[1]["score"] == 0.5 and records[1]["score_maj1"] == 0.5
    m = set_metrics(records, bootstrap_samples=20, seed=0, pairs=pairs)
    assert m["accuracy"] == 0.75 and m["accuracy_maj1"] == 0.75
    alone = set_metrics(score_ties(pairs[:1], [dict(judged[0])]), bootstrap_samples=20, seed=0, pairs=pairs[:1])
    assert m["ece"] == alone["ece"]  # the tie's p_chosen is not in it


def test_judgebench_scores_both_orders_with_no_extra_setting(tmp_path):
    """eval=judgebench on a local file in its schema: every pair judged as AB and BA under the
    default order policy, and upstream's two-game rule scores them."""
    rows = [
        {
            "pair_id": f"id-{n}",
            "original_id": n,
            "source": src,
            "question": f"question {n}?",
            "response_model": "gpt-4o-2024-05-13",
            "response_A": f"answer A {n}",
            "response_B": f"answer B {n}",
            "label": "A>B" if n % 2 else "B>A",
        }
        for n, src in enumerate(["mmlu-pro-math", "livebench-math", "livebench-reasoning", "livecodebench"])
    ]
    run, metrics = _evaluate_file(tmp_path, "judgebench", rows)
    protocol = metrics["judgebench"]["protocol"]
    assert protocol["orders"] == {"policy": "both", "shown": {"AB": 4, "BA": 4}}
    bench = metrics["_benchmarks"]["judgebench"]
    assert bench["n_items"] == 4 and set(bench["sections"]) == {"knowledge", "reasoning", "math", "coding"}
