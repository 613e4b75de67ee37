"""Clients of a running `python -m genrm_exp.serve`, for RL trainers. Standard library only, so they
import in a trainer's environment without the server's dependencies.

TRL (GRPOTrainer, OnlineDPO-style reward_funcs):
    from genrm_exp.serve.clients import RemoteReward
    trainer = GRPOTrainer(..., reward_funcs=[RemoteReward("http://127.0.0.1:5000")])
    # a pairwise judge needs a dataset column of reference responses: RemoteReward(url, reference_key="reference")

verl (reward loop, or the older reward managers), in the trainer's config:
    custom_reward_function.path=<site-packages>/genrm_exp/serve/clients.py
    custom_reward_function.name=compute_score            # or compute_score_async
    +custom_reward_function.reward_kwargs.url=http://127.0.0.1:5000
verl calls compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=...) per
response (verl/experimental/reward_loop/reward_manager/naive.py); the prompt is read from
extra_info[prompt_key] (default "question", where verl's data preprocessing examples keep it; a
string or chat messages), and
for a pairwise judge the reference is ground_truth (the dataset's reward_model.ground_truth).

Both send POST /v1/reward; a token is read from the environment variable `token_env` when set.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

DEFAULT_URL = "http://127.0.0.1:5000"
TOKEN_ENV = "GENRM_SERVE_TOKEN"


class ServeError(RuntimeError):
    """The server answered with an error status; the message is its reason."""

    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def post(url: str, path: str, payload: dict, *, token: str | None = None, timeout: float = 300.0) -> dict:
    """POST JSON to url + path and return the JSON answer; an error status raises ServeError."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url.rstrip("/") + path, data=json.dumps(payload).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        try:
            message = json.loads(err.read()).get("error", err.reason)
        except (ValueError, AttributeError):
            message = err.reason
        raise ServeError(err.code, str(message)) from None


def _text(completion) -> str:
    """TRL's completion: a string, or conversational [{"role": "assistant", "content": ...}]."""
    if isinstance(completion, str):
        return completion
    return "".join(m["content"] for m in completion if m["role"] == "assistant")


def _prompt(prompt):
    return prompt if isinstance(prompt, str) else [{"role": m["role"], "content": m["content"]} for m in prompt]


class RemoteReward:
    """A TRL reward function f(prompts, completions, **columns) -> list[float] served over HTTP.

    The completions of one call are sent in chunks of `chunk` items, concurrently, so the server's
    dynamic batching gathers them. `reference_key` names the column of reference responses a
    pairwise judge compares against (reward = P(completion beats reference)); a scalar reward model
    ignores it."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        reference_key: str = "reference",
        token_env: str = TOKEN_ENV,
        timeout: float = 300.0,
        chunk: int = 16,
        name: str = "genrm_served",
    ):
        self.url, self.reference_key, self.token_env, self.timeout, self.chunk = (
            url,
            reference_key,
            token_env,
            timeout,
            chunk,
        )
        self.__name__ = name  # TRL logs each reward function under its __name__

    def __call__(self, prompts: Sequence, completions: Sequence, **columns) -> list[float]:
        references = columns.get(self.reference_key)
        items = [
            {
                "prompt": _prompt(p),
                "response": _text(c),
                "reference": None if references is None else _text(references[i]),
            }
            for i, (p, c) in enumerate(zip(prompts, completions, strict=True))
        ]
        chunks = [items[i : i + self.chunk] for i in range(0, len(items), self.chunk)]
        token = os.environ.get(self.token_env) or None

        def send(part):
            return post(self.url, "/v1/reward", {"items": part}, token=token, timeout=self.timeout)["rewards"]

        with ThreadPoolExecutor(max_workers=max(1, min(len(chunks), 8))) as pool:
            return [float(r) for part in pool.map(send, chunks) for r in part]


def compute_score(
    data_source=None,
    solution_str: str = "",
    ground_truth=None,
    extra_info: dict | None = None,
    *,
    url: str | None = None,
    prompt_key: str = "question",
    token_env: str = TOKEN_ENV,
    timeout: float = 300.0,
    **_verl: object,
) -> dict:
    """verl's custom reward function: {"score": reward} of one response. `url` defaults to the
    environment's GENRM_SERVE_URL, else http://127.0.0.1:5000; verl's reward-loop extras
    (reward_router_address, reward_model_tokenizer) are accepted and not used."""
    extra_info = extra_info or {}
    if prompt_key not in extra_info:
        raise KeyError(f"compute_score reads the prompt from extra_info[{prompt_key!r}]; got keys {sorted(extra_info)}")
    reference = ground_truth if isinstance(ground_truth, str) else None
    item = {"prompt": _prompt(extra_info[prompt_key]), "response": solution_str, "reference": reference}
    answer = post(
        url or os.environ.get("GENRM_SERVE_URL", DEFAULT_URL),
        "/v1/reward",
        {"items": [item]},
        token=os.environ.get(token_env) or None,
        timeout=timeout,
    )
    return {"score": float(answer["rewards"][0])}


async def compute_score_async(*args, **kwargs) -> dict:
    """compute_score for verl's reward loop as a coroutine (it awaits coroutine functions directly;
    the request runs in a thread so the loop keeps other samples' requests in flight)."""
    return await asyncio.to_thread(compute_score, *args, **kwargs)
