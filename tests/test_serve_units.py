"""The server's parts without a model: dynamic batching, OpenRLHF query splitting, the command line,
the config and the loading checks (milliseconds each), and a tiny zero-shot CoT judge loaded from
conf/serve.yaml (seconds).

    python -m pytest tests/test_serve_units.py -q
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import CONF

from genrm_exp.errors import ConfigError
from genrm_exp.serve.__main__ import hydra_argv
from genrm_exp.serve.batching import Batcher, Overloaded
from genrm_exp.serve.loading import check_remote_code, check_weights
from genrm_exp.serve.queries import Template, references_of


def _batcher(calls: list, **kw) -> Batcher:
    def fn(items):
        calls.append(list(items))
        time.sleep(0.05)
        return [f"r{x}" for x in items]

    return Batcher(fn, executor=ThreadPoolExecutor(1), **{"batch_size": 4, "max_wait_s": 0.2, "queue_limit": 8, **kw})


def test_concurrent_requests_share_a_call_and_get_their_own_answers():
    calls: list = []

    async def main():
        b = _batcher(calls)
        b.start()
        out = await asyncio.gather(b.submit([1]), b.submit([2, 3]), b.submit([4]), b.submit([5]))
        await b.stop()
        return out, b.stats()

    out, stats = asyncio.run(main())
    assert out == [["r1"], ["r2", "r3"], ["r4"], ["r5"]]
    assert calls == [[1, 2, 3, 4], [5]]  # full at 4 items; the fifth waited max_wait for company
    assert stats["batch_sizes"] == {"1": 1, "4": 1} and stats["pending"] == 0


def test_a_full_queue_refuses_at_once_and_a_cancelled_request_frees_its_place():
    calls: list = []

    async def main():
        b = _batcher(calls, max_wait_s=5.0, batch_size=100)
        b.start()
        waiting = asyncio.ensure_future(b.submit(list(range(8))))
        await asyncio.sleep(0.01)
        with pytest.raises(Overloaded, match="limit 8"):
            await b.submit([9])
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        pending = b.stats()["pending"]
        await b.stop()
        return pending, b.rejected

    assert asyncio.run(main()) == (0, 1) and calls == []


def test_a_failing_call_fails_its_requests_only():
    def fn(items):
        if "bad" in items:
            raise ValueError("boom")
        return items

    async def main():
        b = Batcher(fn, batch_size=1, max_wait_s=0, queue_limit=4, executor=ThreadPoolExecutor(1))
        b.start()
        bad, good = await asyncio.gather(b.submit(["bad"]), b.submit(["ok"]), return_exceptions=True)
        await b.stop()
        return bad, good

    bad, good = asyncio.run(main())
    assert isinstance(bad, ValueError) and good == ["ok"]


def test_openrlhf_queries_split_into_prompt_and_response(tokenizer):
    t = Template.of(tokenizer)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2+2?"}], tokenize=False, add_generation_prompt=True
    )
    query = prompt + "It is 4.<|im_end|>"
    assert t.split(query, prompt) == ("What is 2+2?", "It is 4.", True)
    assert t.split(query, None) == ("What is 2+2?", "It is 4.", True)  # at the assistant opener
    assert t.split("plain text", None) == ("", "plain text", False)  # no prompt found
    assert t.split("Q: hi A: yo", "Q: hi ") == ("Q: hi ", "A: yo", True)  # a prompt without the template stays as sent
    two_turns = tokenizer.apply_chat_template(
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert t.split(two_turns + "d", two_turns) == (two_turns, "d", True)  # not one turn: kept whole
    assert references_of(3, None, ["x", None, 3]) == ["x", None, None]
    assert references_of(3, None, ["", " \n", "y"]) == [None, None, "y"]  # blank: no reference
    assert references_of(2, ["", "r"], ["x", ""]) == ["x", "r"]
    assert references_of(2, ["r", None], ["x", "y"]) == ["r", "y"]


def test_a_run_folder_argument_becomes_a_quoted_override(tmp_path):
    run = tmp_path / "seed=1,star.k=8 it's"
    run.mkdir()
    assert hydra_argv([str(run), "port=1"]) == [f"run_dir='{str(run.resolve())[:-4]}it\\'s'", "port=1"]
    assert hydra_argv(["model=smollm2_135m_instruct"]) == ["model=smollm2_135m_instruct"]


def test_serve_config_composes_with_loopback_defaults():
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="serve", overrides=["judge.k=4", "port=0"])
    assert cfg.host == "127.0.0.1" and cfg.model.name == "smollm2-135m-instruct" and cfg.judge.k == 4
    assert cfg.judge.order == "both"  # served in both orders unless asked otherwise
    assert cfg.trust_remote_code is False and cfg.use_safetensors is True and cfg.token_env == "GENRM_SERVE_TOKEN"


def test_a_folder_that_is_no_run_is_refused_with_the_reason(tmp_path: Path):
    from hydra import compose, initialize_config_dir

    from genrm_exp.serve.loading import load

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="serve", overrides=[f"run_dir={tmp_path}"])
    with pytest.raises(ConfigError, match="no config.yaml"):
        load(cfg)


def test_pickled_weights_and_remote_code_are_refused_unless_allowed(tmp_path: Path):
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(ConfigError, match="pickled weights only"):
        check_weights(tmp_path, use_safetensors=True)
    check_weights(tmp_path, use_safetensors=False)
    (tmp_path / "model.safetensors").write_bytes(b"")
    check_weights(tmp_path, use_safetensors=True)
    from omegaconf import OmegaConf

    with pytest.raises(ConfigError, match="trust_remote_code=true"):
        check_remote_code(OmegaConf.create({"name": "m", "trust_remote_code": True}), allowed=False)


def test_hub_and_base_weights_are_asked_for_as_safetensors(monkeypatch, tmp_path: Path, tokenizer):
    """Every from_pretrained the server reaches (a Hub id or folder, a run's base model or full
    checkpoint) is told use_safetensors from the settings."""
    import transformers
    from hydra import compose, initialize_config_dir

    from genrm_exp import checkpoints, modeling
    from genrm_exp.serve.loading import load

    seen = []

    def refuse(*args, **kwargs):
        seen.append(kwargs.get("use_safetensors"))
        raise RuntimeError("stop here")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", refuse)
    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_pretrained", refuse)
    for flag in ("true", "false"):
        overrides = ["pretrained=some/model", f"use_safetensors={flag}", "device=cpu"]
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose(config_name="serve", overrides=overrides)
        monkeypatch.setattr(modeling, "load_tokenizer", lambda *a, **k: tokenizer)
        with pytest.raises(RuntimeError, match="stop here"):
            load(cfg)
    assert seen == [True, False]
    from omegaconf import OmegaConf

    with pytest.raises(RuntimeError, match="stop here"):
        checkpoints._full(
            OmegaConf.create({"model": {"use_safetensors": False, "dtype": "float32"}}), tmp_path, "reward"
        )
    assert seen[-1] is False
    assert modeling.safetensors_only({}) is True  # a run written before the setting: safetensors only


def test_a_zero_shot_cot_judge_loads_from_the_serve_config():
    from hydra import compose, initialize_config_dir

    from genrm_exp.serve.loading import load

    overrides = ["model=tiny_random", "judge.style=cot", "judge.k=2", "judge.order=fixed", "device=cpu"]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="serve", overrides=overrides)
    rm = load(cfg)
    assert rm.kind == "pairwise" and rm.info()["judge"] | {"temperature": None} == {
        "style": "cot",
        "order": "fixed",
        "k": 2,
        "temperature": None,
        "close_verdict": None,
    }
    assert rm.info()["order_rule"].startswith("fixed: each pair is judged once as sent")
    (out,) = rm.judge_pairs(["What is 2+2?"], ["4"], ["5"])
    assert sum(out["votes"].values()) == 2 and 0.0 <= out["p_a"] <= 1.0


@pytest.mark.parametrize(
    "prompt, message",
    [
        (
            [{"role": "tool", "content": "42"}],
            "prompt.0.role: a `tool` turn cannot be judged: send the conversation without tool turns",
        ),
        ([{"role": "user", "content": [{"type": "image"}]}], "prompt.0.content: only text parts can be judged"),
        ([{"role": "robot", "content": "x"}], "prompt.0.role: role 'robot': expected system, user or assistant"),
        ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "prompt: the last message is"),
    ],
)
def test_a_bad_prompt_is_named_without_the_other_forms_errors(prompt, message):
    """A prompt is text or messages; the 422 speaks of the form that was sent only."""
    from genrm_exp.serve.bodies import HTTPError, PairIn, validated

    with pytest.raises(HTTPError) as err:
        validated({"prompt": prompt, "response_a": "x", "response_b": "y"}, PairIn)
    assert err.value.status == 422 and err.value.message.startswith(message), err.value.message


def test_content_parts_are_joined_into_the_text():
    from genrm_exp.serve.bodies import PairIn, as_prompt, validated

    parts = [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]
    pair = validated({"prompt": [{"role": "user", "content": parts}], "response_a": "x", "response_b": "y"}, PairIn)
    assert as_prompt(pair.prompt) == [{"role": "user", "content": "Hi there"}]
