"""The protocol of each scored set: what it records per kind of judge, and which report cells it marks.
Pure functions over composed configs and hand-made protocols (milliseconds)."""

from __future__ import annotations

import yaml
from support import compose

from genrm_exp import scoring_protocol as sp
from genrm_exp.report.protocols import column_protocols, protocol_markdown, sweep_axes

ENGINE = {"backend": "static", "dtype": "float32", "reason": "judge.backend=static"}
FIT = {"rule": "shared", "max_length": 96, "truncation": "truncate", "truncated": 3, "dropped": 0}
CODE = {"source": "sha256:abc", "commit": "0123456789abcdef", "dirty": False}


def protocol(overrides: list[str], records=({"orders": ["AB", "BA"]},)) -> dict:
    cfg = compose(["model=tiny_random", *overrides])
    cfg.judge.engine = ENGINE
    return sp.set_protocol(sp.judge_protocol(cfg, "cpu"), list(records), fit=FIT, code=CODE)


def test_each_kind_of_judge_records_what_decides_its_score():
    direct = protocol(["objective=genrm"])
    assert direct["judge"] == "direct" and direct["orders"] == {"policy": "both", "shown": {"AB": 1, "BA": 1}}
    assert "sampling" not in direct and direct["fit"] == FIT and direct["code"] == CODE
    cot = protocol(["objective=zero_shot_cot", "judge.k=4"])
    assert cot["judge"] == "cot" and cot["votes"] == "majority of k=4 chains per order shown"
    assert cot["sampling"]["engine"] == "static" and cot["sampling"]["dtype"] == "float32"
    bt = protocol(["objective=bt"], records=({},))
    assert bt["judge"] == "reward" and "orders" not in bt and bt["dtype"] == "float32"
    pair_rm = protocol(["objective=pair_rm"])
    assert pair_rm["judge"] == "classifier" and pair_rm["orders"]["policy"] == "both"
    line = sp.line(sp.fields(cot))
    assert line.startswith("judge cot; votes majority of k=4") and "sampling static float32, T=" in line
    assert "fit shared 96 (truncate)" in line and "code 0123456789 sha256:abc" in line


def cells(**changed) -> dict[str, dict[str, str]]:
    """Seven cells of a grid over the objective, scored alike; `changed` gives one cell other fields."""
    names = ("bt", "pair_rm", "genrm", "zero_shot", "zero_shot_cot", "star_sft", "star_dpo")
    out = {name: sp.fields(protocol([f"objective={name}"])) for name in names}
    for name, overrides in changed.items():
        out[name] = sp.fields(protocol([f"objective={name}", *overrides]))
    return out


def test_a_grid_that_varies_only_its_axis_has_no_mark():
    column, differ = sp.differences(cells(), swept={"objective"})
    assert differ == {} and column["orders"] == "both" and column["fit"] == "shared 96 (truncate)"
    assert "votes (direct)" in column and "votes (cot)" in column  # compared per kind of judge, never across


def test_one_changed_judge_setting_marks_exactly_that_cell():
    _, differ = sp.differences(cells(genrm=["judge.order=random"]), swept={"objective"})
    assert differ == {"genrm": ["orders: random"]}
    _, differ = sp.differences(cells(zero_shot_cot=["judge.temperature=0.3"]), swept={"objective"})
    assert list(differ) == ["zero_shot_cot"] and differ["zero_shot_cot"][0].startswith(
        "sampling (cot): static float32, T=0.3"
    )
    # A sweep over the order varies the field on purpose: no mark, and the column says so.
    column, differ = sp.differences(cells(genrm=["judge.order=random"]), swept={"objective", "judge.order"})
    assert differ == {} and column["orders"] == "varied by the sweep"


def test_other_code_marks_the_cell_made_by_it():
    grid = cells()
    grid["bt"] = {**grid["bt"], "code": "fedcba9876+dirty sha256:old"}
    _, differ = sp.differences(grid, swept={"objective"})
    assert differ == {"bt": ["code: fedcba9876+dirty sha256:old"]}


def test_the_report_reads_the_sweep_axes_and_marks_the_odd_cell(tmp_path):
    sweep = tmp_path / "sweep"
    (sweep / "0").mkdir(parents=True)
    record = {
        "hydra": {
            "overrides": {"task": ["objective=bt,genrm,zero_shot", "model=tiny_random"]},
            "sweeper": {"params": {"judge.k": "2,4"}},
        }
    }
    (sweep / "multirun.yaml").write_text(yaml.safe_dump(record))
    assert sweep_axes([{"dir": str(sweep / "0")}]) == {"objective", "judge.k"}
    runs = [
        {"name": name, "dir": str(sweep / "0"), "metrics": {"heldout": {"protocol": protocol([f"objective={name}"])}}}
        for name in ("bt", "genrm", "zero_shot")
    ]
    runs[2]["metrics"]["heldout"]["protocol"]["fit"] = {**FIT, "rule": "per_response_left"}
    columns, marked = column_protocols(runs, ["heldout"])
    assert marked == {("zero_shot", "heldout"): ["fit: per_response_left 96 (truncate)"]}
    text = "\n".join(protocol_markdown(columns, marked))
    assert "| heldout | orders both; " in text and "- zero_shot / heldout: fit: per_response_left 96 (truncate)" in text
