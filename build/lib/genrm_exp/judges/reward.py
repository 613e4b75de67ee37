"""Scalar-head scoring (Bradley-Terry reward models): each (prompt, response) is chat-templated and
scored alone, in length-sorted batches; P(chosen) = sigmoid(r_chosen - r_rejected).

    judge = RewardJudge(model, tokenizer, batch_size=8)
    records = judge.predict(pairs, "llmbar-natural")   # r_chosen, r_rejected, p_chosen, score
    judge.rewards_for([(prompt_messages, response), ...])   # one scalar each (the API, the server)

The texts are scored as the data layer fitted them (data/fitting.py fit_eval): no further cut here, so a
reward model reads exactly the text every other method of a grid reads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from genrm_exp.data.schema import Pair
from genrm_exp.metrics import score_from_rewards


def chat_ids(tokenizer, items: Sequence[tuple[list[dict], str]]) -> list[list[int]]:
    """Chat-templated token ids of each (prompt messages, assistant response). Templates are rendered
    to text and tokenized in one batch (much faster than one by one)."""
    texts = [
        tokenizer.apply_chat_template(list(prompt) + [{"role": "assistant", "content": response}], tokenize=False)
        for prompt, response in items
    ]
    return [list(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]


def pad_batch(seqs: Sequence[list[int]], pad_id: int, *, left: bool = False) -> dict[str, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        span = slice(width - len(s), width) if left else slice(0, len(s))
        ids[i, span] = torch.tensor(s, dtype=torch.long)
        mask[i, span] = 1
    return {"input_ids": ids, "attention_mask": mask}


def sigmoid_margin(r_chosen: float, r_rejected: float) -> float:
    margin = r_chosen - r_rejected
    return 1.0 / (1.0 + math.exp(-margin)) if abs(margin) < 700 else float(margin > 0)


class RewardJudge:
    rewardbench_model_type = "Seq. Classifier"

    def __init__(self, model, tokenizer, *, batch_size: int):
        self.model, self.tokenizer, self.batch_size = model, tokenizer, int(batch_size)

    @torch.inference_mode()
    def rewards(self, seqs: Sequence[list[int]], desc: str | None = "reward") -> list[float]:
        """One scalar per token sequence, in input order; batches are formed longest first."""
        self.model.eval()
        device = next(self.model.parameters()).device
        order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
        out = [0.0] * len(seqs)
        for start in tqdm(range(0, len(order), self.batch_size), desc=desc, leave=False, disable=desc is None):
            idx = order[start : start + self.batch_size]
            batch = pad_batch([seqs[i] for i in idx], self.tokenizer.pad_token_id)
            logits = self.model(**{k: v.to(device) for k, v in batch.items()}).logits
            for i, value in zip(idx, logits[:, 0].float().tolist()):
                out[i] = value
        return out

    def rewards_for(self, items: Sequence[tuple[list[dict], str]], desc: str | None = None) -> list[float]:
        """The reward of each (prompt messages, response)."""
        return self.rewards(chat_ids(self.tokenizer, items), desc=desc) if items else []

    def predict(self, pairs: Sequence[Pair], set_name: str) -> list[dict]:
        r = self.rewards_for(
            [(p.prompt_messages(), resp) for p in pairs for resp in (p.chosen, p.rejected)], desc=f"score {set_name}"
        )
        return [
            {
                "id": p.id,
                "subset": p.subset,
                "r_chosen": r[2 * i],
                "r_rejected": r[2 * i + 1],
                "p_chosen": sigmoid_margin(r[2 * i], r[2 * i + 1]),
                "score": score_from_rewards(r[2 * i], r[2 * i + 1]),
            }
            for i, p in enumerate(pairs)
        ]
