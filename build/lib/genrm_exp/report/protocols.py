"""How each column of the report was scored: one protocol line per evaluation set, and a mark on
every cell scored otherwise than its column for a reason no sweep chose.

    python -m genrm_exp.report outputs/multirun/<time>       # report.md: "How each column was scored"

A cell's protocol is its set's `protocol` in metrics.json (genrm_exp/scoring_protocol.py: the
judge, the order policy, k and the vote, the sampling engine and its dtype, the fit, the code).
The settings a sweep varies are read from each sweep folder's multirun.yaml (Hydra's record of the
command: `objective=bt,genrm judge.k=4,8`, and the sweeper's params of an experiment); differences
in the fields those settings decide are the point of the sweep and are not marked.
"""

from __future__ import annotations

from pathlib import Path

from genrm_exp import scoring_protocol

MARK = "†"


def sweep_axes(runs: list[dict]) -> set[str]:
    """Setting keys varied by the sweeps the runs belong to (`judge.k`, `objective`, ...)."""
    import yaml
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    axes: set[str] = set()
    seen: set[Path] = set()
    for run in runs:
        for folder in Path(run["dir"]).resolve().parents:
            record = folder / "multirun.yaml"
            if record.is_file():
                if folder not in seen:
                    seen.add(folder)
                    hydra = (yaml.safe_load(record.read_text(encoding="utf-8")) or {}).get("hydra", {})
                    task = list((hydra.get("overrides") or {}).get("task") or [])
                    params = (hydra.get("sweeper") or {}).get("params") or {}
                    task += [f"{k}={v}" for k, v in params.items()]
                    axes |= {o.key_or_group.lstrip("+~") for o in parser.parse_overrides(task) if o.is_sweep_override()}
                break
    return axes


def column_protocols(
    runs: list[dict], sets: list[str]
) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], list[str]]]:
    """({set: the column's protocol fields}, {(run name, set): [how the cell differs]})."""
    swept = sweep_axes(runs)
    columns: dict[str, dict[str, str]] = {}
    marked: dict[tuple[str, str], list[str]] = {}
    for name in sets:
        cells = {
            r["name"]: scoring_protocol.fields(r["metrics"][name].get("protocol"))
            for r in runs
            if r["metrics"] and name in r["metrics"]
        }
        cells = {k: v for k, v in cells.items() if v}
        if not cells:
            continue
        columns[name], differ = scoring_protocol.differences(cells, swept)
        marked.update({(run, name): why for run, why in differ.items()})
    return columns, marked


def protocol_markdown(columns: dict[str, dict[str, str]], marked: dict[tuple[str, str], list[str]]) -> list[str]:
    if not columns:
        return []
    lines = [
        "",
        "## How each column was scored",
        "",
        "The protocol of each evaluation set (metrics.json `<set>.protocol`): the judge, the order policy every "
        "pairwise judge obeys, the vote, the sampling engine and its dtype, the weights' dtype, the fit and the code "
        "version. Fields a sweep varies on purpose say so.",
        "",
        "| sets | protocol |",
        "|---|---|",
    ]
    grouped: dict[str, list[str]] = {}
    for name, values in columns.items():  # columns scored alike share a line
        grouped.setdefault(scoring_protocol.line(values), []).append(name)
    lines += [f"| {', '.join(names)} | {text} |" for text, names in grouped.items()]
    if marked:
        lines += [
            "",
            f"{MARK} These cells were scored otherwise than the rest of their column, for a reason no sweep "
            "chose, so they are not comparable with it:",
            "",
        ]
        lines += [f"- {run} / {name}: {'; '.join(why)}" for (run, name), why in sorted(marked.items())]
    return lines
