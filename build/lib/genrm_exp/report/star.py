"""STaR curves for the report: accuracy against iteration, one line per STaR run, one panel per
evaluation set, from each run's iterations.json (genrm_exp/star/loop.py).

    python -m genrm_exp.report outputs/runs/star_sft outputs/runs/star_dpo    # report.md + star.png

A GRPO run (objective=grpo_judge) in the same report adds a panel of its reward curves beside
them (genrm_exp/report/rewards.py): STaR's accuracy per iteration next to GRPO's reward per step.

Iteration 0 is the base model (star.eval_base). Solid lines are maj@k (the vote over judge.k
chains), dashed lines maj@1 (the first chain alone).
"""

from __future__ import annotations

import json
from pathlib import Path


def star_histories(runs: list[dict]) -> list[tuple[str, list[dict]]]:
    """(run name, iterations.json) for every run that has one."""
    out = []
    for run in runs:
        path = Path(run["dir"]) / "iterations.json"
        if path.is_file():
            out.append((run["name"], json.loads(path.read_text(encoding="utf-8"))))
    return out


def _sets(histories) -> list[str]:
    names: list[str] = []
    for _, history in histories:
        for entry in history:
            names += [s for s in entry["eval"] if not s.startswith("_") and s not in names]
    return names


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def star_markdown(histories) -> str:
    """Per run and iteration: yield, kept (and their verdicts A / B as shown) / dropped, rationale
    length, training, accuracy per set."""
    if not histories:
        return ""
    sets = _sets(histories)
    lines = [
        "",
        "## STaR iterations",
        "",
        "Yield: share of pairs with at least one right chain. Kept A / B: the kept chains' verdicts as shown "
        "(a position-biased base keeps mostly one letter). Accuracy: maj@k / maj@1 in %.",
        "",
    ]
    header = [
        "run",
        "iter",
        "source",
        "yield %",
        "kept",
        "kept A / B",
        "dropped keys",
        "rationale tokens",
        "train steps",
        *sets,
    ]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, history in histories:
        for e in history:
            b, t, s = e.get("build", {}), e.get("train", {}), e.get("sample", {})
            dropped = sum(v for k, v in b.items() if k.startswith("dropped_keys"))
            accs = [
                f"{_pct(e['eval'][x]['accuracy'])} / {_pct(e['eval'][x].get('maj1_accuracy'))}"
                if x in e["eval"]
                else "-"
                for x in sets
            ]
            row = [
                name,
                str(e["iteration"]),
                s.get("source", "base model"),
                _pct(b.get("yield")),
                str(b.get("kept", "-")),
                "{A} / {B}".format(**b["kept_verdicts"]) if "kept_verdicts" in b else "-",
                str(dropped) if b else "-",
                f"{b['rationale_tokens_mean']:.0f}" if b else "-",
                str(t.get("steps", t.get("skipped", "-"))),
                *accs,
            ]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def star_chart(histories, path: Path, rewards=()) -> bool:
    """Accuracy against iteration per set, and beside them a panel of GRPO reward curves where
    `rewards` (report/rewards.py) has any; returns False (and writes nothing) with neither."""
    if not histories and not rewards:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genrm_exp.report.rewards import plot_rewards

    sets = _sets(histories)
    panels = len(sets) + bool(rewards)
    cols = min(3, panels)
    rows = -(-panels // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[panels:]:
        ax.set_visible(False)
    if rewards:
        plot_rewards(axes.flat[len(sets)], rewards)
    for ax, name in zip(axes.flat, sets):
        for i, (run, history) in enumerate(histories):
            points = [(e["iteration"], e["eval"][name]) for e in history if name in e["eval"]]
            x = [p[0] for p in points]
            color = f"C{i % 10}"
            ax.plot(x, [100 * p[1]["accuracy"] for p in points], "o-", color=color, label=f"{run[:40]} maj@k")
            maj1 = [(xi, p["maj1_accuracy"]) for xi, (_, p) in zip(x, points) if p.get("maj1_accuracy") is not None]
            if maj1:
                ax.plot(
                    [m[0] for m in maj1],
                    [100 * m[1] for m in maj1],
                    "x--",
                    color=color,
                    alpha=0.6,
                    label=f"{run[:40]} maj@1",
                )
        ax.axhline(50, color="grey", lw=0.8, ls=":")
        ax.set_title(name)
        ax.set_xlabel("STaR iteration")
        ax.set_ylim(0, 100)
        ax.set_xticks(sorted({e["iteration"] for _, h in histories for e in h}))
    if sets:
        for row in axes:
            row[0].set_ylabel("accuracy %")
        axes.flat[len(sets) - 1].legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
