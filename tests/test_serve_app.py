"""The app in process around a stand-in judge (no model, no subprocess): what reaches the judge and
what comes back for a blank reference under missing_reference_reward, and a pair that
eval.truncation=drop drops (milliseconds each).

    python -m pytest tests/test_serve_app.py -q
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from omegaconf import OmegaConf

from genrm_exp.api import _none_dropped
from genrm_exp.errors import ConfigError
from genrm_exp.serve.app import build_app


class StandIn:
    """A pairwise judge whose P(a better) is 0.75; a response "DROP" is dropped as over budget."""

    kind, batch_size = "pairwise", 4

    def __init__(self, tokenizer):
        self.tokenizer, self.seen = tokenizer, []
        self.cfg = OmegaConf.create({"eval": {"max_length": 256, "truncation": "drop"}})

    def info(self) -> dict:
        return {"kind": self.kind}

    def judge_pairs(self, prompts, responses_a, responses_b):
        self.seen += list(zip(prompts, responses_a, responses_b))
        return [
            None if a == "DROP" else {"p_a": 0.75, "verdict": "A", "votes": None, "invalid": 0} for a in responses_a
        ]


def serve_cfg(**over):
    from hydra import compose, initialize_config_dir
    from support import CONF

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="serve", overrides=[f"{k}={v}" for k, v in over.items()])


@pytest.fixture
def stand_in(tokenizer):
    return StandIn(tokenizer)


def test_a_blank_reference_gets_the_fallback_and_is_never_judged(stand_in):
    with TestClient(build_app(stand_in, serve_cfg(missing_reference_reward=0.0))) as client:
        out = client.post(
            "/get_reward", json={"query": ["Q1 A1", "Q2 A2"], "prompts": ["Q1 ", "Q2 "], "labels": ["R1", ""]}
        )
        info = client.get("/info").json()
    assert out.status_code == 200 and out.json() == {"rewards": [0.75, 0.0], "scores": [0.75, 0.0]}
    assert stand_in.seen == [("Q1 ", "A1", "R1")]  # the blank label reached no judge
    assert info["items"]["missing_reference"] == 1 and info["requests"]["answered"] == 1


def test_a_pair_dropped_as_offline_evaluation_drops_it_is_a_422_naming_it(stand_in):
    with TestClient(build_app(stand_in, serve_cfg())) as client:
        pairs = [{"prompt": "p", "response_a": a, "response_b": "b"} for a in ("ok", "DROP")]
        out = client.post("/v1/judge", json={"pairs": pairs})
        info = client.get("/info").json()
    assert out.status_code == 422
    assert out.json()["error"] == (
        "items [1] exceed eval.max_length=256 tokens and eval.truncation=drop drops them, as offline evaluation does"
    )
    assert info["requests"]["refused"] == {"422": 1}
    with pytest.raises(ConfigError, match=r"items \[1\] exceed eval.max_length=256 and eval.truncation=drop"):
        _none_dropped([{"p_a": 0.5}, None], stand_in.cfg.eval)  # the Python API's form
