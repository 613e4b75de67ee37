"""The serving load test's path with the tiny random model and a handful of requests: every phase
runs, nothing is lost, answers match the offline judge and the table prints (the figures themselves
come from `python -m bench.serving`, not from here).

    python -m pytest tests/test_serve_bench.py -q -m slow      # ~15 s: a server and the offline judge
"""

from __future__ import annotations

import pytest

from bench import serving
from bench.shapes import WORKLOADS, load_tokenizer, real_texts


@pytest.mark.slow
def test_load_test_runs_checks_against_offline_and_tabulates():
    texts = real_texts(4, load_tokenizer(), WORKLOADS["cpu"])
    result = serving.run(clients=2, requests=2, serve_args=["model=tiny_random", "max_wait_ms=200"], texts=texts)
    for phase in ("sequential", "concurrent", "get_reward"):
        r = result[phase]
        assert r["answered"] == r["requests"] and r["lost"] == 0 and r["pairs"] == 4, r
        assert r["max_abs_diff_vs_offline"] < 1e-5 and sum(r["batch_sizes"].values()) >= 1
    assert result["sequential"]["batch_sizes"] == {"1": 4}
    over = result["overload"]  # 4 clients at once, 2 pairs each, into a queue of 4
    assert over["requests"] == 2 and over["lost"] == 0 and over["answered"] + over["refused_503"] == 2, over
    assert int(over["retry_after_s"]) >= 1
    assert "| concurrent | 2 | 4 | 4 | 0 | 0 |" in serving.table(result)


def test_a_failed_request_is_counted_not_raised(monkeypatch):
    """A server that refuses (503), fails (500) or is gone: each request counted under its status."""
    answers = iter(
        [(200, {"p_a": 0.5}, 0.1), (503, "HTTP 503: full", 0.0), (500, "HTTP 500: boom", 0.0), (0, "gone", 0.0)]
    )
    monkeypatch.setattr(serving, "send", lambda url, path, payload: next(answers))
    monkeypatch.setattr(serving, "_info", lambda url: {"batches": {"pairs": {"batch_sizes": {}}}})
    jobs = [({"i": i}, [{"i": i}]) for i in range(4)]
    r = serving.phase("http://x", "/v1/judge", jobs, 1)
    assert (r["answered"], r["refused_503"], r["lost"]) == (1, 1, 2) and r["statuses"] == {
        "200": 1,
        "503": 1,
        "500": 1,
        "0": 1,
    }
