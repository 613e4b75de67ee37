"""python -m genrm_exp.report DIR [DIR ...] [--out FOLDER]: report.md and its charts (genrm_exp/report)."""

from __future__ import annotations

import argparse
from pathlib import Path

from genrm_exp.report import __doc__ as DOC
from genrm_exp.report.charts import chart
from genrm_exp.report.judges import calibration, calibration_markdown, judge_markdown, reliability_chart
from genrm_exp.report.rewards import reward_histories, reward_markdown
from genrm_exp.report.runs import find_runs, short_names
from genrm_exp.report.star import star_chart, star_histories, star_markdown
from genrm_exp.report.tables import markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genrm_exp.report", description=DOC.strip().split("\n")[0])
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
    histories, rewards = star_histories(runs), reward_histories(runs)
    cal = calibration([r for r in runs if r["metrics"]])
    (out / "report.md").write_text(
        markdown(runs)
        + judge_markdown(runs)
        + calibration_markdown(cal)
        + star_markdown(histories)
        + reward_markdown(rewards)
    )
    if reliability_chart(cal, out / "reliability.png"):
        print(f"wrote {out / 'reliability.png'} (calibration of P(chosen))")
    chart(runs, out / "report.png")
    if star_chart(histories, out / "star.png", rewards):
        print(f"wrote {out / 'star.png'} (STaR accuracy per iteration, GRPO rewards per step)")
    print((out / "report.md").read_text())
    print(f"wrote {out / 'report.md'} and {out / 'report.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
