"""Load test of `python -m genrm_exp.serve` on loopback, a server holding the embedded SmolLM2 as a
zero-shot judge (conf/serve.yaml defaults: both orders). Phases over the same pairs:

- sequential: one client, one-pair POST /v1/judge requests;
- concurrent: N clients, K one-pair requests each;
- get_reward: N clients posting /get_reward as OpenRLHF does (the chat-templated prompt + response +
  end of turn as `query`, `prompts`, the other response as `labels`), `--queries` queries a request;
- overload: a second server with queue_limit=4 and 2N clients sending a two-pair request at once:
  most are refused 503 (with Retry-After), and every accepted one must be answered.

Every request is counted, never raised: answered, refused by status (503: the queue was full, the
client may retry), and lost (accepted or sent, but no answer: a 5xx other than 503, or the
connection failed). Answers are compared with the offline judge (the same judge built in this
process, all pairs in one call).

    python -m bench.serving                          # 8 clients x 4 requests, CPU (a few minutes on 2 cores)
    python -m bench.serving --clients 16 --requests 8 --serve judge.order=fixed
    python -m bench --only serving

Bounded: a fixed number of requests, each with a timeout, and the servers are stopped (by pid).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OVERLOAD_QUEUE = 4


def start(serve_args: list[str], timeout: float = 300) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "genrm_exp.serve", "port=0", *serve_args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not line or not line[0].startswith("serving "):
        proc.kill()
        raise RuntimeError(f"server did not start: {line} {proc.stderr.read()[-2000:]}")
    url = line[0].split()[1]
    from genrm_exp.serve.clients import post

    post(url, "/v1/judge", {"prompt": "warm up", "response_a": "a", "response_b": "b"}, timeout=120)
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _info(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(url + "/info", timeout=30) as r:
        return json.loads(r.read())


def send(url: str, path: str, payload: dict) -> tuple[int, dict | str, float]:
    """(status, answer or error, seconds) of one request, never retried (0: no connection)."""
    from genrm_exp.serve.clients import ServeError, post

    t = time.perf_counter()
    try:
        return 200, post(url, path, payload, timeout=120, retries=0), time.perf_counter() - t
    except ServeError as err:
        return err.status, str(err), time.perf_counter() - t
    except OSError as err:
        return 0, f"{type(err).__name__}: {err}", time.perf_counter() - t


def phase(url: str, path: str, jobs: list[tuple[dict, list[dict]]], clients: int, *, burst: bool = False) -> dict:
    """Each client sends its share of `jobs` ((payload, the pairs it carries)) one at a time, or with
    `burst` every job at once; what came back, counted."""
    before = _info(url)["batches"]["pairs"]["batch_sizes"]
    shares = [jobs[i::clients] for i in range(clients)]
    gate = threading.Barrier(clients) if burst else None

    def client(share):
        if gate is not None:
            gate.wait()
        return [(pairs, *send(url, path, payload)) for payload, pairs in share]

    start_t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        done = [r for part in pool.map(client, shares) for r in part]
    wall = time.perf_counter() - start_t
    after = _info(url)["batches"]["pairs"]["batch_sizes"]
    statuses = Counter(str(status) for _, status, _, _ in done)
    answered = [d for d in done if d[1] == 200]
    lat = sorted(d[3] for d in answered) or [float("nan")]
    pairs = sum(len(d[0]) for d in answered)
    return {
        "clients": clients,
        "requests": len(done),
        "answered": len(answered),
        "refused_503": statuses.get("503", 0),
        "lost": len(done) - len(answered) - statuses.get("503", 0),
        "statuses": dict(statuses),
        "errors": sorted({d[2] for d in done if d[1] not in (200, 503)})[:5],
        "pairs": pairs,
        "wall_s": wall,
        "pairs_per_s": pairs / wall,
        "p50_ms": 1000 * lat[len(lat) // 2],
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "batch_sizes": {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0) > 0},
        "answers": answered,
    }


def _openrlhf(pairs: list[dict], tokenizer, queries: int) -> list[tuple[dict, list[dict]]]:
    """/get_reward bodies as OpenRLHF posts them: response_a as the rollout, response_b as the label."""
    jobs = []
    for i in range(0, len(pairs), queries):
        part = pairs[i : i + queries]
        prompts = [
            tokenizer.apply_chat_template(
                [{"role": "user", "content": p["prompt"]}], tokenize=False, add_generation_prompt=True
            )
            for p in part
        ]
        body = {
            "query": [q + p["response_a"] + "<|im_end|>" for q, p in zip(prompts, part)],
            "prompts": prompts,
            "labels": [p["response_b"] for p in part],
        }
        jobs.append((body, part))
    return jobs


def _p_as(path: str, answer: dict) -> list[float]:
    if path == "/get_reward":
        return answer["rewards"]
    return [r["p_a"] for r in answer.get("results", [answer])]


def run(
    *,
    clients: int = 8,
    requests: int = 4,
    queries: int = 4,
    serve_args: list[str] | None = None,
    texts: list[dict] | None = None,
) -> dict:
    """The four phases (module docstring), each checked against offline."""
    from hydra import compose, initialize_config_dir

    from bench.shapes import WORKLOADS, load_tokenizer, real_texts
    from genrm_exp.serve.loading import load

    serve_args = list(serve_args or [])
    tokenizer = load_tokenizer()
    if texts is None:
        texts = real_texts(clients * requests, tokenizer, WORKLOADS["cpu"])
    pairs = [{"prompt": t["prompt"], "response_a": t["chosen"], "response_b": t["rejected"]} for t in texts]
    singles = [(p, [p]) for p in pairs]
    result: dict = {"pairs": len(pairs)}
    proc, url = start(serve_args)
    try:
        result["sequential"] = phase(url, "/v1/judge", singles, 1)
        result["concurrent"] = phase(url, "/v1/judge", singles, clients)
        result["get_reward"] = phase(url, "/get_reward", _openrlhf(pairs, tokenizer, queries), clients)
        info = _info(url)
    finally:
        stop(proc)
    proc, url = start([*serve_args, f"queue_limit={OVERLOAD_QUEUE}"])
    try:
        two = [({"pairs": pairs[i : i + 2]}, pairs[i : i + 2]) for i in range(0, len(pairs) - 1, 2)]
        result["overload"] = phase(url, "/v1/judge", two[: 2 * clients], 2 * clients, burst=True)
        result["overload"]["retry_after_s"] = _retry_after(url)
    finally:
        stop(proc)
    result.update(model=info["model"], order_rule=info["order_rule"], judge=info["judge"], serving=info["serving"])
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="serve", overrides=serve_args)
    offline = load(cfg).judge_pairs(
        [p["prompt"] for p in pairs], [p["response_a"] for p in pairs], [p["response_b"] for p in pairs]
    )
    expected = {json.dumps(p, sort_keys=True): o["p_a"] for p, o in zip(pairs, offline)}
    for name, path in (
        ("sequential", "/v1/judge"),
        ("concurrent", "/v1/judge"),
        ("get_reward", "/get_reward"),
        ("overload", "/v1/judge"),
    ):
        r = result[name]
        diffs = [
            abs(got - expected[json.dumps(p, sort_keys=True)])
            for carried, _, answer, _ in r.pop("answers")
            for p, got in zip(carried, _p_as(path, answer))
        ]
        r["max_abs_diff_vs_offline"] = max(diffs, default=float("nan"))
    return result


def _retry_after(url: str) -> str | None:
    """The Retry-After of one 503 from a queue held full (None: it never filled)."""
    import urllib.error
    import urllib.request

    body = json.dumps({"pairs": [{"prompt": "p", "response_a": "a", "response_b": "b"}] * OVERLOAD_QUEUE}).encode()
    request = lambda: urllib.request.Request(url + "/v1/judge", data=body, headers={"Content-Type": "application/json"})  # noqa: E731
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(lambda: urllib.request.urlopen(request(), timeout=120).read())
        time.sleep(0.2)
        try:
            urllib.request.urlopen(request(), timeout=120).read()
            found = None
        except urllib.error.HTTPError as err:
            found = err.headers.get("Retry-After") if err.code == 503 else None
        first.result()
    return found


def table(result: dict) -> str:
    lines = [
        "| phase | clients | requests | answered | 503 | lost | pairs/s | p50 ms | p99 ms | batch sizes formed (size: calls) "
        "| max abs diff vs offline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for name in ("sequential", "concurrent", "get_reward", "overload"):
        r = result[name]
        sizes = ", ".join(f"{k}: {v}" for k, v in sorted(r["batch_sizes"].items(), key=lambda kv: int(kv[0])))
        lines.append(
            f"| {name} | {r['clients']} | {r['requests']} | {r['answered']} | {r['refused_503']} | {r['lost']} "
            f"| {r['pairs_per_s']:.2f} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | {sizes} "
            f"| {r['max_abs_diff_vs_offline']:.2e} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=4, help="requests (one pair each) per client")
    ap.add_argument("--queries", type=int, default=4, help="queries per /get_reward request")
    ap.add_argument("--serve", nargs="*", default=[], help="conf/serve.yaml overrides, e.g. judge.order=fixed")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    result = run(clients=args.clients, requests=args.requests, queries=args.queries, serve_args=args.serve)
    print(json.dumps(result, indent=2))
    print(table(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    from genrm_exp import runtime_env

    runtime_env.apply()
    raise SystemExit(main())
