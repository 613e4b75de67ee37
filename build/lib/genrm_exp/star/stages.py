"""Stages of a STaR run: each writes its outputs atomically and marks itself done last.

    stages = Stages(run_dir / "iter_1")
    info = stages.run("sample", lambda: {"kept": 12})   # runs fn once; on a rerun returns the record

A stage is done when ``<folder>/.stages/<name>.json`` exists. The stage function writes its own
outputs (each to a temporary name then ``os.replace``, or appended and fsynced, see sampling.py) and
returns a small JSON-ready dict; the record holding that dict is written after the function returns,
by rename, so a process killed at any point leaves either a finished stage (skipped on the rerun) or
an unfinished one (run again; it may reuse what it already wrote).

Under several ranks (torchrun, submitit) every rank runs the loop; rank 0 decides whether a stage is
done and writes the markers. A collective stage (sampling sharded over ranks, training, evaluation)
runs on every rank and writes its files from rank 0; a local one (building the training set) runs on
rank 0 alone. Either way every rank gets rank 0's info, after rank 0 has written the stage's files.
The run folder must be on a file system every rank sees.

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

from genrm_exp import distributed
from genrm_exp.atomic import read_jsonl, write_json_atomic

MARKERS = ".stages"
__all__ = ["Stages", "fresh_dir", "read_jsonl", "replace_dir"]


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

    def run(self, name: str, fn: Callable[[], dict | None], *, collective: bool = True) -> dict:
        """Run `fn` unless the stage is done; return the stage's info dict either way. With
        collective=False only rank 0 runs `fn` (the others wait for its info)."""
        main = distributed.is_main()
        say = self.log if main else (lambda _: None)
        record = distributed.broadcast(self.record(name) if main and self.is_done(name) else None)
        if record is not None:
            say(f"[star] {self.label}/{name}: done earlier, reused")
            return record["info"]
        say(f"[star] {self.label}/{name}: running")
        started = time.time()
        info = (fn() or {}) if collective or main else None
        info = distributed.broadcast(info)
        seconds = round(time.time() - started, 2)
        if main:
            write_json_atomic(self.marker(name), {"stage": name, "seconds": seconds, "info": info})
        say(f"[star] {self.label}/{name}: done in {seconds:.1f} s")
        if self.fault_after == f"{self.label.removeprefix('iter_')}/{name}":
            os.kill(os.getpid(), signal.SIGKILL)  # test-only: crash right after a stage is marked done
        return info
