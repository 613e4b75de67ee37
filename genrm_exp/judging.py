"""Pairwise judges: direct scoring and chain-of-thought voting, with position-bias control.

    judge = DirectJudge(model, tokenizer, cfg.judge, seed=cfg.seed)       # P(A) / (P(A) + P(B))
    judge = CoTJudge(Generator(model, tokenizer, batch_size=8), tokenizer, cfg.judge, seed=cfg.seed)
    records = judge.predict(pairs, "llmbar-natural")

Order handling (`judge.order`): `random` shows each pair in an order drawn from (seed, pair id),
`fixed` shows the chosen response as A, `both` judges both orders and pools them. Verdicts are
parsed by genrm_exp.verdicts and mapped back to the stored order, where A is the chosen response.

One record per pair (predictions/<set>.jsonl):
    id, subset, orders (["AB"], ["BA"] or both; "BA" = swapped), verdicts_shown (every single verdict
    in the order shown: one per order for direct scoring, k per order for CoT), order_verdicts (the
    decision of each order, in stored order), p_chosen, verdict, score (1 / 0 / 0.5), correct,
    invalid (invalid single verdicts) and n_verdicts; direct adds p_a_shown and verdict_mass
    (P(A) + P(B) over the whole vocabulary); CoT adds texts, votes and score_maj1, and closed (chains
    whose verdict judge.close_verdict appended, genrm_exp/closing.py) when that is set.

Test: python -m pytest tests/test_judging.py -q
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from genrm_exp.data.schema import Pair
from genrm_exp.generation import Generator, SamplingParams, left_pad, positions
from genrm_exp.metrics import score_from_prob
from genrm_exp.prompts import (
    VERDICT_OPEN,
    VerdictEncoding,
    check_judge_cfg,
    encode_for_verdict,
    judge_messages,
    render_judge,
)
from genrm_exp.verdicts import INVALID, TIE, A, B, is_correct, majority_vote, parse_verdict, to_original_order

ORDERS = ("random", "fixed", "both")


MIN_SHARED_PREFIX = 8  # shorter shared prefixes are not worth a separate forward


def encode_batch_for_verdict(tokenizer, texts: Sequence[str]) -> list[VerdictEncoding]:
    """`encode_for_verdict` for many texts with two batched tokenizer calls (text + "A", text + "B").
    A row whose split is not one verdict token goes through `encode_for_verdict`, which names the problem."""
    if not texts:
        return []
    ids_a = tokenizer([t + "A" for t in texts], add_special_tokens=False)["input_ids"]
    ids_b = tokenizer([t + "B" for t in texts], add_special_tokens=False)["input_ids"]
    out = []
    for text, a, b in zip(texts, ids_a, ids_b, strict=True):
        if text.endswith(VERDICT_OPEN) and len(a) == len(b) and a[:-1] == b[:-1] and a[-1] != b[-1]:
            out.append(VerdictEncoding(list(a[:-1]), a[-1], b[-1]))
        else:
            out.append(encode_for_verdict(tokenizer, text))
    return out


def shared_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    """Tokens every sequence starts with, leaving each at least one token of its own."""
    first, n = seqs[0], min(len(s) for s in seqs) - 1
    for s in seqs[1:]:
        n = next((j for j in range(n) if s[j] != first[j]), n)
    return max(n, 0)


class _fp32_head:
    """Recomputes the output head in float32 on the hidden states the model feeds it. A bfloat16 head
    rounds logits near 20 to steps of 0.125, so P(A) / (P(A) + P(B)) took a handful of values (exact
    ties among them): too coarse to rank pairs or to measure calibration."""

    def __init__(self, model):
        self.head = model.get_output_embeddings()
        self.softcap = getattr(model.config, "final_logit_softcapping", None)  # Gemma-2 style capping
        self.logits: torch.Tensor | None = None

    def _capture(self, module, args) -> None:
        weight, bias = self.head.weight.float(), self.head.bias
        logits = args[0].float() @ weight.T + (bias.float() if bias is not None else 0.0)
        self.logits = torch.tanh(logits / self.softcap) * self.softcap if self.softcap else logits

    def __enter__(self):
        self._hook = self.head.register_forward_pre_hook(self._capture)
        return self

    def __exit__(self, *exc) -> None:
        self._hook.remove()


def order_for(pair_id: str, seed: int, order: str) -> list[bool]:
    """The `swapped` flags to judge a pair with: random -> [drawn from (seed, id)], fixed -> [False],
    both -> [False, True]. Swapped means the rejected response is shown as A."""
    if order == "fixed":
        return [False]
    if order == "both":
        return [False, True]
    if order == "random":
        return [hashlib.sha256(f"{seed}\0{pair_id}".encode()).digest()[0] & 1 == 1]
    raise ValueError(f"judge.order={order!r}: expected one of {list(ORDERS)}")


def shown(pair: Pair, swapped: bool) -> tuple[str, str]:
    """(response A, response B) as the judge sees them."""
    return (pair.rejected, pair.chosen) if swapped else (pair.chosen, pair.rejected)


def render_pair(tokenizer, judge_cfg, pair: Pair, swapped: bool, *, open_verdict: bool) -> str:
    a, b = shown(pair, swapped)
    return render_judge(tokenizer, judge_messages(judge_cfg, pair.prompt_messages(), a, b), open_verdict=open_verdict)


def _label(swapped: bool) -> str:
    return "BA" if swapped else "AB"


def _verdict_from_prob(p_a: float) -> str:
    return A if p_a > 0.5 else B if p_a < 0.5 else TIE


def records_from_probs(pairs: Sequence[Pair], orders: Sequence[list[bool]], probs_a_shown: Sequence[list[float]],
                       extra: Sequence[dict] | None = None) -> list[dict]:
    """Records for a judge that gives P(A preferred) per order shown (direct scoring, PairRM).
    P(chosen) averages the orders; the verdict is the side it favours (0.5 exactly is a tie)."""
    records = []
    for i, (pair, swaps, probs) in enumerate(zip(pairs, orders, probs_a_shown, strict=True)):
        p_chosen_each = [1.0 - p if s else p for s, p in zip(swaps, probs, strict=True)]
        p_chosen = sum(p_chosen_each) / len(p_chosen_each)
        verdict = _verdict_from_prob(p_chosen)
        score = score_from_prob(p_chosen)
        records.append({
            "id": pair.id,
            "subset": pair.subset,
            "orders": [_label(s) for s in swaps],
            "p_a_shown": probs,
            "verdicts_shown": [_verdict_from_prob(p) for p in probs],
            "order_verdicts": [_verdict_from_prob(p) for p in p_chosen_each],
            "p_chosen": p_chosen,
            "verdict": verdict,
            "score": score,
            "correct": score == 1.0,
            "invalid": 0,
            "n_verdicts": len(probs),
            **(extra[i] if extra else {}),
        })
    return records


def records_from_texts(pairs: Sequence[Pair], orders: Sequence[list[bool]], texts: Sequence[list[list[str]]]) -> list[dict]:
    """Records for a judge that writes k rationales per order shown: each is parsed, mapped back to
    the stored order and pooled into one majority vote; P(chosen) is the vote share."""
    records = []
    for pair, swaps, per_order in zip(pairs, orders, texts, strict=True):
        shown_v = [[parse_verdict(t) for t in samples] for samples in per_order]
        original = [[to_original_order(v, s) for v in vs] for s, vs in zip(swaps, shown_v, strict=True)]
        flat = [v for vs in original for v in vs]
        vote = majority_vote(flat)
        score = is_correct(vote.winner, True)
        records.append({
            "id": pair.id,
            "subset": pair.subset,
            "orders": [_label(s) for s in swaps],
            "texts": [list(samples) for samples in per_order],
            "verdicts_shown": [v for vs in shown_v for v in vs],
            "verdicts": flat,
            "order_verdicts": [majority_vote(vs).winner for vs in original],
            "votes": dataclasses.asdict(vote),
            "p_chosen": vote.prob_a,
            "verdict": vote.winner,
            "score": score,
            "score_maj1": is_correct(flat[0], True),
            "correct": score == 1.0,
            "invalid": sum(v == INVALID for v in flat),
            "n_verdicts": len(flat),
        })
    return records


class DirectJudge:
    """One forward pass per order shown: P(A) / (P(A) + P(B)) of the verdict token after the assistant
    turn is opened with "[[". No sampling, so no invalid verdicts."""

    rewardbench_model_type = "Generative RM"

    def __init__(self, model, tokenizer, judge_cfg, *, seed: int):
        check_judge_cfg(judge_cfg)
        order_for("", seed, judge_cfg["order"])  # fail early on a bad order
        self.model, self.tokenizer, self.judge_cfg, self.seed = model, tokenizer, judge_cfg, int(seed)
        self.batch_size = int(judge_cfg["batch_size"])

    @torch.inference_mode()
    def verdict_probs(self, texts: Sequence[str], desc: str | None = "direct") -> list[tuple[float, float]]:
        """(P(A) / (P(A) + P(B)), P(A) + P(B)) for each text rendered with open_verdict=True.

        The token prefix every text shares (system prompt, template head) is run once per call and its
        KV cache expanded over each batch; the rest is left-padded, the padding sitting between the
        shared prefix and each row's own tokens, so every row's last token is its verdict position.
        desc=None shows no progress bar."""
        encs = encode_batch_for_verdict(self.tokenizer, texts)
        order = sorted(range(len(encs)), key=lambda i: -len(encs[i].context_ids))
        out: list[tuple[float, float]] = [(0.5, 0.0)] * len(encs)
        if not encs:
            return out
        self.model.eval()
        device = next(self.model.parameters()).device
        shared = shared_prefix_len([e.context_ids for e in encs])
        prefix_kv = self._prefix_kv(encs[0].context_ids[:shared], device) if shared >= MIN_SHARED_PREFIX else None
        if prefix_kv is None:
            shared = 0
        for start in tqdm(range(0, len(order), self.batch_size), desc=desc, leave=False, disable=desc is None):
            idx = order[start : start + self.batch_size]
            ids, mask = left_pad([encs[i].context_ids[shared:] for i in idx], self.tokenizer.pad_token_id)
            ids, mask = ids.to(device), mask.to(device)
            pos = positions(mask) + shared
            extra = {}
            if prefix_kv is not None:
                from transformers import DynamicCache

                rows = len(idx)
                extra["cache"] = DynamicCache(ddp_cache_data=[(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1))
                                                              for k, v in prefix_kv], config=self.model.config)
                mask = torch.cat([mask.new_ones(rows, shared), mask], dim=1)
            with _fp32_head(self.model) as head:
                self.model(input_ids=ids, attention_mask=mask, position_ids=pos, logits_to_keep=1, **extra)
            logp = torch.log_softmax(head.logits[:, -1, :], dim=-1)
            ta = torch.tensor([encs[i].token_a for i in idx], device=device)
            tb = torch.tensor([encs[i].token_b for i in idx], device=device)
            la, lb = logp.gather(1, ta[:, None])[:, 0], logp.gather(1, tb[:, None])[:, 0]
            p_a, mass = torch.sigmoid(la - lb).tolist(), torch.exp(torch.logaddexp(la, lb)).tolist()
            for row, i in enumerate(idx):
                out[i] = (p_a[row], mass[row])
        return out

    def _prefix_kv(self, prefix: list[int], device) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
        """Per-layer (keys, values) of the shared prefix, batch 1; None where the cache is not a plain
        per-layer key/value cache (then every row runs in full)."""
        out = self.model(input_ids=torch.tensor([prefix], device=device), use_cache=True)
        cache = out["cache"] if "cache" in out else out.get("past_key_values")
        try:
            kv = [(layer.keys, layer.values) for layer in cache.layers]
        except AttributeError:
            return None
        if any(not torch.is_tensor(k) or k.shape[-2] != len(prefix) for k, _ in kv):
            return None  # sliding-window or otherwise truncated layers: not reusable as is
        return kv

    def predict(self, pairs: Sequence[Pair], set_name: str) -> list[dict]:
        orders = [order_for(p.id, self.seed, self.judge_cfg["order"]) for p in pairs]
        texts = [render_pair(self.tokenizer, self.judge_cfg, p, s, open_verdict=True) for p, ss in zip(pairs, orders) for s in ss]
        flat = iter(self.verdict_probs(texts, desc=f"judge {set_name}"))
        per_pair = [[next(flat) for _ in ss] for ss in orders]
        return records_from_probs(pairs, orders, [[p for p, _ in pp] for pp in per_pair],
                                  extra=[{"verdict_mass": [m for _, m in pp]} for pp in per_pair])


class CoTJudge:
    """k sampled rationales per order shown, each ending in [[A]] or [[B]]; majority vote."""

    rewardbench_model_type = "Generative RM"

    def __init__(self, generator: Generator, tokenizer, judge_cfg, *, seed: int):
        check_judge_cfg(judge_cfg)
        order_for("", seed, judge_cfg["order"])
        self.generator, self.tokenizer, self.judge_cfg, self.seed = generator, tokenizer, judge_cfg, int(seed)
        self.params = SamplingParams.from_judge(judge_cfg, seed=seed)

    def predict(self, pairs: Sequence[Pair], set_name: str) -> list[dict]:
        orders = [order_for(p.id, self.seed, self.judge_cfg["order"]) for p in pairs]
        prompts = [render_pair(self.tokenizer, self.judge_cfg, p, s, open_verdict=False) for p, ss in zip(pairs, orders) for s in ss]
        sampled = self.generator.sample(prompts, self.params, desc=f"judge {set_name}")
        closed = None
        if self.judge_cfg.get("close_verdict"):
            from genrm_exp.closing import close_verdicts

            scorer = DirectJudge(self.generator.model, self.tokenizer, self.judge_cfg, seed=self.seed)
            sampled, closed = close_verdicts(scorer, prompts, sampled, close=str(self.judge_cfg["close_verdict"]),
                                             temperature=float(self.judge_cfg["temperature"]), seed=self.seed,
                                             setting="judge.close_verdict")
        flat = iter(sampled)
        texts = [[next(flat) for _ in ss] for ss in orders]
        records = records_from_texts(pairs, orders, texts)
        if closed is not None:
            flat_closed = iter(closed)
            for record, ss in zip(records, orders):
                record["closed"] = sum(sum(next(flat_closed)) for _ in ss)
        return records
