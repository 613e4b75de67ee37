"""Direct scoring: one forward pass per order shown, P(A) / (P(A) + P(B)) of the verdict token after
the assistant turn is opened with "[[" (zero-shot judges and GenRM, the paper's Eq. 7).

    judge = DirectJudge(model, tokenizer, cfg.judge, seed=cfg.seed)
    records = judge.predict(pairs, "llmbar-natural")      # genrm_exp/judges/records.py; adds verdict_mass
    probs = judge.verdict_probs(rendered_open_texts)      # [(P(A) / (P(A) + P(B)), P(A) + P(B))]

Test: python -m pytest tests/judges/test_judges.py -q
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from genrm_exp.data.schema import Pair
from genrm_exp.judges.records import from_probs
from genrm_exp.orders import orders_for
from genrm_exp.prompts import VERDICT_OPEN, VerdictEncoding, check_judge_cfg, encode_for_verdict, render_pair
from genrm_exp.sampling.generation import left_pad, positions

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


class DirectJudge:
    """One forward pass per order shown: P(A) / (P(A) + P(B)) of the verdict token after the assistant
    turn is opened with "[[". No sampling, so no invalid verdicts."""

    rewardbench_model_type = "Generative RM"

    def __init__(self, model, tokenizer, judge_cfg, *, seed: int):
        check_judge_cfg(judge_cfg)
        orders_for("", seed, judge_cfg["order"])  # fail early on a bad order
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
                extra["cache"] = DynamicCache(
                    ddp_cache_data=[(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1)) for k, v in prefix_kv],
                    config=self.model.config,
                )
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
        orders = [orders_for(p.id, self.seed, self.judge_cfg["order"]) for p in pairs]
        texts = [
            render_pair(self.tokenizer, self.judge_cfg, p.prompt_messages(), p.chosen, p.rejected, o, open_verdict=True)
            for p, oo in zip(pairs, orders)
            for o in oo
        ]
        flat = iter(self.verdict_probs(texts, desc=f"judge {set_name}"))
        per_pair = [[next(flat) for _ in oo] for oo in orders]
        return from_probs(
            pairs,
            orders,
            [[p for p, _ in pp] for pp in per_pair],
            extra=[{"verdict_mass": [m for _, m in pp]} for pp in per_pair],
        )
