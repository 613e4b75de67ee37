"""STaR-DPO and STaR-IPO: preference optimisation of self-sampled chains of thought, a chain with
the right verdict against one with the wrong verdict for the same pair and order (the paper's
Eq. 9), by TRL's DPOTrainer, in the STaR loop of genrm_exp/star.

    python -m genrm_exp objective=star_dpo        # beta 1.0, sigmoid loss
    python -m genrm_exp objective=star_ipo        # beta 0.4, IPO loss (the paper's Table 2)

The reference model is where the iteration's training starts (`star.init`): with LoRA, the base
model with the adapter disabled when starting fresh, or TRL's frozen copy of the loaded adapter when
continuing from the previous iteration; without LoRA, a second copy of the starting model.
"""

from __future__ import annotations

from datasets import Dataset
from trl import DPOConfig, DPOTrainer

from genrm_exp.objectives import fused_head
from genrm_exp.objectives.lengths import group_by_length
from genrm_exp.objectives.star_sft import longest
from genrm_exp.objectives.trl_args import trl_config
from genrm_exp.star import policy
from genrm_exp.star.loop import Recipe, run_star


def make_trainer(ctx, model, peft_config, rows: list[dict], *, stage: str, start_checkpoint) -> DPOTrainer:
    data = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows])
    max_length = longest(ctx.tokenizer, [r["prompt"] + r[side] for r in rows for side in ("chosen", "rejected")])
    fused_head.compact_on_cpu(True)  # the output layer at completion tokens only, on CPU too
    ref_model = None
    if not ctx.cfg.peft.enabled:  # a second copy of the starting model, frozen
        ref_model = policy.start_model(ctx.cfg, ctx.tokenizer, start_checkpoint)[0]
    trainer = DPOTrainer(
        model=model,
        ref_model=ref_model,
        args=trl_config(DPOConfig, ctx, stage=stage, max_length=max_length),
        train_dataset=data,
        processing_class=ctx.tokenizer,
        peft_config=peft_config,
    )
    return group_by_length(trainer)  # trainer.args.train_sampling_strategy


def build(ctx):
    return run_star(ctx, Recipe(rows="dpo", make_trainer=make_trainer))
