"""Zero-shot LLM-as-a-judge: no training; the base model judges with the prompt of conf/judge/.

    python -m genrm_exp objective=zero_shot                 # direct: P(A) / (P(A) + P(B)) after "[["
    python -m genrm_exp objective=zero_shot judge=cot       # k sampled rationales, majority vote
"""

from __future__ import annotations

import torch

from genrm_exp.generation import Generator
from genrm_exp.judging import CoTJudge, DirectJudge
from genrm_exp.modeling import load_model


def judge_dtype(judge_cfg, model_cfg, device: torch.device) -> torch.dtype:
    """`judge.dtype`, where `auto` is the model's dtype, except float32 when a CoT judge decodes on
    CPU: small-batch bfloat16 matmuls there decoded about 10x slower than float32."""
    name = judge_cfg["dtype"]
    if name == "auto":
        name = "float32" if judge_cfg["style"] == "cot" and device.type == "cpu" else model_cfg["dtype"]
    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"judge.dtype={name!r}: expected auto, float32, bfloat16 or float16")
    return dtype


def build_judge(model, tokenizer, cfg):
    """The judge of `cfg.judge.style` around a causal LM."""
    if cfg.judge.style == "cot":
        return CoTJudge(Generator.from_judge(model, tokenizer, cfg.judge), tokenizer, cfg.judge, seed=int(cfg.seed))
    return DirectJudge(model, tokenizer, cfg.judge, seed=int(cfg.seed))


def build(ctx):
    cfg = ctx.cfg
    model = load_model(cfg.model, ctx.tokenizer, head="causal_lm", cache=cfg.paths.cache)
    if torch.cuda.is_available():
        model = model.to("cuda")
    model = model.to(judge_dtype(cfg.judge, cfg.model, next(model.parameters()).device))
    return build_judge(model, ctx.tokenizer, cfg)
