"""Tables and charts from run folders.

    python -m genrm_exp.report outputs/multirun/2026-11-26_10-00-00 [more run or multirun dirs]

Finds every run (a folder with config.yaml) below the given folders, and writes report.md
(methods x evaluation sets, accuracy with 95% intervals, RewardBench sections, and the cost of
each cell: train and total seconds, GPUs, GPU-hours, generated tokens) and
report.png (accuracy per set with the intervals as error bars) into the first folder, or --out;
for STaR runs also a per-iteration table and star.png (accuracy against iteration, report_plots.py);
for judges a table of position bias / invalid verdicts / maj@1 vs maj@k and reliability.png (report_judges.py).
A run without metrics.json is listed as FAILED with the last line of its error.txt.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from genrm_exp.report_judges import calibration, calibration_markdown, judge_markdown, reliability_chart
from genrm_exp.report_plots import star_chart, star_histories, star_markdown
from genrm_exp.report_table import cell, rewardbench_cell


def find_runs(roots: list[Path]) -> list[dict]:
    runs = []
    for root in roots:
        for config in sorted(root.rglob("config.yaml")):
            if ".hydra" in config.parts or "wandb" in config.parts:
                continue
            folder = config.parent
            metrics_file = folder / "metrics.json"
            metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else None
            info = (metrics or {}).get("_run", {})
            run = {"dir": folder, "name": info.get("run_name") or folder.name, "metrics": metrics,
                   "objective": info.get("objective", ""), "overrides": info.get("overrides")}
            if metrics is None:
                run.update(failed_run(folder, config))
            runs.append(run)
    return runs


def failed_run(folder: Path, config: Path) -> dict:
    """What a run without metrics.json still tells: its overrides (Hydra writes them first), its
    objective, and the last line of error.txt (none: still running, or killed)."""
    import yaml

    overrides_file = folder / ".hydra" / "overrides.yaml"
    overrides = yaml.safe_load(overrides_file.read_text()) if overrides_file.is_file() else None
    objective = ((yaml.safe_load(config.read_text()) or {}).get("objective") or {}).get("name", "")
    error_file = folder / "error.txt"
    lines = error_file.read_text().strip().splitlines() if error_file.is_file() else []
    error = lines[-1][:160] if lines else "no metrics.json and no error.txt: running, or killed"
    return {"objective": objective, "overrides": overrides, "error": error}


def short_names(runs: list[dict]) -> None:
    """Label runs by their objective and the overrides that differ between them (a sweep's axes)."""
    known = [r for r in runs if r["overrides"] is not None]
    common = set.intersection(*(set(r["overrides"]) for r in known)) if len(known) > 1 else set()
    for run in known:
        hidden = common | {o for o in run["overrides"] if o.startswith(("hydra.", "paths."))}
        run["name"] = ",".join([run["objective"], *(o for o in run["overrides"] if o not in hidden)])


def set_names(runs: list[dict]) -> list[str]:
    names: list[str] = []
    for run in runs:
        for key in run["metrics"] or {}:
            if not key.startswith("_") and key != "rewardbench" and key not in names:
                names.append(key)
    return names


def markdown(runs: list[dict]) -> str:
    sets = set_names(runs)
    lines = ["# genrm-exp report", "", "Accuracy in % with 95% bootstrap intervals; a tie or invalid verdict counts 0.5.", ""]
    header = ["run", *sets, "RewardBench", "train s", "total s", "GPUs", "GPU-h", "gen. tokens"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for run in runs:
        m = run["metrics"]
        if m is None:
            error = run["error"].replace("|", "/")
            lines.append("| " + " | ".join([run["name"], f"FAILED: {error}", *(["-"] * (len(header) - 2))]) + " |")
            continue
        cost = m.get("_run", {})
        row = [run["name"], *(cell(m.get(s)) for s in sets), rewardbench_cell(m.get("rewardbench")),
               *(_value(cost.get(k)) for k in ("seconds_train", "seconds_total", "gpus", "gpu_hours", "generated_tokens"))]
        lines.append("| " + " | ".join(row) + " |")
    failed = sum(r["metrics"] is None for r in runs)
    if failed:
        lines += ["", f"{failed} of {len(runs)} runs FAILED; each failed folder holds error.txt (the traceback)."]
    sections = [(r["name"], r["metrics"]["rewardbench"]) for r in runs if r["metrics"] and "rewardbench" in r["metrics"]]
    if sections:
        names = sorted({s for _, rb in sections for s in rb["sections"]})
        lines += ["", "## RewardBench sections", "", "| run | " + " | ".join(names) + " | missing |", "|" + "---|" * (len(names) + 2)]
        for name, rb in sections:
            vals = [f"{100 * rb['sections'][s]:.1f}" if s in rb["sections"] else "-" for s in names]
            lines.append(f"| {name} | " + " | ".join(vals) + f" | {', '.join(rb['missing_sections']) or '-'} |")
    return "\n".join(lines) + "\n"


def _value(v) -> str:
    """A cost cell: '-' when not recorded (older runs, or a count nobody made)."""
    return "-" if v is None else (f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v))


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genrm_exp.report", description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="folder for report.md and report.png")
    args = parser.parse_args(argv)
    for d in args.dirs:
        if not d.is_dir():
            parser.error(f"{d} is not a folder")
    runs = find_runs(args.dirs)
    if not runs:
        parser.error(f"no run folders (with config.yaml) under {', '.join(map(str, args.dirs))}")
    short_names(runs)
    out = args.out or args.dirs[0]
    out.mkdir(parents=True, exist_ok=True)
    histories = star_histories(runs)
    cal = calibration([r for r in runs if r["metrics"]])
    (out / "report.md").write_text(markdown(runs) + judge_markdown(runs) + calibration_markdown(cal) + star_markdown(histories))
    if reliability_chart(cal, out / "reliability.png"):
        print(f"wrote {out / 'reliability.png'} (calibration of P(chosen))")
    chart(runs, out / "report.png")
    if star_chart(histories, out / "star.png"):
        print(f"wrote {out / 'star.png'} (STaR accuracy per iteration)")
    print((out / "report.md").read_text())
    print(f"wrote {out / 'report.md'} and {out / 'report.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
