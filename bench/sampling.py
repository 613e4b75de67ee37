"""Rationale sampling: stock `generate` (num_return_sequences=k) against genrm-exp's Generator (our loop,
and judge.backend=vllm where the sampler environment is installed) on the same judge prompts, and GenRM direct scoring against a Bradley-Terry forward per pair."""

from __future__ import annotations

import time

import torch

from bench.shapes import build_model, sync


def copy_bandwidth(device: str) -> float:
    """Measured device copy bandwidth in bytes/s (read + write), for the decode roofline."""
    n = (1 << 30) if device == "cuda" else (1 << 26)
    a = torch.empty(n, dtype=torch.uint8, device=device)
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    sync(device)
    t = time.perf_counter()
    reps = 10
    for _ in range(reps):
        b.copy_(a)
    sync(device)
    return 2 * n * reps / (time.perf_counter() - t)


def judge_prompts(tokenizer, texts: list[dict]) -> list[str]:

    from genrm_exp.prompts import render_pair

    judge = judge_config("cot")
    return [
        render_pair(
            tokenizer,
            judge,
            [{"role": "user", "content": t["prompt"]}],
            t["chosen"],
            t["rejected"],
            "AB",
            open_verdict=False,
        )
        for t in texts
    ]


def judge_config(name: str):
    """conf/judge/<name>.yaml composed by Hydra (judge configs inherit through defaults lists)."""
    from pathlib import Path

    from hydra import compose, initialize_config_dir

    conf = Path(__file__).resolve().parents[1] / "conf"
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        return compose(config_name="config", overrides=[f"judge={name}", f"paths.root={conf.parent}"]).judge


def stock_generate(
    model, tokenizer, prompts: list[str], *, k: int, new_tokens: int, batch_prompts: int, device: str
) -> int:
    """Plain transformers: left-padded batches, num_return_sequences=k, sampling; returns tokens made."""
    tokenizer.padding_side = "left"
    made = 0
    for i in range(0, len(prompts), batch_prompts):
        enc = tokenizer(prompts[i : i + batch_prompts], return_tensors="pt", padding=True, add_special_tokens=False).to(
            device
        )
        out = model.generate(
            **enc,
            do_sample=True,
            temperature=1.0,
            top_p=0.95,
            num_return_sequences=k,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            pad_token_id=tokenizer.pad_token_id,
        )
        made += (out.shape[1] - enc["input_ids"].shape[1]) * out.shape[0]
    tokenizer.padding_side = "right"
    return made


def sampling_model(shape: str, tokenizer, device: str):
    """The model that samples: `smollm2` is the embedded SmolLM2-135M-Instruct with its real weights
    (float32 on CPU, as the product's CoT judge runs there; bf16 on CUDA), whose next-token
    distributions have a trained model's shape (a random model's are nearly flat, so the top-p
    sort and the sampling look costlier than they are); any other name is a random shape."""
    if shape != "smollm2":
        return build_model(shape, tokenizer, head="causal_lm", device=device).eval()
    from transformers import AutoModelForCausalLM

    from bench.shapes import tokenizer_folder

    dtype = torch.float32 if device == "cpu" else torch.bfloat16
    return AutoModelForCausalLM.from_pretrained(tokenizer_folder(), dtype=dtype).to(device).eval()


def sampling(
    shape: str,
    tokenizer,
    texts: list[dict],
    *,
    device: str,
    k: int,
    new_tokens: int,
    batch_prompts: int,
    vllm: bool = False,
) -> list[dict]:
    """Both paths warm up on the `batch_prompts` longest prompts (the shapes of the first timed batch:
    the static backend's cache length and, on CUDA, its compiled graph), then run all prompts once.
    Our tokens are those the Generator reports making (EOS included), not a re-tokenisation. With
    `vllm` (and the sampler environment installed) judge.backend=vllm runs too: its warm-up call
    starts the engine, and the row's startup_s is that call's time."""
    from genrm_exp.sampling.generation import Generator, SamplingParams

    model = sampling_model(shape, tokenizer, device)
    prompts = judge_prompts(tokenizer, texts)
    longest = sorted(prompts, key=lambda p: -len(tokenizer(p, add_special_tokens=False)["input_ids"]))[:batch_prompts]
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    roofline = batch_prompts * k * copy_bandwidth(device) / 2 / param_bytes  # one weight read per decode step
    params = SamplingParams(k=k, temperature=1.0, top_p=0.95, max_new_tokens=new_tokens, stop_at_verdict=False)

    def ours(gen: Generator):
        def fn(ps: list[str]) -> int:
            gen.sample(ps, params)
            return gen.last_stats["new_tokens"]

        return fn

    engines = {"genrm-exp Generator": Generator(model, tokenizer, batch_size=batch_prompts * k)}
    if device == "cuda":  # judge.compile: CUDA graphs of the decode step's forward
        engines["genrm-exp Generator, compiled"] = Generator(
            model, tokenizer, batch_size=batch_prompts * k, compile=True
        )
    vllm_cfg = judge_config("cot").vllm
    from genrm_exp.sampling import vllm_backend

    if vllm and vllm_backend.available(vllm_cfg):  # judge.backend=vllm: the engine starts in the warm-up call
        engines[f"vLLM ({vllm_cfg.dtype}, eager)"] = Generator(
            model, tokenizer, batch_size=batch_prompts * k, backend="vllm", vllm=vllm_cfg
        )
    paths = [
        (
            "stock generate",
            lambda ps: stock_generate(
                model, tokenizer, ps, k=k, new_tokens=new_tokens, batch_prompts=batch_prompts, device=device
            ),
            None,
        )
    ]
    paths += [(name, ours(gen), gen) for name, gen in engines.items()]
    rows = []
    for name, fn, gen in paths:
        try:
            with torch.inference_mode():
                started = time.perf_counter()
                fn(longest)  # warm up: the first generate call runs ~10x slower; compiles the static step
                sync(device)
                warmup = time.perf_counter() - started
                t = time.perf_counter()
                made = fn(prompts)
                sync(device)
        except Exception as err:  # one failing path is reported, the others still run
            rows.append({"path": name, "error": f"{type(err).__name__}: {err}"[:300]})
            continue
        tps = made / (time.perf_counter() - t)
        engine = gen is not None and gen.backend == "vllm"
        dtype = str(vllm_cfg.dtype) if engine else str(model.dtype).removeprefix("torch.")
        scale = model.dtype.itemsize / getattr(torch, dtype).itemsize  # the engine reads its own weight bytes
        rows.append(
            {
                "path": name,
                "model": shape,
                "dtype": dtype,
                "tokens_per_s": tps,
                "roofline_share": tps / (roofline * scale),
                "batch": batch_prompts * k,
                "tokens": made,
                "startup_s": round(warmup, 1),
                **({"backend": gen.last_stats["backend"]} if gen is not None else {}),
            }
        )
        if engine:
            gen.close()
    return rows


def scoring(shape: str, tokenizer, texts: list[dict], *, device: str, batch: int) -> list[dict]:
    """GenRM direct scoring (DirectJudge: one forward over the judge prompt, the verdict token's logits
    only) against a BT reward model (RewardJudge: (prompt, chosen) and (prompt, rejected)), per pair."""
    from omegaconf import open_dict

    from genrm_exp.judges.direct import DirectJudge
    from genrm_exp.judges.reward import RewardJudge
    from genrm_exp.prompts import render_pair

    judge_cfg = judge_config("direct")
    with open_dict(judge_cfg):
        judge_cfg.batch_size = batch
    msgs = [[{"role": "user", "content": t["prompt"]}] for t in texts]
    judge_texts = [
        render_pair(tokenizer, judge_cfg, m, t["chosen"], t["rejected"], "AB", open_verdict=True)
        for m, t in zip(msgs, texts)
    ]
    direct = DirectJudge(build_model(shape, tokenizer, head="causal_lm", device=device), tokenizer, judge_cfg, seed=0)
    bt = RewardJudge(build_model(shape, tokenizer, head="reward", device=device), tokenizer, batch_size=2 * batch)
    rows = []

    def bt_pass():  # tokenization counts on both sides, as in the product's evaluation
        return bt.rewards_for([(m, r) for m, t in zip(msgs, texts) for r in (t["chosen"], t["rejected"])])

    for name, fn in (
        ("BT forward (2 seqs/pair)", bt_pass),
        ("GenRM direct (1 seq/pair)", lambda: direct.verdict_probs(judge_texts)),
    ):
        fn()
        sync(device)
        t = time.perf_counter()
        fn()
        sync(device)
        rows.append({"path": name, "pairs_per_s": len(texts) / (time.perf_counter() - t)})
    return rows
