"""STaR-DPO and STaR-IPO: preference optimisation of self-sampled chains of thought, a chain with
the right verdict against one with the wrong verdict for the same pair and order (the paper's
Eq. 9), by TRL's DPOTrainer, in the STaR loop of genrm_exp/star.

    python -m genrm_exp objective=star_dpo        # beta 1.0, sigmoid loss
    python -m genrm_exp objective=star_ipo        # beta 0.1, IPO loss (ours)
    python -m genrm_exp objective=star_ipo_rationalizer  # the same with rationalized chains (the paper's Table 2)

The reference model is where the iteration's training starts (`star.init`): with LoRA, the base
model with the adapter disabled when starting fresh, or TRL's frozen copy of the loaded adapter when
continuing from the previous iteration; without LoRA, the starting model itself. Its log-probabilities
are computed once before the first step (`objective.args.precompute_ref_log_probs`, true in
conf/objective/star_dpo.yaml), so no copy of it stays in memory; with the option off, TRL runs the
reference at every step and, without LoRA, a second frozen copy of the starting model is loaded.
"""

from __future__ import annotations

from trl import DPOConfig, DPOTrainer

from genrm_exp.objectives.steps import star_trainer
from genrm_exp.star import policy
from genrm_exp.star.loop import Recipe, run_star


def make_trainer(ctx, model, peft_config, rows: list[dict], *, stage: str, start_checkpoint) -> DPOTrainer:
    ref_model = None
    precomputed = ctx.cfg.objective.args.precompute_ref_log_probs  # conf/objective/star_dpo.yaml
    if not ctx.cfg.peft.enabled and not precomputed:  # a second copy of the starting model, frozen
        ref_model = policy.start_model(ctx.cfg, ctx.tokenizer, start_checkpoint)[0]
    return star_trainer(
        DPOTrainer,
        DPOConfig,
        ctx,
        model,
        peft_config,
        rows,
        columns=("prompt", "chosen", "rejected"),
        stage=stage,
        ref_model=ref_model,
    )


def build(ctx):
    return run_star(ctx, Recipe(rows="dpo", make_trainer=make_trainer))
