"""STaR-SFT and STaR-Rationalizer: supervised fine-tuning on self-sampled chains of thought whose
verdict matches the human label (the paper's Eq. 8: the loss covers rationale + verdict, not the
prompt), by TRL's SFTTrainer on prompt / completion rows, in the STaR loop of genrm_exp/star.

    python -m genrm_exp objective=star_sft
    python -m genrm_exp objective=star_rationalizer      # + hinted chains for the keys with no right one

`objective.rationalize` (true for star_rationalizer) adds the rationalize stage; `objective.args`
are SFTConfig fields that win over `trainer.args`; the rationalizer trains at `objective.lr_scale`
(20) times the trainer's learning rate, the paper's 2e-5 against 1e-6.
"""

from __future__ import annotations

from trl import SFTConfig, SFTTrainer

from genrm_exp.objectives.steps import star_trainer
from genrm_exp.star.loop import Recipe, run_star


def make_trainer(ctx, model, peft_config, rows: list[dict], *, stage: str, start_checkpoint=None) -> SFTTrainer:
    """`start_checkpoint` (where `model` was loaded from) is unused: SFT needs no reference model."""
    return star_trainer(
        SFTTrainer, SFTConfig, ctx, model, peft_config, rows, columns=("prompt", "completion"), stage=stage
    )


def build(ctx):
    return run_star(ctx, Recipe(rows="sft", make_trainer=make_trainer))
