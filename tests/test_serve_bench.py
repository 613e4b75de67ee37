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
    for phase in ("sequential", "concurrent"):
        r = result[phase]
        assert r["requests"] == 4 and r["lost"] == 0 and r["verdict_mismatches"] == 0, r
        assert r["max_abs_diff_vs_offline"] < 1e-5 and sum(r["batch_sizes"].values()) >= 1
    assert result["sequential"]["batch_sizes"] == {"1": 4}
    assert "| concurrent | 2 | 4 |" in serving.table(result)
