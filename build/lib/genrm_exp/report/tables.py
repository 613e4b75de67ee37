"""The report's main table (runs x evaluation sets), benchmark sections, and the table printed at the
end of a run.

Cells of one column must have scored the same inputs: each set's fingerprint (metrics.json) is
compared across runs, and a cell whose fingerprint is not the column's most common one is marked
"≠" and listed under the table. Two baseline rows give the accuracy of picking the longer and the
shorter response (in characters), read from the runs' metrics.
"""

from __future__ import annotations

import math
from collections import Counter

from genrm_exp import scoring_protocol
from genrm_exp.report.protocols import MARK, column_protocols, protocol_markdown
from genrm_exp.report.runs import set_names
from genrm_exp.run_files import BENCHMARKS_KEY, run_entry, set_entries

MISMATCH = "≠"
# How benchmark keys of metrics.json's `_benchmarks` are titled in tables.
TITLES = {
    "rewardbench": "RewardBench",
    "rewardbench2": "RewardBench 2",
    "rmbench": "RM-Bench",
    "judgebench": "JudgeBench",
    "ppe_human": "PPE human preference",
    "ppe_correctness": "PPE correctness",
}
BASELINES = {"baseline_longer": "baseline: longer response", "baseline_shorter": "baseline: shorter response"}


def cell(entry: dict | None) -> str:
    """`71.2 [65.0, 77.1] n=100` from a metrics.json entry (accuracies in percent)."""
    if not entry or entry.get("accuracy") is None or math.isnan(entry["accuracy"]):
        return "-"
    lo, hi = entry["ci95"]
    return f"{100 * entry['accuracy']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] n={entry['n']}"


def benchmark_cell(entry: dict | None) -> str:
    if not entry or entry.get("score") is None:
        return "-"
    return f"{100 * entry['score']:.1f}{' (partial)' if entry.get('partial') else ''}"


def benchmarks(metrics: dict | None) -> dict:
    return (metrics or {}).get(BENCHMARKS_KEY, {})


def mismatches(runs: list[dict], sets: list[str]) -> dict[tuple[str, str], str]:
    """{(run name, set): why} for every cell whose set fingerprint differs from the column's most
    common one (a cell without a fingerprint, from an older run, is not judged)."""
    out = {}
    for name in sets:
        prints = {
            r["name"]: r["metrics"][name]["fingerprint"]
            for r in runs
            if r["metrics"] and "fingerprint" in r["metrics"].get(name, {})
        }
        if len(set(prints.values())) < 2:
            continue
        common = Counter(prints.values()).most_common(1)[0][0]
        out.update({(run, name): f"{fp} (most of the column: {common})" for run, fp in prints.items() if fp != common})
    return out


def _baseline_rows(runs: list[dict], sets: list[str], width: int) -> list[str]:
    rows = []
    for key, label in BASELINES.items():
        values = []
        for name in sets:
            found = [r["metrics"][name][key] for r in runs if r["metrics"] and key in r["metrics"].get(name, {})]
            values.append(f"{100 * Counter(found).most_common(1)[0][0]:.1f}" if found else "-")
        rows.append("| " + " | ".join([label, *values, *(["-"] * (width - len(sets) - 1))]) + " |")
    return rows


def markdown(runs: list[dict]) -> str:
    sets = set_names(runs)
    lines = [
        "# genrm-exp report",
        "",
        "Accuracy in % with 95% bootstrap intervals; a tie or invalid verdict counts 0.5. "
        "The baseline rows pick the longer (shorter) response of each pair.",
        "",
    ]
    header = ["run", *sets, "RewardBench", "objective s", "total s", "GPUs", "GPU-h", "gen. tokens"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += _baseline_rows(runs, sets, len(header))
    flagged = mismatches(runs, sets)
    columns, marked = column_protocols(runs, sets)
    for run in runs:
        m = run["metrics"]
        if m is None:
            error = run["error"].replace("|", "/")
            lines.append("| " + " | ".join([run["name"], f"FAILED: {error}", *(["-"] * (len(header) - 2))]) + " |")
            continue
        cost = run_entry(m)
        cells = [
            cell(m.get(s))
            + (f" {MISMATCH}" if (run["name"], s) in flagged else "")
            + (f" {MARK}" if (run["name"], s) in marked else "")
            for s in sets
        ]
        row = [
            run["name"],
            *cells,
            benchmark_cell(benchmarks(m).get("rewardbench")),
            *(
                _value(cost.get(k))
                for k in ("seconds_objective", "seconds_total", "gpus", "gpu_hours", "generated_tokens")
            ),
        ]
        lines.append("| " + " | ".join(row) + " |")
    failed = sum(r["metrics"] is None for r in runs)
    if failed:
        lines += ["", f"{failed} of {len(runs)} runs FAILED; each failed folder holds error.txt (the traceback)."]
    if flagged:
        lines += [
            "",
            f"{MISMATCH} These cells scored other inputs than the rest of their column (evaluation-set "
            "fingerprints differ: other pairs, or other text after fitting), so they are not comparable with it:",
            "",
        ]
        lines += [f"- {run} / {name}: {why}" for (run, name), why in sorted(flagged.items())]
    lines += protocol_markdown(columns, marked)
    lines += _sections(runs)
    return "\n".join(lines) + "\n"


def _sections(runs: list[dict]) -> list[str]:
    """One table of section scores per benchmark that any run has. Where rows lack sections others
    have (RewardBench 2's Ties is scored for scalar reward models only), a last column gives each row's
    mean over the sections every row has, the score the rows can be compared on."""
    lines: list[str] = []
    names = sorted({b for r in runs for b in benchmarks(r["metrics"])})
    for bench in names:
        rows = [(r["name"], benchmarks(r["metrics"])[bench]) for r in runs if bench in benchmarks(r["metrics"])]
        cols = sorted({s for _, entry in rows for s in entry.get("sections", {})})
        shared = [c for c in cols if all(c in entry.get("sections", {}) for _, entry in rows)]
        common = len(rows) > 1 and bool(shared) and len(shared) < len(cols)
        extra = [f"mean of the {len(shared)} sections all rows have"] if common else []
        lines += [
            "",
            f"## {TITLES.get(bench, bench)} sections",
            "",
            "| run | score | " + " | ".join([*cols, *extra]) + " | missing |",
            "|" + "---|" * (len(cols) + len(extra) + 3),
        ]
        for name, entry in rows:
            vals = [f"{100 * entry['sections'][c]:.1f}" if c in entry.get("sections", {}) else "-" for c in cols]
            if common:
                vals.append(f"{100 * math.fsum(entry['sections'][c] for c in shared) / len(shared):.1f}")
            missing = ", ".join(entry.get("missing_sections", [])) or "-"
            lines.append(f"| {name} | {benchmark_cell(entry)} | " + " | ".join(vals) + f" | {missing} |")
        if common:
            lines += [
                "",
                f"Comparable across rows: the mean over {', '.join(shared)} (each row's own score averages "
                "the sections it has).",
            ]
    return lines


def _value(v) -> str:
    """A cost cell: '-' when not recorded (older runs, or a count nobody made)."""
    return "-" if v is None else (f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v))


def print_metrics(results: dict, *, title: str) -> None:
    """The table printed at the end of a run (and when a finished run is reused)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    console.print(title)
    table = Table()
    for column in ("set", "accuracy % [95% CI]", "n", "extras"):
        table.add_column(column)
    for name, entry in set_entries(results):
        extras = ", ".join(f"{k}={_fmt(v)}" for k, v in entry.items() if k not in ("accuracy", "ci95", "n", "protocol"))
        table.add_row(name, cell(entry).rsplit(" n=", 1)[0], str(entry["n"]), extras)
    for bench, entry in benchmarks(results).items():
        sections = ", ".join(f"{k} {100 * v:.1f}" for k, v in entry.get("sections", {}).items())
        table.add_row(f"{TITLES.get(bench, bench)} (benchmark)", benchmark_cell(entry), "", sections)
    console.print(table)
    lines = {}
    for name, entry in set_entries(results):
        values = scoring_protocol.fields(entry.get("protocol"))
        values.pop("code", None)
        if values:
            lines.setdefault(scoring_protocol.line(values), []).append(name)
    for text, names in lines.items():
        console.print(f"protocol{'' if len(lines) == 1 else ' (' + ', '.join(names) + ')'}: {text}", highlight=False)


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
