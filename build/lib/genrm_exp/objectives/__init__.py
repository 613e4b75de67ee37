"""Objectives by name. Each module builds its TRL trainer, trains, and returns a Judge.

Modules are imported only when chosen, so choosing `bt` never imports what `star_dpo` needs.
"""

from __future__ import annotations

import importlib

# name -> "module:function"; the function takes a RunContext and returns a Judge.
OBJECTIVES = {
    "bt": "genrm_exp.objectives.bt:build",
    "zero_shot": "genrm_exp.objectives.zero_shot:build",
    "zero_shot_direct": "genrm_exp.objectives.zero_shot:build",  # judge=direct
    "zero_shot_cot": "genrm_exp.objectives.zero_shot:build",  # judge=cot
    "genrm": "genrm_exp.objectives.genrm:build",
    "pair_rm": "genrm_exp.objectives.pair_rm:build",
    "star_sft": "genrm_exp.objectives.star_sft:build",
    "star_rationalizer": "genrm_exp.objectives.star_sft:build",  # objective.rationalize: true
    "star_dpo": "genrm_exp.objectives.star_dpo:build",
    "star_ipo": "genrm_exp.objectives.star_dpo:build",  # objective.args.loss_type: [ipo]
    "star_ipo_rationalizer": "genrm_exp.objectives.star_dpo:build",  # loss_type [ipo], rationalize: true
    "grpo_judge": "genrm_exp.objectives.grpo_judge:build",  # J1's GRPO-trained CoT judge (beyond the paper)
}


def build(name: str, ctx):
    if name not in OBJECTIVES:
        from genrm_exp.errors import ConfigError

        raise ConfigError(f"objective.name={name!r}: expected one of {sorted(OBJECTIVES)}")
    module, _, func = OBJECTIVES[name].partition(":")
    return getattr(importlib.import_module(module), func)(ctx)
