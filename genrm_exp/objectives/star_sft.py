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

from datasets import Dataset
from trl import SFTConfig, SFTTrainer

from genrm_exp.objectives import fused_head
from genrm_exp.objectives.lengths import group_by_length
from genrm_exp.objectives.trl_args import trl_config
from genrm_exp.star.loop import Recipe, run_star


def longest(tokenizer, texts) -> int:
    """Tokens of the longest text plus the EOS that TRL appends: no training row is cut."""
    return max(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts) + 1


def make_trainer(ctx, model, peft_config, rows: list[dict], *, stage: str, start_checkpoint=None) -> SFTTrainer:
    """`start_checkpoint` (where `model` was loaded from) is unused: SFT needs no reference model."""
    data = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
    max_length = longest(ctx.tokenizer, [r["prompt"] + r["completion"] for r in rows])
    fused_head.compact_on_cpu(True)  # the output layer at completion tokens only, on CPU too
    trainer = SFTTrainer(
        model=model,
        args=trl_config(SFTConfig, ctx, stage=stage, max_length=max_length),
        train_dataset=data,
        processing_class=ctx.tokenizer,
        peft_config=peft_config,
    )
    return group_by_length(trainer)  # trainer.args.train_sampling_strategy


def build(ctx):
    return run_star(ctx, Recipe(rows="sft", make_trainer=make_trainer))
