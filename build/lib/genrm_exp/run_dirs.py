"""The run folder's name, fixed by the command line, so running a command again finds its run
(and a STaR run resumes): conf/config.yaml sets

    hydra.run.dir: ${paths.outputs}/runs/${objective.name}/${run_id:${hydra.job.override_dirname}}

    python -m genrm_exp objective=star_dpo                  -> outputs/runs/star_dpo/default
    python -m genrm_exp objective=star_dpo seed=1 star.k=8  -> outputs/runs/star_dpo/seed=1,star.k=8

Hydra sorts the overrides and leaves out those in hydra.job.config.override_dirname.exclude_keys
(paths, logger, test-only knobs). A name too long for a folder, or holding "/" (a path among the
values), keeps its first characters, "/" made "_", and ends with a hash of the whole name, so two
command lines never share a folder. `register()` runs before Hydra composes (genrm_exp/__main__.py).
"""

from __future__ import annotations

import hashlib

MAX_CHARS = 150


def run_id(override_dirname: str) -> str:
    if not override_dirname:
        return "default"
    if len(override_dirname) <= MAX_CHARS and "/" not in override_dirname:
        return override_dirname
    digest = hashlib.sha256(override_dirname.encode()).hexdigest()[:12]
    return f"{override_dirname[: MAX_CHARS - 13].replace('/', '_')}-{digest}"


def register() -> None:
    from omegaconf import OmegaConf

    OmegaConf.register_new_resolver("run_id", run_id, replace=True)
