"""Pairwise classification (PairRM): one sequence holds the prompt and both responses (the direct
judge prompt without the opened verdict); a two-label head on the last token gives P(A better).
Shown in the orders `judge.order` picks, as every pairwise judge is (both by default: P(chosen)
averages the two).

    judge = PairClassifierJudge(model, tokenizer, cfg.judge, batch_size=8, seed=cfg.seed)
    records = judge.predict(pairs, "heldout")     # genrm_exp/judges/records.py
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from genrm_exp.data.schema import Pair
from genrm_exp.judges.records import from_probs
from genrm_exp.judges.reward import pad_batch
from genrm_exp.orders import orders_for
from genrm_exp.prompts import encode_text, render_pair


def pair_ids(tokenizer, judge_cfg, prompt_messages: list[dict], first: str, second: str, order: str) -> list[int]:
    """Token ids of a pair as the classifier reads it in `order`."""
    return encode_text(
        tokenizer, render_pair(tokenizer, judge_cfg, prompt_messages, first, second, order, open_verdict=False)
    )


class PairClassifierJudge:
    rewardbench_model_type = "Seq. Classifier"

    def __init__(self, model, tokenizer, judge_cfg, *, batch_size: int, seed: int):
        orders_for("", seed, judge_cfg["order"])  # fail early on a bad order
        self.model, self.tokenizer, self.judge_cfg, self.batch_size = model, tokenizer, judge_cfg, int(batch_size)
        self.seed = int(seed)

    @torch.inference_mode()
    def probs_a(self, seqs: Sequence[list[int]], desc: str | None) -> list[float]:
        self.model.eval()
        device = next(self.model.parameters()).device
        order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
        out = [0.5] * len(seqs)
        for start in tqdm(
            range(0, len(order), self.batch_size), desc=desc, leave=False, disable=desc is None or not seqs
        ):
            idx = order[start : start + self.batch_size]
            batch = pad_batch([seqs[i] for i in idx], self.tokenizer.pad_token_id)
            logits = self.model(**{k: v.to(device) for k, v in batch.items()}).logits.float()
            for i, p in zip(idx, torch.softmax(logits, dim=-1)[:, 0].tolist()):
                out[i] = p
        return out

    def predict(self, pairs: Sequence[Pair], set_name: str) -> list[dict]:
        orders = [orders_for(p.id, self.seed, self.judge_cfg["order"]) for p in pairs]
        seqs = [
            pair_ids(self.tokenizer, self.judge_cfg, p.prompt_messages(), p.chosen, p.rejected, o)
            for p, oo in zip(pairs, orders)
            for o in oo
        ]
        flat = iter(self.probs_a(seqs, desc=f"classify {set_name}"))
        return from_probs(pairs, orders, [[next(flat) for _ in oo] for oo in orders])
