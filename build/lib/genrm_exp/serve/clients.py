"""Clients of a running `python -m genrm_exp.serve`, for RL trainers. Standard library only, so they
import in a trainer's environment without the server's dependencies.

TRL (GRPOTrainer, OnlineDPO-style reward_funcs):
    from genrm_exp.serve.clients import RemoteReward
    trainer = GRPOTrainer(..., reward_funcs=[RemoteReward("http://127.0.0.1:5000")])
    # a pairwise judge needs a dataset column of reference responses: RemoteReward(url, reference_key="reference")

verl, in the trainer's config:
    custom_reward_function.path=<site-packages>/genrm_exp/serve/clients.py
    custom_reward_function.name=compute_score            # or compute_score_async
    +custom_reward_function.reward_kwargs.url=http://127.0.0.1:5000
verl's per-response reward managers call compute_score(data_source=, solution_str=, ground_truth=,
extra_info=) (verl/workers/reward_manager/naive.py); its batch manager
(reward_model.reward_manager=batch, verl/workers/reward_manager/batch.py) calls the same function
with plural names, data_sources=, solution_strs=, ground_truths=, extra_infos=, and takes a list
back: one request for the batch. verl hands a reward function no prompt, only extra_info, so the
prompt is extra_info[prompt_key] when prompt_key is given, else the first of PROMPT_KEYS there:
"prompt" (the chat messages of verl's `prompt` column, when the preprocessing copies them into
extra_info) or "question" (where verl's examples/data_preprocess/gsm8k.py keeps the question). For
a pairwise judge the reference is ground_truth (the dataset's reward_model.ground_truth).

Both send POST /v1/reward; a token is read from the environment variable `token_env` when set. A
503 (queue full), 504 (timeout) or a refused or broken connection is retried `retries` times with
exponential backoff (backoff_s, doubling; a 503's Retry-After when longer), as TRL's vLLM client
retries (trl/extras/vllm_client.py); any other error status raises ServeError at once.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

DEFAULT_URL = "http://127.0.0.1:5000"
TOKEN_ENV = "GENRM_SERVE_TOKEN"
TIMEOUT_S = 150.0  # above the server's request_timeout_s (120), so its 504 arrives first
RETRIED = (503, 504)
PROMPT_KEYS = ("prompt", "question")


class ServeError(RuntimeError):
    """The server answered with an error status (or could not be reached); the message says why."""

    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status


def post(
    url: str,
    path: str,
    payload: dict,
    *,
    token: str | None = None,
    timeout: float = TIMEOUT_S,
    retries: int = 4,
    backoff_s: float = 1.0,
    sleep=time.sleep,
) -> dict:
    """POST JSON to url + path and return the JSON answer; an error status raises ServeError, after
    `retries` retries for 503, 504 and connection errors."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(payload).encode()
    for attempt in range(retries + 1):
        request = urllib.request.Request(url.rstrip("/") + path, data=data, headers=headers, method="POST")
        wait = backoff_s * 2**attempt
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            try:
                message = json.loads(err.read()).get("error", err.reason)
            except (ValueError, AttributeError):
                message = err.reason
            failure = ServeError(err.code, str(message))
            if err.code not in RETRIED:
                raise failure from None
            after = err.headers.get("Retry-After", "")
            wait = max(wait, float(after)) if after.isdigit() else wait
        except (urllib.error.URLError, ConnectionError, http.client.RemoteDisconnected) as err:
            failure = ServeError(0, f"{url}{path} unreachable: {getattr(err, 'reason', err)}")
        if attempt < retries:
            sleep(wait)
    raise ServeError(failure.status, f"{failure} (after {retries} retries)") from None


def _content(content) -> str:
    """A message's content: a string, or TRL's content parts ([{"type": "text", "text": ...}])."""
    if isinstance(content, str):
        return content
    return "".join(part["text"] for part in content if part.get("type") == "text")


def _text(completion) -> str:
    """TRL's completion: a string, or conversational [{"role": "assistant", "content": ...}]."""
    if isinstance(completion, str):
        return completion
    return "".join(_content(m["content"]) for m in completion if m["role"] == "assistant")


def _prompt(prompt):
    """A string, or chat messages with role and content only (the server refuses `tool` turns and
    non-text parts with a message naming them)."""
    if isinstance(prompt, str):
        return prompt
    return [{"role": m["role"], "content": m["content"]} for m in prompt]


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
        timeout: float = TIMEOUT_S,
        retries: int = 4,
        chunk: int = 16,
        name: str = "genrm_served",
    ):
        self.url, self.reference_key, self.token_env = url, reference_key, token_env
        self.timeout, self.retries, self.chunk = timeout, retries, chunk
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
            answer = post(
                self.url, "/v1/reward", {"items": part}, token=token, timeout=self.timeout, retries=self.retries
            )
            return answer["rewards"]

        with ThreadPoolExecutor(max_workers=max(1, min(len(chunks), 8))) as pool:
            return [float(r) for part in pool.map(send, chunks) for r in part]


def _verl_prompt(extra_info, prompt_key: str | None):
    extra_info = extra_info if extra_info is not None else {}
    keys = (prompt_key,) if prompt_key is not None else PROMPT_KEYS
    for key in keys:
        if key in extra_info and extra_info[key] is not None:
            value = extra_info[key]
            return _prompt(value if isinstance(value, str) else [dict(m) for m in value])
    raise KeyError(
        f"compute_score reads the prompt from extra_info[{'] or extra_info['.join(repr(k) for k in keys)}] "
        f"(verl passes a reward function no prompt: copy it into extra_info when preprocessing); got keys "
        f"{sorted(extra_info)}"
    )


def compute_score(
    data_source=None,
    solution_str: str | None = None,
    ground_truth=None,
    extra_info: dict | None = None,
    *,
    data_sources: Sequence | None = None,
    solution_strs: Sequence[str] | None = None,
    ground_truths: Sequence | None = None,
    extra_infos: Sequence | None = None,
    url: str | None = None,
    prompt_key: str | None = None,
    token_env: str = TOKEN_ENV,
    timeout: float = TIMEOUT_S,
    retries: int = 4,
    **_verl: object,
):
    """verl's custom reward function: {"score": reward} of one response, or, called with the batch
    manager's plural names, [{"score": reward}, ...] of the batch in one request. `url` defaults to
    the environment's GENRM_SERVE_URL, else http://127.0.0.1:5000; verl's reward-loop extras
    (reward_router_address, reward_model_tokenizer) are accepted and not used."""
    batched = solution_strs is not None
    if batched:
        n = len(solution_strs)
        truths = list(ground_truths) if ground_truths is not None else [None] * n
        extras = list(extra_infos) if extra_infos is not None else [None] * n
        if not len(truths) == len(extras) == n:
            raise ValueError(f"{n} solution_strs, {len(truths)} ground_truths, {len(extras)} extra_infos")
        responses = list(solution_strs)
    else:
        if solution_str is None:
            raise TypeError("compute_score needs solution_str (one response) or solution_strs (verl's batch manager)")
        responses, truths, extras = [solution_str], [ground_truth], [extra_info]
    items = [
        {
            "prompt": _verl_prompt(extra, prompt_key),
            "response": response,
            "reference": truth if isinstance(truth, str) else None,
        }
        for response, truth, extra in zip(responses, truths, extras)
    ]
    answer = post(
        url or os.environ.get("GENRM_SERVE_URL", DEFAULT_URL),
        "/v1/reward",
        {"items": items},
        token=os.environ.get(token_env) or None,
        timeout=timeout,
        retries=retries,
    )
    scores = [{"score": float(r)} for r in answer["rewards"]]
    return scores if batched else scores[0]


async def compute_score_async(*args, **kwargs):
    """compute_score for verl's reward loop as a coroutine (it awaits coroutine functions directly;
    the request runs in a thread so the loop keeps other samples' requests in flight)."""
    return await asyncio.to_thread(compute_score, *args, **kwargs)
