"""Score (prompt, response) sequences with a scalar-head reward model, in length-sorted batches.

    judge = RewardJudge(model, tokenizer, batch_size=8, max_length=512)
    records = judge.predict(pairs, "llmbar-natural")   # r_chosen, r_rejected, p_chosen, score
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from genrm_exp.data.schema import Pair
from genrm_exp.metrics import score_from_rewards


def chat_ids(tokenizer, items: Sequence[tuple[list[dict], str]], max_length: int) -> list[list[int]]:
    """Chat-templated token ids of each (prompt messages, assistant response); if still over budget
    after the data layer's truncation, the oldest tokens go (the end holds the response judged).
    Templates are rendered to text and tokenized in one batch (much faster than one by one)."""
    texts = [
        tokenizer.apply_chat_template(list(prompt) + [{"role": "assistant", "content": response}], tokenize=False)
        for prompt, response in items
    ]
    return [ids[-max_length:] for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]


def pad_batch(seqs: Sequence[list[int]], pad_id: int, *, left: bool = False) -> dict[str, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        span = slice(width - len(s), width) if left else slice(0, len(s))
        ids[i, span] = torch.tensor(s, dtype=torch.long)
        mask[i, span] = 1
    return {"input_ids": ids, "attention_mask": mask}


class RewardJudge:
    def __init__(self, model, tokenizer, *, batch_size: int, max_length: int):
        self.model, self.tokenizer = model, tokenizer
        self.batch_size, self.max_length = batch_size, max_length

    @torch.inference_mode()
    def rewards(self, seqs: Sequence[list[int]], desc: str = "reward") -> list[float]:
        """One scalar per sequence, in input order; batches are formed longest first."""
        self.model.eval()
        device = next(self.model.parameters()).device
        order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
        out = [0.0] * len(seqs)
        for start in tqdm(range(0, len(order), self.batch_size), desc=desc, leave=False):
            idx = order[start : start + self.batch_size]
            batch = pad_batch([seqs[i] for i in idx], self.tokenizer.pad_token_id)
            logits = self.model(**{k: v.to(device) for k, v in batch.items()}).logits
            for i, value in zip(idx, logits[:, 0].float().tolist()):
                out[i] = value
        return out

    def predict(self, pairs: Sequence[Pair], set_name: str) -> list[dict]:
        items = [(p.prompt_messages(), r) for p in pairs for r in (p.chosen, p.rejected)]
        seqs = chat_ids(self.tokenizer, items, self.max_length)
        r = self.rewards(seqs, desc=f"score {set_name}")
        records = []
        for i, p in enumerate(pairs):
            rc, rr = r[2 * i], r[2 * i + 1]
            records.append(
                {
                    "id": p.id,
                    "subset": p.subset,
                    "r_chosen": rc,
                    "r_rejected": rr,
                    "p_chosen": 1.0 / (1.0 + math.exp(-(rc - rr))) if abs(rc - rr) < 700 else float(rc > rr),
                    "score": score_from_rewards(rc, rr),
                }
            )
        return records
