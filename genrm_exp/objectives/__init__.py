"""Objectives by name. Each module builds its TRL trainer, trains, and returns a Judge.

Modules are imported only when chosen, so choosing `bt` never imports what `star_dpo` needs.
"""

from __future__ import annotations

import importlib

# name -> "module:function"; the function takes a RunContext and returns a Judge.
OBJECTIVES = {
    "bt": "genrm_exp.objectives.bt:build",
    "zero_shot": "genrm_exp.objectives.zero_shot:build",
    "genrm": "genrm_exp.objectives.genrm:build",
    "pair_rm": "genrm_exp.objectives.pair_rm:build",
}


def build(name: str, ctx):
    if name not in OBJECTIVES:
        raise KeyError(f"objective.name={name!r}: expected one of {sorted(OBJECTIVES)}")
    module, _, func = OBJECTIVES[name].partition(":")
    return getattr(importlib.import_module(module), func)(ctx)
