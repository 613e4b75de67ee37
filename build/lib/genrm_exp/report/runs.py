"""Run folders below the given roots, with their metrics, and labels for the report's rows.

runs = find_runs([Path("outputs/multirun/2026-11-26_10-00-00")]); short_names(runs)
"""

from __future__ import annotations

import json
from pathlib import Path

from genrm_exp.run_files import ERROR_FILE, run_entry, set_entries


def find_runs(roots: list[Path]) -> list[dict]:
    runs = []
    for root in roots:
        for config in sorted(root.rglob("config.yaml")):
            if ".hydra" in config.parts or "wandb" in config.parts:
                continue
            folder = config.parent
            metrics_file = folder / "metrics.json"
            metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else None
            info = run_entry(metrics or {})
            run = {
                "dir": folder,
                "name": info.get("run_name") or folder.name,
                "metrics": metrics,
                "objective": info.get("objective", ""),
                "overrides": info.get("overrides"),
                # genrm_exp.evaluate's folders: RUN_DIR/evals/<name>/
                "evaluation": folder.name if folder.parent.name == "evals" and "evaluated" in info else None,
            }
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
    error_file = folder / ERROR_FILE
    lines = error_file.read_text().strip().splitlines() if error_file.is_file() else []
    error = lines[-1][:160] if lines else "no metrics.json and no error.txt: running, or killed"
    return {"objective": objective, "overrides": overrides, "error": error}


def short_names(runs: list[dict]) -> None:
    """Label runs by their objective and the overrides that differ between them (a sweep's axes;
    the objective leads the label, so its own override is not repeated)."""
    known = [r for r in runs if r["overrides"] is not None]
    common = set.intersection(*(set(r["overrides"]) for r in known)) if len(known) > 1 else set()
    for run in known:
        hidden = common | {o for o in run["overrides"] if o.startswith(("hydra.", "paths.", "objective="))}
        run["name"] = ",".join([run["objective"], *(o for o in run["overrides"] if o not in hidden)])
        if run.get("evaluation"):
            run["name"] += f" [evaluate {run['evaluation']}]"


def set_names(runs: list[dict]) -> list[str]:
    names: list[str] = []
    for run in runs:
        names += [name for name, _ in set_entries(run["metrics"] or {}) if name not in names]
    return names
