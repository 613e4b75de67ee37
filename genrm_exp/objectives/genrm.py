"""GenRM without chain of thought (the paper's Eq. 7): supervised fine-tuning of judge prompt -> verdict
token, with TRL's SFTTrainer and the loss on the verdict token only.

    python -m genrm_exp                                               # objective=genrm is the default
    python -m genrm_exp objective=genrm objective.train_orders=both   # every pair in both orders
    python -m genrm_exp -m objective=genrm,zero_shot,bt               # beside the zero-shot judge and BT

Each training row is the direct judge prompt (conf/judge/direct.yaml) with the assistant turn opened
by "[[" followed by one verdict token, A or B: exactly the token that direct scoring reads at
evaluation (genrm_exp.prompts.encode_for_verdict builds both). A/B labels are balanced by showing
half of the pairs swapped (`alternate`, exactly half, chosen by a seeded hash of the pair id) or
every pair in both orders (`both`).
"""

from __future__ import annotations

import hashlib
import json

from datasets import Dataset
from trl import SFTConfig, SFTTrainer

from genrm_exp import distributed
from genrm_exp.judging import DirectJudge, render_pair
from genrm_exp.modeling import load_model, lora_config
from genrm_exp.objectives import fused_head
from genrm_exp.objectives.trl_args import trl_config
from genrm_exp.prompts import encode_for_verdict

TRAIN_ORDERS = ("alternate", "both")


def train_orders(pairs, seed: int, mode: str) -> list[list[bool]]:
    """Swapped flags per pair. `alternate`: pairs ranked by a seeded hash of their id, every second
    one swapped, so exactly half (rounded down) show the chosen response as B."""
    if mode == "both":
        return [[False, True] for _ in pairs]
    if mode != "alternate":
        raise ValueError(f"objective.train_orders={mode!r}: expected one of {list(TRAIN_ORDERS)}")
    rank = sorted(range(len(pairs)), key=lambda i: hashlib.sha256(f"{seed}\0{pairs[i].id}".encode()).hexdigest())
    swapped = [False] * len(pairs)
    for r, i in enumerate(rank):
        swapped[i] = r % 2 == 1
    return [[s] for s in swapped]


def sft_rows(pairs, tokenizer, judge_cfg, orders: list[list[bool]]) -> Dataset:
    """Pre-tokenized prompt-completion rows: input_ids = judge context + verdict token, and a
    completion_mask marking the verdict token only (TRL turns it into labels)."""
    rows = []
    for pair, swaps in zip(pairs, orders, strict=True):
        for swapped in swaps:
            enc = encode_for_verdict(tokenizer, render_pair(tokenizer, judge_cfg, pair, swapped, open_verdict=True))
            ids = enc.with_verdict("B" if swapped else "A")
            rows.append({"input_ids": ids, "completion_mask": [0] * (len(ids) - 1) + [1]})
    return Dataset.from_list(rows)


def make_trainer(ctx) -> SFTTrainer:
    cfg = ctx.cfg
    if cfg.judge.style != "direct":
        raise ValueError(f"objective=genrm trains the verdict alone and needs judge=direct, got judge.style={cfg.judge.style!r} "
                         "(chain-of-thought GenRM is trained by the STaR objectives)")
    rows = sft_rows(ctx.train, ctx.tokenizer, cfg.judge, train_orders(ctx.train, int(cfg.seed), cfg.objective.train_orders))
    # TRL cuts rows over max_length from the end, which removes the verdict and drops the row: count them.
    max_length, lengths = int(cfg.data.max_length), [len(ids) for ids in rows["input_ids"]]
    labels = [ids[-1] for ids in rows["input_ids"]]
    summary = {"rows": len(lengths), "verdict_token_counts": {str(t): labels.count(t) for t in sorted(set(labels))},
               "max_tokens": max(lengths, default=0), "over_max_length": sum(n > max_length for n in lengths)}
    if distributed.is_main():
        ctx.path("train", "sft_rows.json").write_text(json.dumps(summary, indent=2))
    model = load_model(cfg.model, ctx.tokenizer, head="causal_lm", cache=cfg.paths.cache)
    fused_head.compact_on_cpu(True)  # the output layer at the verdict token only, on CPU too
    return SFTTrainer(
        model=model,
        # The rows carry their own completion mask, so completion-only loss must be asked for.
        args=trl_config(SFTConfig, ctx, completion_only_loss=True),
        train_dataset=rows,
        processing_class=ctx.tokenizer,
        peft_config=lora_config(cfg.peft, cfg.model.lora_targets, head="causal_lm"),
    )


def build(ctx) -> DirectJudge:
    trainer = make_trainer(ctx)
    trainer.train()
    trainer.save_model(str(ctx.path("checkpoint")))
    model = trainer.model
    # LoRA: fold the adapters in, so scoring runs plain matmuls; not under ZeRO-3, whose partitioned
    # weights cannot be merged into (scoring then runs with the adapters, the same function).
    partitioned = any(hasattr(p, "ds_id") for p in model.parameters())
    if hasattr(model, "merge_and_unload") and not partitioned:
        model = model.merge_and_unload()
    return DirectJudge(model, ctx.tokenizer, ctx.cfg.judge, seed=int(ctx.cfg.seed))
