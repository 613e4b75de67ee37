"""Stages of a STaR run: each writes its outputs atomically and marks itself done last.

    stages = Stages(run_dir / "iter_1")
    info = stages.run("sample", lambda: {"kept": 12})   # runs fn once; on a rerun returns the record

A stage is done when ``<folder>/.stages/<name>.json`` exists. The stage function writes its own
outputs (each to a temporary name then ``os.replace``, or appended and fsynced, see sampling.py) and
returns a small JSON-ready dict; the record holding that dict is written after the function returns,
by rename, so a process killed at any point leaves either a finished stage (skipped on the rerun) or
an unfinished one (run again; it may reuse what it already wrote).

``fault_after`` is a test-only knob (``star.fault.kill_after_stage``): the process kills itself with
SIGKILL right after marking the named stage (``"1/train"``) done, as a crash or ``kill -9`` would.

Test: python -m pytest tests/star/test_stages.py -q
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path

from genrm_exp.evaluation import write_json_atomic

MARKERS = ".stages"


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def replace_dir(tmp: Path, final: Path) -> None:
    """Move a finished folder into place, replacing what an interrupted earlier attempt left there."""
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)


def fresh_dir(path: Path) -> Path:
    """An empty folder at `path` (what an interrupted attempt left there is removed)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


class Stages:
    """The stages of one folder (an iteration, or the run root)."""

    def __init__(self, folder: Path, *, label: str | None = None, fault_after: str | None = None, log=print):
        self.folder, self.label = Path(folder), label or Path(folder).name
        self.fault_after, self.log = fault_after, log

    def marker(self, name: str) -> Path:
        return self.folder / MARKERS / f"{name}.json"

    def is_done(self, name: str) -> bool:
        return self.marker(name).is_file()

    def record(self, name: str) -> dict:
        """The record of a finished stage: {"stage", "seconds", "info"}."""
        return json.loads(self.marker(name).read_text(encoding="utf-8"))

    def run(self, name: str, fn: Callable[[], dict | None]) -> dict:
        """Run `fn` unless the stage is done; return the stage's info dict either way."""
        if self.is_done(name):
            self.log(f"[star] {self.label}/{name}: done earlier, reused")
            return self.record(name)["info"]
        self.log(f"[star] {self.label}/{name}: running")
        started = time.time()
        info = fn() or {}
        seconds = round(time.time() - started, 2)
        write_json_atomic(self.marker(name), {"stage": name, "seconds": seconds, "info": info})
        self.log(f"[star] {self.label}/{name}: done in {seconds:.1f} s")
        if self.fault_after == f"{self.label.removeprefix('iter_')}/{name}":
            os.kill(os.getpid(), signal.SIGKILL)  # test-only: crash right after a stage is marked done
        return info
