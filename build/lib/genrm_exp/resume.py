"""Reruns of the same command: a finished run is reused, not computed again.

    python -m genrm_exp objective=bt                 # runs, writes outputs/runs/bt/<...>/metrics.json
    python -m genrm_exp objective=bt                 # prints the finished run's metrics, trains nothing
    python -m genrm_exp objective=bt rerun=true      # runs again and replaces the outputs
    python -m genrm_exp -m experiment=paper_ultrafeedback_offline hydra.sweep.dir=outputs/multirun/grid
                                                     # rerun after a crash: finished cells are reused,
                                                     # STaR cells resume at their next stage, the rest run

Run folders are fixed by the command line (conf/config.yaml: hydra.run.dir), so the same command
finds the same folder. A run is finished when its metrics.json exists (written last, atomically);
it is reused only when the settings saved beside it (config.yaml) are the same as now, apart from
the keys in NOT_COMPARED (conf/config.yaml: the keys left out of folder names), which change
where things are written or logged, not what is computed,
and only when the code that made it is this code, or `on_code_change` says what to do when it is
not (genrm_exp/code_version.py: stop by default, rerun, or reuse). The engine a finished run sampled
with (`judge.engine`) is recorded in its protocol, not compared: a finished run computes nothing more.
"""

from __future__ import annotations

import copy
from pathlib import Path

from omegaconf import OmegaConf

CONFIG = Path(__file__).resolve().parents[1] / "conf" / "config.yaml"


def _non_result_keys() -> tuple[str, ...]:
    """conf/config.yaml's hydra.job.config.override_dirname.exclude_keys, less `objective` (which
    names the folder and is compared): the one list of settings that do not change a result."""
    import yaml

    hydra = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["hydra"]
    return tuple(k for k in hydra["job"]["config"]["override_dirname"]["exclude_keys"] if k != "objective")


NOT_COMPARED = _non_result_keys()


def settings(cfg) -> dict:
    """The resolved settings that decide what a run computes (NOT_COMPARED removed)."""
    out = copy.deepcopy(cfg) if isinstance(cfg, dict) else OmegaConf.to_container(cfg, resolve=True)
    for dotted in NOT_COMPARED:
        *parents, leaf = dotted.split(".")
        node = out
        for p in parents:
            node = node.get(p, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(leaf, None)
    return out


def flat(value, prefix: str = "") -> dict:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): value}


def changed(before: dict, now: dict) -> list[str]:
    """Dotted keys whose values differ between two settings dicts (either side may lack a key)."""
    a, b = flat(settings(before)), flat(settings(now))
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def finished(cfg, run_dir: Path, log=print) -> bool:
    """True when run_dir holds a finished run of these settings and `rerun` is false, made by this
    code or kept by `on_code_change=reuse` (`stop` raises ConfigError; `rerun` returns False)."""
    import json

    from genrm_exp import code_version
    from genrm_exp.run_files import run_entry

    metrics = run_dir / "metrics.json"
    if cfg.rerun or not metrics.is_file():
        return False
    saved = run_dir / "config.yaml"
    if not saved.is_file():
        return False
    diff = changed(OmegaConf.to_container(OmegaConf.load(saved)), OmegaConf.to_container(cfg, resolve=True))
    if diff:
        log(
            f"[genrm_exp] {run_dir} holds a finished run with other settings ({', '.join(diff[:8])}"
            f"{', ...' if len(diff) > 8 else ''}): running again"
        )
        return False
    saved_code = run_entry(json.loads(metrics.read_text(encoding="utf-8"))).get("code")
    if not code_version.decide(str(cfg.on_code_change), saved_code, f"the finished run in {run_dir}"):
        log(
            f"[genrm_exp] {run_dir} was made by other code ({code_version.describe(saved_code)}): running again "
            "(on_code_change=rerun)"
        )
        return False
    return True
