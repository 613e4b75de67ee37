"""What a run folder holds, by name, and the schema of its metrics.json: one place that evaluation,
the pipeline, STaR, the report and `genrm_exp.evaluate` read and write through.

    results: MetricsFile = read_metrics(run_dir)
    for name, entry in set_entries(results): entry["accuracy"], entry["protocol"]["fit"]

metrics.json is written last (atomically), so a folder holding it holds a finished run:

    {"<set>": SetEntry, ...,                     every evaluation set by name
     "_benchmarks": {"<source>": BenchmarkEntry}, benchmark scores pooled over sets
     "_run": RunEntry}                            what ran, with what, at what cost

Test: python -m pytest tests/test_evaluation.py -q
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypedDict

METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.yaml"
DATA_FILE = "data.json"
# Written into the run folder when the job raises; genrm_exp.report shows its last line.
ERROR_FILE = "error.txt"
PREDICTIONS_DIR = "predictions"
RUN_KEY = "_run"
BENCHMARKS_KEY = "_benchmarks"


class SetEntry(TypedDict, total=False):
    """One evaluation set (genrm_exp/evaluation.py set_metrics); judges add their own counts."""

    accuracy: float
    ci95: list[float]
    n: int
    fingerprint: str  # data/fingerprint.py: the pairs as scored
    protocol: dict[str, Any]  # scoring_protocol.py: how they were scored
    baseline_longer: float
    baseline_shorter: float
    accuracy_maj1: float
    ece: float


class BenchmarkEntry(TypedDict, total=False):
    """A benchmark's score (genrm_exp/benchmarks): sections, the score, what is missing."""

    score: float | None
    sections: dict[str, float]
    n_items: int
    rule: str
    partial: bool
    missing_sections: list[str]


class RunEntry(TypedDict, total=False):
    """What ran (genrm_exp/pipeline.py) and what it cost (genrm_exp/costs.py)."""

    objective: str
    model: str
    run_name: str
    overrides: list[str]
    train_pairs: int
    learning_rate: float | None
    engine: dict[str, str]  # judge.engine: backend, dtype, reason
    code: dict[str, Any]  # code_version.py: source, commit, dirty
    seconds_total: float
    seconds_objective: float  # training, and STaR's sampling and per-iteration evaluation
    seconds_eval: float
    generated_tokens: int | None


MetricsFile = dict[str, Any]  # set names -> SetEntry, RUN_KEY -> RunEntry, BENCHMARKS_KEY -> {source: BenchmarkEntry}


def set_entries(results: Mapping) -> Iterator[tuple[str, SetEntry]]:
    """(set name, metrics) of every evaluation set in a metrics.json dict (keys starting with "_"
    hold the run's record and benchmark scores)."""
    for name, entry in results.items():
        if not name.startswith("_") and isinstance(entry, dict):
            yield name, entry


def run_entry(results: Mapping) -> RunEntry:
    return results.get(RUN_KEY) or {}


def benchmark_entries(results: Mapping) -> dict[str, BenchmarkEntry]:
    return results.get(BENCHMARKS_KEY) or {}


def read_metrics(run_dir: Path) -> MetricsFile:
    return json.loads((Path(run_dir) / METRICS_FILE).read_text(encoding="utf-8"))
