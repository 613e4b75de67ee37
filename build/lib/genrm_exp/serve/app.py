"""The HTTP face of a served judge (FastAPI): endpoints, the token check, what /info counts.

    app = build_app(rm, cfg)        # rm: genrm_exp.api.RewardModel; cfg: conf/serve.yaml

POST /get_reward   OpenRLHF's remote reward model: {"query": [...], "prompts"?, "labels"?, "references"?}
                   -> {"rewards": [...], "scores": [...]} (genrm_exp/serve/queries.py: the split rule)
POST /v1/reward    structured: {"items": [{"prompt", "response", "reference"?}, ...]} -> {"rewards": [...]}
POST /v1/judge     {"prompt", "response_a", "response_b"} -> {"p_a", "verdict", "votes", "invalid"};
                   {"pairs": [...]} -> {"results": [...]}
GET  /health       {"status": "ok"} (no token needed)
GET  /info         the model, the order rule served, judge settings, batching statistics and counts:
                   requests answered, refused (by status), timed out, whose client went away; items
                   without a reference, queries whose prompt could not be found

Every item is fitted as offline evaluation fits a pair (eval.fit within eval.max_length of the run's
settings; genrm_exp.api.RewardModel.fit), so a served pair reads the text, and gets the probability,
it gets in predictions/; a response of any length costs at most max_length tokens.

A reward is the scalar head's output for a reward model (rm.kind == "reward"), and for a pairwise
judge P(response beats reference) under the served order rule: a pairwise request without a
reference (or a blank one) gets 422, or `missing_reference_reward` when set. Errors are
{"error": message}: 400 malformed JSON, 401 token, 413 too large, 422 invalid fields, 503 queue
full (with Retry-After), 504 timeout, 500 the judge failed (the server keeps running). A request
whose client disconnects is dropped, its items released if not yet judged. Bodies: bodies.py.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from genrm_exp.serve.batching import Batcher, Overloaded
from genrm_exp.serve.bodies import (
    HTTPError,
    OpenRLHFIn,
    PairIn,
    PairsIn,
    RewardsIn,
    as_prompt,
    read_json,
    validated,
)
from genrm_exp.serve.queries import Template, present, references_of

POLL_S = 0.1  # how often a waiting request looks whether its client is still there


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
    fallback = None if cfg.missing_reference_reward is None else float(cfg.missing_reference_reward)
    requests: Counter[str] = Counter()  # answered, timed_out, client_gone
    refused: Counter[str] = Counter()  # by status
    items: Counter[str] = Counter()  # missing_reference, prompt_not_found

    def judge_items(batch: list) -> list:
        return rm.judge_pairs([i[0] for i in batch], [i[1] for i in batch], [i[2] for i in batch])

    def reward_items(batch: list) -> list:
        return rm.rewards_or_none([i[0] for i in batch], [i[1] for i in batch])

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
        if err.status == 504:
            requests["timed_out"] += 1
        elif err.status != 499:  # client_gone is counted where it is found
            refused[str(err.status)] += 1
        return JSONResponse({"error": err.message}, status_code=err.status, headers=err.headers)

    def authorize(request: Request) -> None:
        if token is not None:
            sent = request.headers.get("authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
                raise HTTPError(401, "missing or wrong bearer token (Authorization: Bearer <token>)")

    async def body(request: Request, schema):
        """The request's JSON (after the token and size checks) validated against `schema`."""
        authorize(request)
        return validated(await read_json(request, max_bytes), schema)

    def check_size(n: int) -> None:
        if n > max_pairs:
            raise HTTPError(413, f"{n} items in one request exceed max_request_pairs={max_pairs}")

    async def run(request: Request, name: str, batch: list) -> list:
        """The batch judged, or 503 / 504 / 500; dropped when the client goes away while it waits."""
        job = asyncio.ensure_future(batchers[name].submit(batch))
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            while not job.done():
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    raise HTTPError(504, f"not answered within request_timeout_s={timeout}")
                await asyncio.wait({job}, timeout=min(POLL_S, left))
                if not job.done() and await request.is_disconnected():
                    requests["client_gone"] += 1
                    raise HTTPError(499, "the client went away")  # nobody reads it
            return job.result()
        except Overloaded as err:
            wait_s = max(1, math.ceil(batchers[name].drain_s()))
            raise HTTPError(503, f"overloaded, retry later: {err}", {"Retry-After": str(wait_s)}) from None
        except HTTPError:
            raise
        except Exception as err:
            raise HTTPError(500, f"the judge failed: {type(err).__name__}: {err}") from None
        finally:
            job.cancel()  # a no-op once done; else releases its items if not yet judged

    def fitted(results: list, where: list[int]) -> list:
        """The results, unless eval.truncation=drop dropped some of them (None): 422 naming them."""
        dropped = [i for i, r in zip(where, results) if r is None]
        if dropped:
            raise HTTPError(
                422,
                f"items {dropped[:10]} exceed eval.max_length={rm.cfg.eval.max_length} tokens and "
                "eval.truncation=drop drops them, as offline evaluation does",
            )
        return results

    async def rewards(request, prompts: list, responses: list[str], references: list[str | None]) -> list[float]:
        if not responses:
            return []
        if rm.kind == "reward":
            results = await run(request, "rewards", list(zip(prompts, responses)))
            return [float(r) for r in fitted(results, list(range(len(results))))]
        missing = [i for i, r in enumerate(references) if r is None]
        if missing and fallback is None:
            raise HTTPError(
                422,
                f"a pairwise judge scores a response against a reference: items {missing[:10]} have "
                "none or a blank one (send references, or labels holding the reference responses; "
                "or set missing_reference_reward)",
            )
        judged = [i for i, r in enumerate(references) if r is not None]
        out = [fallback] * len(references)
        if judged:
            results = await run(request, "pairs", [(prompts[i], responses[i], references[i]) for i in judged])
            for i, r in zip(judged, fitted(results, judged)):
                out[i] = float(r["p_a"])
        items["missing_reference"] += len(missing)
        return out

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
        items["prompt_not_found"] += sum(not found for _, _, found in split)
        out = await rewards(
            request, [s[0] for s in split], [s[1] for s in split], references_of(n, req.references, req.labels)
        )
        requests["answered"] += 1
        return {"rewards": out, "scores": out}

    @app.post("/v1/reward")
    async def reward(request: Request):
        req = await body(request, RewardsIn)
        check_size(len(req.items))
        out = await rewards(
            request,
            [as_prompt(i.prompt) for i in req.items],
            [i.response for i in req.items],
            [present(i.reference) for i in req.items],
        )
        requests["answered"] += 1
        return {"rewards": out}

    @app.post("/v1/judge")
    async def judge(request: Request):
        req = await body(request, {"pairs": PairsIn, None: PairIn})
        pairs = req.pairs if isinstance(req, PairsIn) else [req]
        check_size(len(pairs))
        results = await run(request, "pairs", [(as_prompt(p.prompt), p.response_a, p.response_b) for p in pairs])
        fitted(results, list(range(len(results))))
        requests["answered"] += 1
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
                "missing_reference_reward": fallback,
            },
            "batches": {name: b.stats() for name, b in batchers.items()},
            "requests": {
                "answered": requests["answered"],
                "refused": dict(sorted(refused.items())),
                "timed_out": requests["timed_out"],
                "client_gone": requests["client_gone"],
            },
            "items": {"missing_reference": items["missing_reference"], "prompt_not_found": items["prompt_not_found"]},
        }

    return app
