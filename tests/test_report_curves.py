"""The report's training curves: STaR's accuracy per iteration and GRPO's reward per step, read from
the files the runs write (iterations.json, train/trainer_state.json), in report.md and star.png.

    python -m pytest tests/test_report_curves.py -q
"""

from __future__ import annotations

import json

from genrm_exp.report.rewards import reward_histories, reward_markdown
from genrm_exp.report.star import star_chart, star_histories, star_markdown


def _grpo_run(folder):
    (folder / "train").mkdir(parents=True)
    log = [
        {
            "step": s,
            "rewards/verdict_correct/mean": v,
            "rewards/both_orders_correct/mean": v / 2,
            "completions/mean_length": 9.0,
        }
        for s, v in ((1, 0.25), (2, 0.5), (3, 0.75))
    ]
    log.append({"step": 3, "train_runtime": 1.0})  # the closing entry TRL adds: no reward in it
    (folder / "train" / "trainer_state.json").write_text(json.dumps({"log_history": log}))
    return {"dir": folder, "name": "grpo_judge"}


def _star_run(folder):
    folder.mkdir(parents=True)
    history = [
        {"iteration": 0, "eval": {"heldout": {"accuracy": 0.5, "maj1_accuracy": 0.5}}},
        {
            "iteration": 1,
            "eval": {"heldout": {"accuracy": 0.7, "maj1_accuracy": 0.7}},
            "build": {"yield": 0.75, "kept": 89, "kept_verdicts": {"A": 61, "B": 28}, "rationale_tokens_mean": 6.0},
        },
    ]
    (folder / "iterations.json").write_text(json.dumps(history))
    return {"dir": folder, "name": "star_sft"}


def test_grpo_rewards_sit_beside_star_iterations(tmp_path):
    runs = [_star_run(tmp_path / "star"), _grpo_run(tmp_path / "grpo")]
    rewards = reward_histories(runs)
    assert [name for name, _ in rewards] == ["grpo_judge"]  # the STaR run logs no rewards
    curves = rewards[0][1]
    assert curves["verdict_correct"] == [(1, 0.25), (2, 0.5), (3, 0.75)]
    assert curves["both_orders_correct"][-1] == (3, 0.375) and curves["length"][0] == (1, 9.0)
    text = reward_markdown(rewards)
    assert "| grpo_judge | verdict_correct | 3 | 0.250 | 0.750 | 0.750 |" in text
    table = star_markdown(star_histories(runs))
    assert "## STaR iterations" in table and "| 75.0 | 89 | 61 / 28 | 0 | 6 |" in table  # kept A / B
    assert star_chart(star_histories(runs), tmp_path / "star.png", rewards)
    assert (tmp_path / "star.png").stat().st_size > 1000


def test_a_grpo_run_alone_still_gets_its_panel_and_no_run_gets_none(tmp_path):
    rewards = reward_histories([_grpo_run(tmp_path / "grpo")])
    assert star_chart([], tmp_path / "only.png", rewards) and (tmp_path / "only.png").is_file()
    assert not star_chart([], tmp_path / "none.png", []) and not (tmp_path / "none.png").exists()
    assert reward_markdown([]) == ""
