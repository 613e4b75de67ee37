"""The steps objectives share: train a TRL trainer, save it and wrap the model as the run's judge
(BT, GenRM, PairRM), and assemble the trainer of one STaR training stage (STaR-SFT, STaR-DPO).

    return train_and_wrap(ctx, make_trainer(ctx))             # objectives/bt.py, genrm.py, pair_rm.py
    return star_trainer(SFTTrainer, SFTConfig, ctx, model, peft_config, rows,
                        columns=("prompt", "completion"), stage=stage)   # objectives/star_sft.py

Test: python -m pytest tests/objectives tests/star/test_star_objectives.py -q
"""

from __future__ import annotations

from collections.abc import Sequence


def train_and_wrap(ctx, trainer, *, resume: bool = False):
    """Train (`resume`: from the trainer's last checkpoint-N in its output_dir), save the checkpoint
    (ctx.path("checkpoint")), and return the trained model as the run's judge; LoRA adapters (and a
    trained head) are folded in for scoring, as in every objective."""
    from genrm_exp.judges.factory import for_model, scoring_model

    trainer.train(resume_from_checkpoint=True if resume else None)
    trainer.save_model(str(ctx.path("checkpoint")))
    return for_model(scoring_model(trainer.model), ctx.tokenizer, ctx.cfg)


def longest(tokenizer, texts) -> int:
    """Tokens of the longest text plus the EOS that TRL appends: no training row is cut."""
    return max(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts) + 1


def star_trainer(
    trainer_cls, config_cls, ctx, model, peft_config, rows: list[dict], *, columns: Sequence[str], stage: str, **extra
):
    """A STaR stage's TRL trainer on `rows` (their `columns`, the first being the prompt): the TRL
    config from the run's groups (trl_args), a max_length that cuts no row, the output layer at
    completion tokens only, batches grouped by length. `extra` goes to the trainer (DPO's ref_model)."""
    from datasets import Dataset

    from genrm_exp.objectives import fused_head
    from genrm_exp.objectives.lengths import group_by_length
    from genrm_exp.objectives.trl_args import trl_config

    prompt, *completions = columns
    data = Dataset.from_list([{k: r[k] for k in columns} for r in rows])
    max_length = longest(ctx.tokenizer, [r[prompt] + r[c] for r in rows for c in completions])
    fused_head.compact_on_cpu(True)  # the output layer at completion tokens only, on CPU too
    trainer = trainer_cls(
        model=model,
        args=trl_config(config_cls, ctx, stage=stage, max_length=max_length),
        train_dataset=data,
        processing_class=ctx.tokenizer,
        peft_config=peft_config,
        **extra,
    )
    return group_by_length(trainer)  # trainer.args.train_sampling_strategy
