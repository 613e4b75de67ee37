"""PairRM baseline: a pairwise classifier. One sequence holds the prompt and both responses (the
direct judge prompt of conf/judge/, without the opened verdict); a two-label head on the last token
says whether A (label 0) or B (label 1) is better. Trained with transformers' Trainer (TRL has no
pairwise-classifier trainer), A/B labels balanced by order swapping, evaluated in both orders.

    python -m genrm_exp objective=pair_rm
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from datasets import Dataset
from tqdm.auto import tqdm
from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

from genrm_exp.data.schema import Pair
from genrm_exp.judging import records_from_probs, render_pair
from genrm_exp.modeling import apply_lora, load_model
from genrm_exp.objectives.genrm import train_orders
from genrm_exp.objectives.trl_args import trl_config
from genrm_exp.prompts import encode_text
from genrm_exp.reward_scoring import pad_batch


def pair_ids(tokenizer, judge_cfg, pair: Pair, swapped: bool, max_length: int) -> list[int]:
    """Token ids of the pair as shown; if still over budget, the oldest tokens go (the end holds the answers)."""
    return encode_text(tokenizer, render_pair(tokenizer, judge_cfg, pair, swapped, open_verdict=False))[-max_length:]


def classifier_rows(pairs, tokenizer, judge_cfg, orders: list[list[bool]], max_length: int) -> Dataset:
    rows = [
        {"input_ids": pair_ids(tokenizer, judge_cfg, pair, s, max_length), "labels": int(s)}  # swapped: B is better
        for pair, swaps in zip(pairs, orders, strict=True)
        for s in swaps
    ]
    return Dataset.from_list(rows)


class PairClassifierJudge:
    """P(A better) from the classifier, in both orders; P(chosen) averages them."""

    rewardbench_model_type = "Seq. Classifier"

    def __init__(self, model, tokenizer, judge_cfg, *, batch_size: int, max_length: int):
        self.model, self.tokenizer, self.judge_cfg = model, tokenizer, judge_cfg
        self.batch_size, self.max_length = batch_size, max_length

    @torch.inference_mode()
    def probs_a(self, seqs: Sequence[list[int]], desc: str) -> list[float]:
        self.model.eval()
        device = next(self.model.parameters()).device
        order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
        out = [0.5] * len(seqs)
        for start in tqdm(range(0, len(order), self.batch_size), desc=desc, leave=False, disable=not seqs):
            idx = order[start : start + self.batch_size]
            batch = pad_batch([seqs[i] for i in idx], self.tokenizer.pad_token_id)
            logits = self.model(**{k: v.to(device) for k, v in batch.items()}).logits.float()
            for i, p in zip(idx, torch.softmax(logits, dim=-1)[:, 0].tolist()):
                out[i] = p
        return out

    def predict(self, pairs: Sequence[Pair], set_name: str) -> list[dict]:
        orders = [[False, True] for _ in pairs]
        seqs = [pair_ids(self.tokenizer, self.judge_cfg, p, s, self.max_length) for p in pairs for s in (False, True)]
        probs = self.probs_a(seqs, desc=f"classify {set_name}")
        return records_from_probs(pairs, orders, [probs[2 * i : 2 * i + 2] for i in range(len(pairs))])


def make_trainer(ctx) -> Trainer:
    cfg = ctx.cfg
    orders = train_orders(ctx.train, int(cfg.seed), cfg.objective.train_orders)
    rows = classifier_rows(ctx.train, ctx.tokenizer, cfg.judge, orders, int(cfg.data.max_length))
    model = load_model(cfg.model, ctx.tokenizer, head="classifier", cache=cfg.paths.cache)
    model = apply_lora(model, cfg.peft, cfg.model.lora_targets, head="classifier")
    return Trainer(
        model=model,
        args=trl_config(TrainingArguments, ctx, max_length=None),  # TrainingArguments has no max_length
        train_dataset=rows,
        data_collator=DataCollatorWithPadding(ctx.tokenizer),
        processing_class=ctx.tokenizer,
    )


def build(ctx) -> PairClassifierJudge:
    trainer = make_trainer(ctx)
    trainer.train()
    trainer.save_model(str(ctx.path("checkpoint")))
    cfg = ctx.cfg
    model = trainer.model
    # LoRA: fold the adapters (and the trained head) in for scoring; not under ZeRO-3, whose
    # partitioned weights cannot be merged into.
    if hasattr(model, "merge_and_unload") and not any(hasattr(p, "ds_id") for p in model.parameters()):
        model = model.merge_and_unload()
    return PairClassifierJudge(model, ctx.tokenizer, cfg.judge, batch_size=int(cfg.judge.batch_size),
                               max_length=int(cfg.data.max_length))
