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
    "star_sft": "genrm_exp.objectives.star_sft:build",
    "star_rationalizer": "genrm_exp.objectives.star_sft:build",  # objective.rationalize: true
    "star_dpo": "genrm_exp.objectives.star_dpo:build",
    "star_ipo": "genrm_exp.objectives.star_dpo:build",  # objective.args.loss_type: [ipo]
}


def build(name: str, ctx):
    if name not in OBJECTIVES:
        raise KeyError(f"objective.name={name!r}: expected one of {sorted(OBJECTIVES)}")
    module, _, func = OBJECTIVES[name].partition(":")
    return getattr(importlib.import_module(module), func)(ctx)
