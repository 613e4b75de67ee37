"""Format metrics as text: the table printed at the end of a run, and markdown cells for reports."""

from __future__ import annotations

import math


def cell(entry: dict | None) -> str:
    """`71.2 [65.0, 77.1] n=100` from a metrics.json entry (accuracies in percent)."""
    if not entry or entry.get("accuracy") is None or math.isnan(entry["accuracy"]):
        return "-"
    lo, hi = entry["ci95"]
    return f"{100 * entry['accuracy']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] n={entry['n']}"


def rewardbench_cell(entry: dict | None) -> str:
    if not entry or entry.get("score") is None:
        return "-"
    return f"{100 * entry['score']:.1f}{' (partial)' if entry.get('partial') else ''}"


def print_metrics(results: dict, *, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    console.print(title)
    table = Table()
    for column in ("set", "accuracy % [95% CI]", "n", "extras"):
        table.add_column(column)
    for name, entry in results.items():
        if name.startswith("_") or name == "rewardbench":
            continue
        extras = ", ".join(f"{k}={_fmt(v)}" for k, v in entry.items() if k not in ("accuracy", "ci95", "n"))
        table.add_row(name, cell(entry).rsplit(" n=", 1)[0], str(entry["n"]), extras)
    if "rewardbench" in results:
        rb = results["rewardbench"]
        sections = ", ".join(f"{k} {100 * v:.1f}" for k, v in rb["sections"].items())
        table.add_row("RewardBench", rewardbench_cell(rb), "", sections)
    console.print(table)


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
