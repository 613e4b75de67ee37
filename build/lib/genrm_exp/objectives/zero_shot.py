"""Zero-shot LLM-as-a-judge: no training; the base model judges with the prompt of conf/judge/.

python -m genrm_exp objective=zero_shot_direct          # P(A) / (P(A) + P(B)) after "[["
python -m genrm_exp objective=zero_shot_cot             # k sampled rationales, majority vote
python -m genrm_exp objective=zero_shot judge=cot       # the same, with the judge group chosen by hand
"""

from __future__ import annotations

from genrm_exp import checkpoints
from genrm_exp.judges.factory import generative


def build(ctx):
    model = checkpoints.load(ctx.cfg, ctx.tokenizer, None, head="causal_lm")
    return generative(model, ctx.tokenizer, ctx.cfg)
