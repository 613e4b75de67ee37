"""Accuracy per evaluation set with 95% intervals as error bars, one bar per run (report.png)."""

from __future__ import annotations

from pathlib import Path

from genrm_exp.report.runs import set_names


def chart(runs: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ok = [r for r in runs if r["metrics"]]
    sets = set_names(ok)
    if not ok or not sets:
        return
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(sets) * max(1, len(ok)) / 2), 4))
    width = 0.8 / len(ok)
    x = np.arange(len(sets))
    for i, run in enumerate(ok):
        acc = np.array([run["metrics"].get(s, {}).get("accuracy", np.nan) for s in sets], dtype=float) * 100
        ci = [run["metrics"].get(s, {}).get("ci95", [np.nan, np.nan]) for s in sets]
        err = np.array([[a - 100 * c[0], 100 * c[1] - a] for a, c in zip(acc, ci)]).T
        ax.bar(x + i * width, acc, width, yerr=err, capsize=2, label=run["name"][:40])
    ax.axhline(50, color="grey", lw=0.8, ls="--")
    ax.set_xticks(x + width * (len(ok) - 1) / 2, sets, rotation=30, ha="right")
    ax.set_ylabel("accuracy % (95% CI)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
