"""The whole config is checked before any data loads: one typo per enumerated key, each refused with
the key, the value and what is allowed; settings that cannot go together; files that must exist."""

from __future__ import annotations

import json

import pytest
from support import REPO, TINY, compose, genrm

from genrm_exp import validate
from genrm_exp.errors import ConfigError

STAR = ["objective=star_sft", "judge=cot"]
GRPO = ["objective=grpo_judge", "trainer=debug"]
# (overrides, the start of the refusal): every enumerated key once.
TYPOS = [
    (["objective.name=bogus"], "objective.name='bogus': expected one of ["),
    (["objective.scorer=bogus"], "objective.scorer='bogus': expected one of ['reward', 'classifier', 'judge']"),
    (["objective=genrm", "objective.train_orders=bogus"], "objective.train_orders='bogus': expected one of ["),
    (["objective.lr_scale=0"], "objective.lr_scale=0: expected a positive number"),
    (["model.source=bogus"], "model.source='bogus': expected one of ['hub', 'embedded_gguf', 'tiny_random']"),
    (["model.dtype=bogus"], "model.dtype='bogus': expected one of ['float32', 'bfloat16', 'float16']"),
    (["model.cpu_dtype=bogus"], "model.cpu_dtype='bogus': expected one of ['float32', 'bfloat16', 'float16']"),
    (["judge.style=bogus"], "judge.style='bogus': expected one of ["),
    (["objective=genrm", "judge.order=bogus"], "judge.order='bogus': expected one of ['random', 'fixed', 'both']"),
    (["judge.backend=bogus"], "judge.backend='bogus': expected one of ['static', "),
    (["judge.dtype=bogus"], "judge.dtype='bogus': expected one of ['auto', 'float32'"),
    (["judge.vllm.dtype=bogus"], "judge.vllm.dtype='bogus': expected one of ['float32'"),
    (["judge.k=0"], "judge.k=0: expected a positive integer"),
    (["judge.top_p=2"], "judge.temperature=0.0 / judge.top_p=2: expected temperature >= 0 and top_p in (0, 1]"),
    (["judge=cot", "judge.close_verdict=Verdict:"], "judge.close_verdict='Verdict:': must end with '[['"),
    (["data.truncation=bogus"], "data.truncation='bogus': expected one of ["),
    (["data.on_bad_row=bogus"], "data.on_bad_row='bogus': expected one of ['error', 'skip']"),
    (["data.train.format=bogus"], "data.train.format='bogus': expected one of ["),
    (["+data.train.ties=bogus"], "data.train.ties='bogus': expected one of ['drop', 'half']"),
    (["eval.truncation=bogus"], "eval.truncation='bogus': expected one of ["),
    (["eval.fit=bogus"], "eval.fit='bogus': expected one of ['shared', 'per_response_left', 'per_response_right']"),
    (["+eval.sets.llmbar-natural.ties=bogus"], "eval.sets.llmbar-natural.ties='bogus': expected one of"),
    ([*STAR, "star.order=bogus"], "star.order='bogus': expected one of ['random', 'fixed', 'both']"),
    ([*STAR, "star.init=bogus"], "star.init='bogus': expected one of ['latest', 'base']"),
    ([*STAR, "star.balance_verdicts=maybe"], "star.balance_verdicts='maybe': expected true or false"),
    ([*STAR, "star.bootstrap.iterations=bogus"], "star.bootstrap.iterations='bogus': expected one of ['first', 'all']"),
    (
        [*STAR, "star.close_verdict=Verdict:", "judge.close_verdict=null"],
        "star.close_verdict='Verdict:': must end with",
    ),
    (["on_code_change=bogus"], "on_code_change='bogus': expected one of ['stop', 'rerun', 'reuse']"),
]
# Settings that cannot go together.
CLASHES = [
    (["judge=cot", "judge.max_new_tokens=0"], "judge.max_new_tokens=0 samples empty chains"),
    (["objective=grpo_judge", "judge.max_new_tokens=0"], "judge.max_new_tokens=0 samples empty chains"),
    (
        [
            "objective=grpo_judge",
            "judge.max_new_tokens=0",
            "judge.close_verdict=' [['",
            "objective.args.max_completion_length=4",
        ],
        "objective.args.max_completion_length=4 with judge.max_new_tokens=0: the completion is the verdict",
    ),
    (["objective=genrm", "judge=cot"], "judge.style='cot': objective=genrm trains the verdict alone"),
    (["objective=star_sft", "judge=direct"], "judge.style='direct': STaR samples chains of thought"),
    (
        [
            "objective=zero_shot",
            "eval=judgebench",
            f"+eval.sets.judgebench.path={REPO / 'README.md'}",
            "judge.order=random",
        ],
        "judge.order='random': eval.sets.judgebench is scored by ScalerLab/JudgeBench's rule",
    ),
    ([*STAR, "star.max_new_tokens=300"], "star.max_new_tokens=300 > judge.max_new_tokens=256: the judge would be"),
    ([*STAR, "star.close_verdict=' [['", "judge.close_verdict=null"], "judge.close_verdict=None differs from star"),
    (["objective=bt", "+data.train.ties=half"], "data.train.ties='half': a tie has no preferred response"),
    (["objective=bt", "+objective.args.learning_rate=0.1"], "objective.args.learning_rate=0.1: an objective states"),
    (["data=local", "data.train.path=missing.jsonl"], "data.train.path='missing.jsonl': no such file"),
    ([*GRPO, "judge=direct"], "judge.style='direct': objective=grpo_judge samples chains of thought"),
    ([*GRPO, "+objective.rewards.bogus=1.0"], "objective.rewards='bogus': expected one of ['verdict_correct'"),
    ([*GRPO, "objective.rewards.verdict_correct=-1"], "objective.rewards.verdict_correct=-1: expected a weight >= 0"),
    (
        [*GRPO, "objective.rewards.verdict_correct=0", "objective.rewards.both_orders_correct=0"],
        "objective.rewards={'verdict_correct': 0, 'both_orders_correct': 0, 'verdict_format': 0.0}: every weight is 0",
    ),
    ([*GRPO, "+objective.args.reward_weights=[1,1,1]"], "objective.args.reward_weights=[1, 1, 1]: not settable here"),
    ([*GRPO, "+objective.args.generation_batch_size=32"], "objective.args.generation_batch_size=32: not settable"),
    ([*GRPO, "objective.args.use_vllm=true"], "objective.args.use_vllm=true: TRL's vLLM client needs vllm"),
    ([*GRPO, "objective.args.num_generations=1"], "objective.args.num_generations=1: GRPO needs an integer >= 2"),
    ([*GRPO, "objective.args.beta=-0.1"], "objective.args.beta=-0.1: expected a KL coefficient >= 0"),
    ([*GRPO, "objective.args.epsilon=0"], "objective.args.epsilon=0: expected a positive number"),
    (
        [*GRPO, "objective.args.num_generations=3"],
        "objective.args.per_device_train_batch_size=16 x steps_per_generation=1 = 16 completions per scored batch: "
        "expected a multiple of 2 x num_generations = 6",
    ),
]


@pytest.mark.parametrize("overrides,message", TYPOS + CLASHES, ids=lambda v: v[-1] if isinstance(v, list) else None)
def test_the_config_check_names_the_key_and_what_is_allowed(overrides, message):
    cfg = compose(["model=tiny_random", "objective=zero_shot", *overrides])  # objectives that override it say so
    with pytest.raises(ConfigError) as e:
        validate.check(cfg)
    assert str(e.value).startswith(message), str(e.value)


@pytest.mark.parametrize(
    "objective",
    [
        "bt",
        "pair_rm",
        "genrm",
        "zero_shot",
        "zero_shot_cot",
        "star_sft",
        "star_dpo",
        "star_rationalizer",
        "star_ipo",
        "star_ipo_rationalizer",
        "grpo_judge",
    ],
)
def test_every_objective_as_shipped_passes_the_check(objective):
    validate.check(compose(["model=tiny_random", f"objective={objective}"]))


def test_a_typo_stops_before_any_data_loads_with_one_line(tmp_path):
    """The command of the issue: objective=genrm would train for an hour before building its judge;
    the bad order stops it first, with exit status 2 and no data.json in the run folder."""
    run = tmp_path / "run"
    out = genrm(
        "model=tiny_random",
        "objective=genrm",
        "judge.order=bogus",
        f"paths.outputs={tmp_path}",
        f"hydra.run.dir={run}",
        "logger.mode=disabled",
        timeout=120,
    )
    assert out.returncode == 2, out.stderr[-2000:]
    first = out.stderr.splitlines()[0]
    assert first == "error: judge.order='bogus': expected one of ['random', 'fixed', 'both']", out.stderr
    assert not (run / "data.json").exists() and not (run / "metrics.json").exists()
    assert "judge.order='bogus'" in (run / "error.txt").read_text()


@pytest.mark.slow  # ~9 s: a finished run, then the CLI again
def test_a_typo_in_a_finished_run_folder_leaves_it_as_it_was(tmp_path):
    """Rerunning a finished run's command with a typo changes nothing in its folder."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"_run": {}}))
    out = genrm(*TINY, "judge.order=bogus", f"paths.outputs={tmp_path}", f"hydra.run.dir={run}", timeout=120)
    assert out.returncode == 2 and f"{run} left as it was" in out.stderr, out.stderr[-2000:]
    assert not (run / "error.txt").exists() and not (run / "config.yaml").exists()


def compose_serve(overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from support import CONF

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return hydra_compose(config_name="serve", overrides=overrides)


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["judge.style=bogus"], "judge.style='bogus': expected one of ["),
        (["judge.order=bogus"], "judge.order='bogus': expected one of ['random', 'fixed', 'both']"),
        (["judge.dtype=bogus"], "judge.dtype='bogus': expected one of ['auto', 'float32'"),
        (["judge.k=0"], "judge.k=0: expected a positive integer"),
        (["port=70000"], "port=70000: expected an integer in [0, 65535]"),
        (["queue_limit=0"], "queue_limit=0: expected a positive integer"),
        (["request_timeout_s=0"], "request_timeout_s=0: expected a positive number"),
        (["max_wait_ms=-1"], "max_wait_ms=-1: expected a number >= 0"),
        (["checkpoint=x"], "checkpoint='x': a checkpoint belongs to a run"),
        (["run_dir=/no/such/run"], "run_dir='/no/such/run': no such folder"),
        (["missing_reference_reward=zero"], "missing_reference_reward='zero': expected null"),
        (["host=0.0.0.0"], "host='0.0.0.0' accepts requests from other machines: set a token in $GENRM_SERVE_TOKEN"),
        (["host=::"], "host='::' accepts requests from other machines"),
        (["host=judge.example.org"], "host='judge.example.org' accepts requests from other machines"),
        (["use_safetensors=yes"], "use_safetensors='yes': expected true or false"),
    ],
    ids=lambda v: v[0] if isinstance(v, list) else None,
)
def test_serve_settings_are_checked_before_the_model_loads(overrides, message, monkeypatch):
    monkeypatch.delenv("GENRM_SERVE_TOKEN", raising=False)
    with pytest.raises(ConfigError) as e:
        validate.check_serve(compose_serve(overrides))
    assert str(e.value).startswith(message), str(e.value)
    validate.check_serve(compose_serve([]))  # the shipped settings pass
    assert "\n" not in str(e.value)  # one line


def test_every_interface_is_served_with_a_token_only(monkeypatch):
    monkeypatch.setenv("GENRM_SERVE_TOKEN", "s3cret")
    validate.check_serve(compose_serve(["host=0.0.0.0"]))
    monkeypatch.setenv("GENRM_SERVE_TOKEN", "")
    with pytest.raises(ConfigError, match="host='0.0.0.0'"):
        validate.check_serve(compose_serve(["host=0.0.0.0"]))
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        validate.check_serve(compose_serve([f"host={host}"]))
