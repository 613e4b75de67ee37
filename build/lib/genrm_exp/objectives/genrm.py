"""GenRM without chain of thought (the paper's Eq. 7): supervised fine-tuning of judge prompt -> verdict
token, with TRL's SFTTrainer and the loss on the verdict token only.

    python -m genrm_exp                                               # objective=genrm is the default
    python -m genrm_exp objective=genrm objective.train_orders=both   # every pair in both orders
    python -m genrm_exp -m objective=genrm,zero_shot,bt               # beside the zero-shot judge and BT

Each training row is the direct judge prompt (conf/judge/direct.yaml) with the assistant turn opened
by "[[" followed by one verdict token, A or B: exactly the token that direct scoring reads at
evaluation (prompts.render_pair and prompts.encode_for_verdict build both). A/B labels are balanced
by `objective.train_orders` (genrm_exp/orders.py): `alternate` shows exactly half of the pairs
swapped (chosen by a seeded hash of the pair id), `both` every pair in both orders.
"""

from __future__ import annotations

import json

from datasets import Dataset
from trl import SFTConfig, SFTTrainer

from genrm_exp import checkpoints, distributed
from genrm_exp.errors import ConfigError
from genrm_exp.modeling import lora_config
from genrm_exp.objectives import fused_head
from genrm_exp.objectives.steps import train_and_wrap
from genrm_exp.objectives.trl_args import trl_config
from genrm_exp.orders import label_as_shown, orders_for_all
from genrm_exp.prompts import encode_for_verdict, render_pair

TRAIN_ORDERS = ("alternate", "both")


def train_orders(pairs, seed: int, policy: str) -> list[list[str]]:
    """The orders each training pair is shown in (`objective.train_orders`: alternate or both)."""
    if policy not in TRAIN_ORDERS:
        raise ConfigError(f"objective.train_orders={policy!r}: expected one of {list(TRAIN_ORDERS)}")
    return orders_for_all([p.id for p in pairs], seed, policy, "objective.train_orders")


def sft_rows(pairs, tokenizer, judge_cfg, orders: list[list[str]]) -> Dataset:
    """Pre-tokenized prompt-completion rows: input_ids = judge context + verdict token, and a
    completion_mask marking the verdict token only (TRL turns it into labels)."""
    rows = []
    for pair, pair_orders in zip(pairs, orders, strict=True):
        for order in pair_orders:
            text = render_pair(
                tokenizer, judge_cfg, pair.prompt_messages(), pair.chosen, pair.rejected, order, open_verdict=True
            )
            ids = encode_for_verdict(tokenizer, text).with_verdict(label_as_shown(order))
            rows.append({"input_ids": ids, "completion_mask": [0] * (len(ids) - 1) + [1]})
    return Dataset.from_list(rows)


def make_trainer(ctx) -> SFTTrainer:
    cfg = ctx.cfg  # judge.style is direct (genrm_exp/validate.py)
    rows = sft_rows(
        ctx.train, ctx.tokenizer, cfg.judge, train_orders(ctx.train, int(cfg.seed), cfg.objective.train_orders)
    )
    # TRL cuts rows over max_length from the end, which removes the verdict and drops the row: count them.
    max_length, lengths = int(cfg.data.max_length), [len(ids) for ids in rows["input_ids"]]
    labels = [ids[-1] for ids in rows["input_ids"]]
    summary = {
        "rows": len(lengths),
        "verdict_token_counts": {str(t): labels.count(t) for t in sorted(set(labels))},
        "max_tokens": max(lengths, default=0),
        "over_max_length": sum(n > max_length for n in lengths),
    }
    if distributed.is_main():
        ctx.path("train", "sft_rows.json").write_text(json.dumps(summary, indent=2))
    model = checkpoints.base_model(cfg, ctx.tokenizer, head="causal_lm")
    fused_head.compact_on_cpu(True)  # the output layer at the verdict token only, on CPU too
    return SFTTrainer(
        model=model,
        # The rows carry their own completion mask, so completion-only loss must be asked for.
        args=trl_config(SFTConfig, ctx, completion_only_loss=True),
        train_dataset=rows,
        processing_class=ctx.tokenizer,
        peft_config=lora_config(cfg.peft, cfg.model.lora_targets, head="causal_lm"),
    )


def build(ctx):
    return train_and_wrap(ctx, make_trainer(ctx))
