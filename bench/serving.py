"""Load test of `python -m genrm_exp.serve` on loopback: N concurrent clients send K one-pair
requests each to a server holding the embedded SmolLM2 as a zero-shot judge, against the same
pairs sent one request at a time; every answer is checked against the offline judge (the same
judge built in this process, all pairs in one call).

    python -m bench.serving                          # 8 clients x 4 requests, CPU (about a minute on 2 cores)
    python -m bench.serving --clients 16 --requests 8 --serve judge.order=both
    python -m bench --only serving

Bounded: a fixed number of requests, each with a timeout, and the server is stopped (by its pid).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


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

    for _ in range(100):  # the first request waits until uvicorn accepts
        try:
            post(url, "/v1/judge", {"prompt": "warm up", "response_a": "a", "response_b": "b"}, timeout=60)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server never answered")


def _info(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(url + "/info", timeout=30) as r:
        return json.loads(r.read())


def _stats(url: str) -> dict:
    return _info(url)["batches"]["pairs"]


def _phase(url: str, pairs: list[dict], clients: int) -> dict:
    """Each client sends its share of the pairs one request at a time; latency per request."""
    from genrm_exp.serve.clients import post

    before = _stats(url)["batch_sizes"]
    shares = [pairs[i::clients] for i in range(clients)]

    def client(share):
        out = []
        for p in share:
            t = time.perf_counter()
            result = post(url, "/v1/judge", p, timeout=120)
            out.append((p, result, time.perf_counter() - t))
        return out

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        done = [r for part in pool.map(client, shares) for r in part]
    wall = time.perf_counter() - start
    after = _stats(url)["batch_sizes"]
    formed = {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0) > 0}
    lat = sorted(d[2] for d in done)
    return {
        "clients": clients,
        "requests": len(done),
        "pairs": len(done),
        "wall_s": wall,
        "requests_per_s": len(done) / wall,
        "pairs_per_s": len(done) / wall,
        "p50_ms": 1000 * lat[len(lat) // 2],
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "batch_sizes": formed,
        "answers": done,
    }


def run(
    *, clients: int = 8, requests: int = 4, serve_args: list[str] | None = None, texts: list[dict] | None = None
) -> dict:
    """Sequential (one client) and concurrent phases over the same pairs, checked against offline."""
    from hydra import compose, initialize_config_dir

    from genrm_exp.serve.loading import load

    serve_args = list(serve_args or [])
    if texts is None:
        from bench.shapes import WORKLOADS, load_tokenizer, real_texts

        texts = real_texts(clients * requests, load_tokenizer(), WORKLOADS["cpu"])
    pairs = [{"prompt": t["prompt"], "response_a": t["chosen"], "response_b": t["rejected"]} for t in texts]
    proc, url = start(serve_args)
    try:
        sequential = _phase(url, pairs, 1)
        concurrent = _phase(url, pairs, clients)
        info = _info(url)
    finally:
        proc.terminate()
        proc.wait(30)
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="serve", overrides=serve_args)
    offline = load(cfg).judge_pairs(
        [p["prompt"] for p in pairs], [p["response_a"] for p in pairs], [p["response_b"] for p in pairs]
    )
    expected = {json.dumps(p, sort_keys=True): o for p, o in zip(pairs, offline)}
    result = {"model": info["model"], "judge": info["judge"], "serving": info["serving"], "pairs": len(pairs)}
    for name, phase in (("sequential", sequential), ("concurrent", concurrent)):
        answers = phase.pop("answers")
        diffs = [abs(r["p_a"] - expected[json.dumps(p, sort_keys=True)]["p_a"]) for p, r, _ in answers]
        verdicts = sum(r["verdict"] != expected[json.dumps(p, sort_keys=True)]["verdict"] for p, r, _ in answers)
        phase.update(lost=len(pairs) - len(answers), max_abs_diff_vs_offline=max(diffs), verdict_mismatches=verdicts)
        result[name] = phase
    return result


def table(result: dict) -> str:
    lines = [
        "| phase | clients | requests | requests/s | pairs/s | p50 ms | p99 ms | batch sizes formed (size: calls) "
        "| lost | max abs diff vs offline | verdict mismatches |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for name in ("sequential", "concurrent"):
        r = result[name]
        sizes = ", ".join(f"{k}: {v}" for k, v in sorted(r["batch_sizes"].items(), key=lambda kv: int(kv[0])))
        lines.append(
            f"| {name} | {r['clients']} | {r['requests']} | {r['requests_per_s']:.2f} | {r['pairs_per_s']:.2f} "
            f"| {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | {sizes} | {r['lost']} | {r['max_abs_diff_vs_offline']:.2e} "
            f"| {r['verdict_mismatches']} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=4, help="requests (one pair each) per client")
    ap.add_argument("--serve", nargs="*", default=[], help="conf/serve.yaml overrides, e.g. judge.order=both")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    result = run(clients=args.clients, requests=args.requests, serve_args=args.serve)
    print(json.dumps(result, indent=2))
    print(table(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    from genrm_exp import runtime_env

    runtime_env.apply()
    raise SystemExit(main())
