"""The sampling engine: how a judge's chains of thought and verdicts are drawn.

    generation.py    Generator: k seeded completions per prompt on one of three backends (static,
                     hf_generate, vllm), resolve_engine (judge.backend=auto decided once per run)
    decoding.py      the static backend's batched, cache-sharing decoding loop and its seeded draw
    vllm_backend.py  the vLLM engine run as a process of the sampler environment (make setup-vllm)
    vllm_worker.py   that process: the standard library and vLLM only (it runs in the other venv)
    closing.py       closing a chain without a verdict by the model's odds (judge/star.close_verdict)

This file imports nothing, so the worker can run from the package in the sampler environment.
"""
