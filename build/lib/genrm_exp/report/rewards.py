"""GRPO reward curves for the report: each reward function's mean per logged step, from the run's
train/trainer_state.json (TRL's log_history: rewards/<name>/mean; genrm_exp/objectives/grpo_judge.py).

    python -m genrm_exp.report outputs/multirun/DATE    # report.md's "GRPO rewards" + the panel in star.png
"""

from __future__ import annotations

import json
from pathlib import Path

PREFIX, SUFFIX = "rewards/", "/mean"


def reward_histories(runs: list[dict]) -> list[tuple[str, dict[str, list[tuple[int, float]]]]]:
    """(run name, {reward name: [(step, mean)]}) for every run whose trainer state logs rewards; the
    completions' mean length rides along as "length"."""
    out = []
    for run in runs:
        path = Path(run["dir"]) / "train" / "trainer_state.json"
        if not path.is_file():
            continue
        curves: dict[str, list[tuple[int, float]]] = {}
        for entry in json.loads(path.read_text(encoding="utf-8")).get("log_history", []):
            for key, value in entry.items():
                if key.startswith(PREFIX) and key.endswith(SUFFIX):
                    curves.setdefault(key[len(PREFIX) : -len(SUFFIX)], []).append((entry["step"], float(value)))
            if "completions/mean_length" in entry:
                curves.setdefault("length", []).append((entry["step"], float(entry["completions/mean_length"])))
        if any(name != "length" for name in curves):
            out.append((run["name"], curves))
    return out


def reward_markdown(histories) -> str:
    """Per run and reward: logged steps, first, last and best mean."""
    if not histories:
        return ""
    lines = [
        "",
        "## GRPO rewards",
        "",
        "Mean reward per logged step (TRL's rewards/<name>/mean); length: mean completion tokens.",
        "",
        "| run | reward | steps | first | last | best |",
        "|---|---|---|---|---|---|",
    ]
    for name, curves in histories:
        for reward, points in curves.items():
            values = [v for _, v in points]
            best = min(values) if reward == "length" else max(values)
            lines.append(f"| {name} | {reward} | {len(points)} | {values[0]:.3f} | {values[-1]:.3f} | {best:.3f} |")
    return "\n".join(lines) + "\n"


def plot_rewards(ax, histories) -> None:
    """One line per (run, reward) against the training step, on `ax`."""
    for i, (run, curves) in enumerate(histories):
        for j, (reward, points) in enumerate(r for r in curves.items() if r[0] != "length"):
            ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                ["o-", "s--", "^:"][j % 3],
                color=f"C{i % 10}",
                ms=3,
                label=f"{run[:30]} {reward}",
            )
    ax.set_title("GRPO rewards")
    ax.set_xlabel("training step")
    ax.set_ylabel("mean reward")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=6, loc="lower right")
