"""Judge diagnostics for the report: position bias, invalid verdicts, maj@1 against maj@k, and the
calibration of the preference probability (a reliability diagram over every run's predictions).

    python -m genrm_exp.report outputs/runs/genrm outputs/runs/bt    # report.md + reliability.png

The reliability diagram reads each run's predictions/<set>.jsonl (p_chosen per pair, pooled over
its sets) and bins it as genrm_exp.metrics.reliability_bins does: confidence = max(p, 1 - p) against
the share of pairs where the favoured side was the chosen response.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from genrm_exp import metrics
from genrm_exp.evaluation import set_entries

# metrics.json keys shown in the judge table, with their column titles.
JUDGE_COLUMNS = {
    "accuracy_maj1": "maj@1 %",
    "accuracy": "maj@k / acc %",
    "k": "k",
    "a_rate": "A-rate",
    "position_consistency": "pos. consistency",
    "invalid_rate": "invalid",
    "closed_rate": "closed",
    "verdict_mass": "P(A)+P(B)",
    "ece": "ECE",
}


def pooled_probs(run_dir: Path) -> list[float]:
    """p_chosen of every prediction of a run (all sets), skipping records without one and ties (a
    tie has no winner to be calibrated against)."""
    probs: list[float] = []
    for path in sorted((run_dir / "predictions").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record.get("p_chosen") is not None and not record.get("tie"):
                probs.append(float(record["p_chosen"]))
    return probs


def _fmt(key: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if key.startswith("accuracy"):
        return f"{100 * value:.1f}"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def judge_markdown(runs: list[dict]) -> str:
    """A table per run and set of the judge extras present in metrics.json ('' when no run has any)."""
    rows = []
    for run in runs:
        for name, entry in set_entries(run["metrics"] or {}):
            if not any(k in entry for k in ("a_rate", "position_consistency", "accuracy_maj1")):
                continue
            rows.append("| " + " | ".join([run["name"], name, *(_fmt(k, entry.get(k)) for k in JUDGE_COLUMNS)]) + " |")
    if not rows:
        return ""
    header = ["run", "set", *JUDGE_COLUMNS.values()]
    return (
        "\n".join(
            [
                "",
                "## Judges: position bias, invalid verdicts, voting",
                "",
                "A-rate: share of valid verdicts naming the response shown first (0.5 = no position preference); "
                "position consistency: pairs whose verdict survives swapping the order (judge.order=both); "
                "closed: share of chains that ended without a verdict and were given one from the model's "
                "A/B odds (judge.close_verdict, not the paper's method).",
                "",
                "| " + " | ".join(header) + " |",
                "|" + "---|" * len(header),
                *rows,
            ]
        )
        + "\n"
    )


def calibration(runs: list[dict], n_bins: int = 10) -> list[tuple[str, list[dict], float, int]]:
    """(run name, reliability bins, ECE, pairs) for every run with probabilities in its predictions."""
    out = []
    for run in runs:
        probs = pooled_probs(Path(run["dir"]))
        if probs:
            out.append(
                (
                    run["name"],
                    metrics.reliability_bins(probs, n_bins),
                    metrics.expected_calibration_error(probs, n_bins),
                    len(probs),
                )
            )
    return out


def calibration_markdown(cal) -> str:
    if not cal:
        return ""
    lines = [
        "",
        "## Calibration of P(chosen) (all sets pooled; reliability.png)",
        "",
        "| run | ECE | pairs | mean confidence | accuracy of the favoured side |",
        "|---|---|---|---|---|",
    ]
    for name, bins, ece, n in cal:
        filled = [b for b in bins if b["count"]]
        conf = sum(b["mean_confidence"] * b["count"] for b in filled) / n
        acc = sum(b["accuracy"] * b["count"] for b in filled) / n
        lines.append(f"| {name} | {ece:.3f} | {n} | {conf:.3f} | {acc:.3f} |")
    return "\n".join(lines) + "\n"


def reliability_chart(cal, path: Path) -> bool:
    """Accuracy against confidence per bin, one line per run, the diagonal for perfect calibration."""
    if not cal:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0.5, 1.0], [0.5, 1.0], color="grey", lw=0.8, ls="--", label="perfectly calibrated")
    for name, bins, ece, _ in cal:
        filled = [b for b in bins if b["count"]]
        ax.plot(
            [b["mean_confidence"] for b in filled],
            [b["accuracy"] for b in filled],
            marker="o",
            label=f"{name[:40]} (ECE {ece:.3f})",
        )
    ax.set_xlabel("confidence max(p, 1 - p)")
    ax.set_ylabel("accuracy of the favoured response")
    ax.set_xlim(0.5, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
