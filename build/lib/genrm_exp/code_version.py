"""The version of the code a run was made with, and what a rerun does when the code has changed since.

    version = current()    # {"source": "sha256:...", "commit": "65cf273...", "dirty": False}

`source` hashes every file that decides what a run computes (genrm_exp/**/*.py and conf/**/*.yaml,
by path and bytes), so it changes with any edit, committed or not; `commit` and `dirty` (whether
those files differ from the commit) are for people reading metrics.json, None where the code is not
a git checkout. Every run records it (`_run.code` and each set's `protocol.code` in metrics.json;
star_config.json for STaR's stages).

A rerun that would reuse a finished run or STaR stage made by other code follows `on_code_change`:
`stop` (the default: one line says which run and how to choose), `rerun` (compute it again) or
`reuse` (keep it; its protocol still names the code that made it, and the report marks it).

Test: python -m pytest tests/test_reuse.py -q
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
from pathlib import Path

from genrm_exp.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = ("genrm_exp/**/*.py", "conf/**/*.yaml")
POLICIES = ("stop", "rerun", "reuse")


@functools.cache
def current() -> dict:
    h = hashlib.sha256()
    for path in sorted(p for pattern in PATTERNS for p in ROOT.glob(pattern) if "__pycache__" not in p.parts):
        h.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return {"source": f"sha256:{h.hexdigest()[:16]}", **_git()}


def _git() -> dict:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--", "genrm_exp", "conf")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def check_policy(policy: str) -> str:
    if policy not in POLICIES:
        raise ConfigError(f"on_code_change={policy!r}: expected one of {list(POLICIES)}")
    return policy


def describe(version: dict | None) -> str:
    if not version:
        return "an unrecorded version"
    commit = (version.get("commit") or "no commit")[:12]
    return f"{commit}{' (dirty)' if version.get('dirty') else ''}, source {version.get('source')}"


def differs(saved: dict | None, now: dict | None = None) -> bool:
    """Whether the code that made `saved` differs from `now` (default: this code). A record without
    a version (made before versions were recorded) differs."""
    now = now or current()
    return not saved or saved.get("source") != now["source"]


def decide(policy: str, saved: dict | None, what: str) -> bool:
    """True to reuse `what` (a finished run or stage made by the code `saved`), False to compute it
    again; raises ConfigError under `stop` when the code differs."""
    if not differs(saved) or check_policy(policy) == "reuse":
        return True
    if policy == "rerun":
        return False
    raise ConfigError(
        f"{what} was made by other code ({describe(saved)}; now {describe(current())}): "
        "on_code_change=rerun computes it again, on_code_change=reuse keeps it"
    )
