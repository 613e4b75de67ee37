"""PairRM baseline: a pairwise classifier. One sequence holds the prompt and both responses (the
direct judge prompt of conf/judge/, without the opened verdict); a two-label head on the last token
says whether A (label 0) or B (label 1) is better. Trained with transformers' Trainer (TRL has no
pairwise-classifier trainer), A/B labels balanced by order swapping (objective.train_orders),
evaluated in both orders (genrm_exp/judges/classifier.py).

    python -m genrm_exp objective=pair_rm
"""

from __future__ import annotations

from datasets import Dataset
from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

from genrm_exp import checkpoints
from genrm_exp.judges.classifier import pair_ids
from genrm_exp.modeling import apply_lora
from genrm_exp.objectives.genrm import train_orders
from genrm_exp.objectives.steps import train_and_wrap
from genrm_exp.objectives.trl_args import trl_config
from genrm_exp.orders import AB, BA


def classifier_rows(pairs, tokenizer, judge_cfg, orders: list[list[str]], max_length: int) -> Dataset:
    """Token ids of each pair as shown, labelled 0 when A (the chosen response shown first) is better
    and 1 when B is; a row still over budget loses its oldest tokens (the end holds the answers)."""
    rows = [
        {
            "input_ids": pair_ids(tokenizer, judge_cfg, pair.prompt_messages(), pair.chosen, pair.rejected, o)[
                -max_length:
            ],
            "labels": {AB: 0, BA: 1}[o],
        }
        for pair, pair_orders in zip(pairs, orders, strict=True)
        for o in pair_orders
    ]
    return Dataset.from_list(rows)


def make_trainer(ctx) -> Trainer:
    cfg = ctx.cfg
    orders = train_orders(ctx.train, int(cfg.seed), cfg.objective.train_orders)
    rows = classifier_rows(ctx.train, ctx.tokenizer, cfg.judge, orders, int(cfg.data.max_length))
    model = checkpoints.base_model(cfg, ctx.tokenizer, head="classifier")
    model = apply_lora(model, cfg.peft, cfg.model.lora_targets, head="classifier")
    return Trainer(
        model=model,
        args=trl_config(TrainingArguments, ctx, max_length=None),  # TrainingArguments has no max_length
        train_dataset=rows,
        data_collator=DataCollatorWithPadding(ctx.tokenizer),
        processing_class=ctx.tokenizer,
    )


def build(ctx):
    return train_and_wrap(ctx, make_trainer(ctx))
