"""The fixtures every test can ask for: the shared data folder and the tokenizer of the embedded model.
Helpers that are not fixtures (compose, make_ctx, TINY, ...) live in tests/support.py.

The converted SmolLM2 folder (about 20 s to build once) is cached in GENRM_CACHE, default
<repo>/.cache, so every test and every later run reuses it.
"""

from __future__ import annotations

import os
from pathlib import Path

from genrm_exp import runtime_env

runtime_env.apply()
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")

import pytest  # noqa: E402
from support import CACHE, SHARED, compose  # noqa: E402


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"shared data not found at {SHARED}: set GENRM_SHARED_DATA or put shared/ beside the checkout")
    return SHARED


@pytest.fixture(scope="session")
def tokenizer():
    from genrm_exp.modeling import load_tokenizer

    cfg = compose(["model=tiny_random"])
    return load_tokenizer(cfg.model, cache=CACHE)
