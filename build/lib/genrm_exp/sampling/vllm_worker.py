"""The vLLM sampler process: one engine for a whole sampling stage, fed request files.

    .venv-vllm/bin/python -m genrm_exp.sampling.vllm_worker engine.json    # started by genrm_exp.sampling.vllm_backend

It runs in the sampler environment (vllm, and the transformers vLLM accepts), so it imports only the
standard library and vllm. Protocol, one line each way:
- it prints `ready` on its protocol stream (the stdout it was given; vLLM's own output goes to
  stderr) once the engine is up, or `error <kind> <message>` and exits (kind: oom, model, other);
- it reads a request file path per line on stdin: JSON {"prompts": [[token id, ...]], "seeds": [int],
  "n", "temperature", "top_p", "max_tokens", "stop": [str]}; it writes the reply beside it
  (`<request>.out.json`, temporary name then rename): {"token_ids": [[[id, ...] * n] per prompt]},
  and prints `done <reply path>` (or `error ...` and exits);
- it exits at end of input, which frees the engine's memory (GPU included).

The engine runs in this process (VLLM_ENABLE_V1_MULTIPROCESSING=0): it starts in seconds instead of
half a minute on CPU, and every request is queued before the first step, so the same requests give
the same batches. The token ids are returned as made: the caller cuts at the stop rule and decodes.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path


def classify(err: BaseException) -> str:
    """oom, model (vLLM cannot load this model) or other, from the error and its causes."""
    text = " ".join(f"{type(e).__name__}: {e}" for e in _chain(err)).lower()
    if any(s in text for s in ("outofmemory", "out of memory", "available memory", "can't allocate memory")):
        return "oom"
    if any(
        s in text
        for s in (
            "not supported",
            "unsupported",
            "architectures",
            "model type",
            "no such file",
            "not a valid",
            "does not appear to have",
            "unrecognized model",
            "cannot find",
        )
    ):
        return "model"
    return "other"


def _chain(err: BaseException):
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        err = err.__cause__ or err.__context__


def engine(spec: dict):
    from vllm import LLM

    args = dict(
        model=spec["model"],
        dtype=spec["dtype"],
        seed=int(spec["seed"]),
        enforce_eager=bool(spec["enforce_eager"]),
        tensor_parallel_size=int(spec["tensor_parallel_size"]),
        enable_prefix_caching=True,
        # A prompt prefilled in parts makes vLLM rewind its seeded generator, which a CPU
        # generator cannot ("CPU Generator does not use offset"): whole prefills only.
        enable_chunked_prefill=False,
    )
    if spec.get("max_model_len") is not None:
        args["max_model_len"] = int(spec["max_model_len"])
    if spec.get("kv_cache_gib") is not None:  # exact KV cache size (on CPU the utilisation is of host memory)
        args["kv_cache_memory_bytes"] = int(float(spec["kv_cache_gib"]) * (1 << 30))
    elif spec.get("gpu_memory_utilization") is not None:
        args["gpu_memory_utilization"] = float(spec["gpu_memory_utilization"])
    return LLM(**args)


def answer(llm, request: dict) -> dict:
    from vllm import SamplingParams

    params = [
        SamplingParams(
            n=int(request["n"]),
            temperature=float(request["temperature"]),
            top_p=float(request["top_p"]),
            max_tokens=int(request["max_tokens"]),
            seed=int(s),
            stop=list(request["stop"]),
            include_stop_str_in_output=True,
            skip_special_tokens=False,
        )
        for s in request["seeds"]
    ]
    prompts = [{"prompt_token_ids": list(p)} for p in request["prompts"]]
    outs = llm.generate(prompts, params, use_tqdm=False) if prompts else []
    return {"token_ids": [[list(c.token_ids) for c in sorted(o.outputs, key=lambda c: c.index)] for o in outs]}


def write_atomic(path: Path, value: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value), encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # everything vLLM prints goes to stderr (the log file), the protocol stays clean

    def say(line: str) -> None:
        protocol.write(line.replace("\n", " ") + "\n")
        protocol.flush()

    try:
        llm = engine(json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    except BaseException as err:  # noqa: B036  (the caller turns it into one message)
        traceback.print_exc()
        say(f"error {classify(err)} {type(err).__name__}: {err}"[:2000])
        return 1
    say("ready")
    for line in sys.stdin:
        path = Path(line.strip())
        if not line.strip():
            continue
        try:
            out = path.with_name(path.name + ".out.json")
            write_atomic(out, answer(llm, json.loads(path.read_text(encoding="utf-8"))))
        except BaseException as err:  # noqa: B036
            traceback.print_exc()
            say(f"error {classify(err)} {type(err).__name__}: {err}"[:2000])
            return 1
        say(f"done {out}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    sys.exit(main(sys.argv[1:]))
