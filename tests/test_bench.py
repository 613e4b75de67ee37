"""The benchmark's sampling and scoring sections on CPU with the small random shape and a few
tokens: every path runs and the table prints a ratio per row (speed itself is measured by
`python -m bench`, not here).

    python -m pytest tests/test_bench.py -q
"""

from __future__ import annotations

import pytest

from bench import sampling as sampling_bench
from bench.__main__ import table
from bench.shapes import WORKLOADS, load_tokenizer, real_texts


@pytest.mark.slow  # ~16 s
def test_sampling_and_scoring_sections_run_and_tabulate():
    tok = load_tokenizer()
    texts = real_texts(4, tok, WORKLOADS["cpu"])
    rows = sampling_bench.sampling("small", tok, texts[:2], device="cpu", k=2, new_tokens=4, batch_prompts=1)
    assert [r["path"] for r in rows] == ["stock generate", "genrm-exp Generator"]
    assert all(r["tokens_per_s"] > 0 and r["tokens"] > 0 for r in rows), rows
    assert rows[1]["backend"].startswith("static")
    scoring = sampling_bench.scoring("small", tok, texts, device="cpu", batch=2)
    assert [r["pairs_per_s"] > 0 for r in scoring] == [True, True]
    text = table({"shape": "small", "sampling": rows, "scoring": scoring})
    assert "| sampling | genrm-exp Generator (static" in text and "cost ratio" in text
