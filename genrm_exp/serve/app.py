"""The HTTP face of a served judge (FastAPI): endpoints, request limits, the token check.

    app = build_app(rm, cfg)        # rm: genrm_exp.api.RewardModel; cfg: conf/serve.yaml

POST /get_reward   OpenRLHF's remote reward model: {"query": [...], "prompts"?, "labels"?, "references"?}
                   -> {"rewards": [...], "scores": [...]} (genrm_exp/serve/queries.py: the split rule)
POST /v1/reward    structured: {"items": [{"prompt", "response", "reference"?}, ...]} -> {"rewards": [...]}
POST /v1/judge     {"prompt", "response_a", "response_b"} -> {"p_a", "verdict", "votes", "invalid"};
                   {"pairs": [...]} -> {"results": [...]}
GET  /health       {"status": "ok"} (no token needed)
GET  /info         the model, judge settings, run folder and batching statistics

A reward is the scalar head's output for a reward model (rm.kind == "reward"), and for a pairwise
judge P(response beats reference) under the served order rule: a pairwise request without a
reference gets 422. Errors are {"error": message}: 400 malformed JSON, 401 token, 413 too large,
422 invalid fields, 503 queue full, 504 timeout, 500 the judge failed (the server keeps running).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr, TypeAdapter, ValidationError

from genrm_exp.serve.batching import Batcher, Overloaded
from genrm_exp.serve.queries import Template, references_of


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: StrictStr


Prompt = StrictStr | Annotated[list[Message], Field(min_length=1)]


class PairIn(BaseModel):
    prompt: Prompt
    response_a: StrictStr
    response_b: StrictStr


class PairsIn(BaseModel):
    pairs: Annotated[list[PairIn], Field(min_length=1)]


class RewardItem(BaseModel):
    prompt: Prompt
    response: StrictStr
    reference: StrictStr | None = None


class RewardsIn(BaseModel):
    items: Annotated[list[RewardItem], Field(min_length=1)]


class OpenRLHFIn(BaseModel):
    query: Annotated[list[StrictStr], Field(min_length=1)]
    prompts: list[StrictStr] | None = None
    labels: list | None = None
    references: list[StrictStr | None] | None = None


class HTTPError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _prompt(p) -> str | list[dict]:
    return p if isinstance(p, str) else [m.model_dump() for m in p]


def _message(err: ValidationError) -> str:
    parts = []
    for e in err.errors()[:5]:
        where = ".".join(str(x) for x in e["loc"]) or "body"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


def build_app(rm, cfg) -> FastAPI:
    token = os.environ.get(str(cfg.token_env)) or None
    max_pairs, max_bytes, timeout = int(cfg.max_request_pairs), int(cfg.max_request_bytes), float(cfg.request_timeout_s)
    template = Template.of(rm.tokenizer)
    batch_size = int(cfg.batch_size or rm.batch_size)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="judge")  # one model call at a time
    limits = {
        "batch_size": batch_size,
        "max_wait_s": float(cfg.max_wait_ms) / 1000,
        "queue_limit": int(cfg.queue_limit),
        "executor": executor,
    }
    batchers: dict[str, Batcher] = {}

    def judge_items(items: list) -> list:
        return rm.judge_pairs([i[0] for i in items], [i[1] for i in items], [i[2] for i in items])

    def reward_items(items: list) -> list:
        return rm.rewards([i[0] for i in items], [i[1] for i in items])

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batchers["pairs"] = Batcher(judge_items, **limits)
        if rm.kind == "reward":
            batchers["rewards"] = Batcher(reward_items, **limits)
        for b in batchers.values():
            b.start()
        yield
        for b in batchers.values():
            await b.stop()
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="genrm-exp judge", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(HTTPError)
    async def _http_error(request: Request, err: HTTPError):
        return JSONResponse({"error": err.message}, status_code=err.status)

    def authorize(request: Request) -> None:
        if token is not None:
            sent = request.headers.get("authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
                raise HTTPError(401, "missing or wrong bearer token (Authorization: Bearer <token>)")

    async def body(request: Request, schema):
        """The request's JSON (after the token and size checks) validated against `schema`."""
        authorize(request)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise HTTPError(413, f"request body of {declared} bytes exceeds max_request_bytes={max_bytes}")
        raw = await request.body()
        if len(raw) > max_bytes:
            raise HTTPError(413, f"request body of {len(raw)} bytes exceeds max_request_bytes={max_bytes}")
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise HTTPError(400, f"malformed JSON: {err}") from None
        if isinstance(schema, dict):  # {key: schema when the body has key, None: otherwise}
            schema = next(
                (v for k, v in schema.items() if k is not None and isinstance(data, dict) and k in data), schema[None]
            )
        try:
            return TypeAdapter(schema).validate_python(data)
        except ValidationError as err:
            raise HTTPError(422, _message(err)) from None

    def check_size(n: int) -> None:
        if n > max_pairs:
            raise HTTPError(413, f"{n} items in one request exceed max_request_pairs={max_pairs}")

    async def run(name: str, items: list) -> list:
        try:
            return await asyncio.wait_for(batchers[name].submit(items), timeout)
        except Overloaded as err:
            raise HTTPError(503, f"overloaded, retry later: {err}") from None
        except asyncio.TimeoutError:
            raise HTTPError(504, f"not answered within request_timeout_s={timeout}") from None
        except HTTPError:
            raise
        except Exception as err:
            raise HTTPError(500, f"the judge failed: {type(err).__name__}: {err}") from None

    async def rewards(prompts: list, responses: list[str], references: list[str | None]) -> list[float]:
        if rm.kind == "reward":
            return [float(r) for r in await run("rewards", list(zip(prompts, responses)))]
        missing = [i for i, r in enumerate(references) if r is None]
        if missing:
            raise HTTPError(
                422,
                f"a pairwise judge scores a response against a reference: items {missing[:10]} have "
                "none (send references, or labels holding the reference responses)",
            )
        results = await run("pairs", list(zip(prompts, responses, references)))
        return [float(r["p_a"]) for r in results]

    @app.post("/get_reward")
    async def get_reward(request: Request):
        req = await body(request, OpenRLHFIn)
        n = len(req.query)
        check_size(n)
        for field in ("prompts", "labels", "references"):
            given = getattr(req, field)
            if given is not None and len(given) != n:
                raise HTTPError(422, f"{field}: {len(given)} entries for {n} queries")
        split = [template.split(q, req.prompts[i] if req.prompts else None) for i, q in enumerate(req.query)]
        out = await rewards([s[0] for s in split], [s[1] for s in split], references_of(n, req.references, req.labels))
        return {"rewards": out, "scores": out}

    @app.post("/v1/reward")
    async def reward(request: Request):
        req = await body(request, RewardsIn)
        check_size(len(req.items))
        out = await rewards(
            [_prompt(i.prompt) for i in req.items], [i.response for i in req.items], [i.reference for i in req.items]
        )
        return {"rewards": out}

    @app.post("/v1/judge")
    async def judge(request: Request):
        req = await body(request, {"pairs": PairsIn, None: PairIn})
        pairs = req.pairs if isinstance(req, PairsIn) else [req]
        check_size(len(pairs))
        results = await run("pairs", [(_prompt(p.prompt), p.response_a, p.response_b) for p in pairs])
        return {"results": results} if isinstance(req, PairsIn) else results[0]

    @app.get("/health")
    async def health():
        return {"status": "ok", "kind": rm.kind}

    @app.get("/info")
    async def info(request: Request):
        authorize(request)
        return {
            **rm.info(),
            "serving": {
                "batch_size": batch_size,
                "max_wait_ms": float(cfg.max_wait_ms),
                "queue_limit": int(cfg.queue_limit),
                "max_request_pairs": max_pairs,
                "max_request_bytes": max_bytes,
                "request_timeout_s": timeout,
                "token": token is not None,
            },
            "batches": {name: b.stats() for name, b in batchers.items()},
        }

    return app
