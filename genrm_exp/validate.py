"""The whole composed config checked before any data loads or any model is built, so a typo never
costs a training run: every enumerated value, every file that must exist, every pair of settings that
cannot go together. Each message names the full key, the value and what is allowed.

    python -m genrm_exp model=tiny_random objective=genrm judge.order=bogus
    # error: judge.order='bogus': expected one of ['random', 'fixed', 'both']

The allowed values are the modules' own constants (orders.py, prompts.py, generation.py, ...), so a
rule is written once; the modules keep their own checks for callers that build judges by hand (the
API), and this step runs them all up front.

    python -m pytest tests/test_validate.py -q
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from omegaconf import OmegaConf

from genrm_exp.errors import ConfigError

STAR_ORDERS = ("random", "fixed", "both")
STAR_INIT = ("latest", "base")
BOOTSTRAP_ITERATIONS = ("first", "all")


def one_of(key: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value!r}: expected one of {list(allowed)}")


def positive(key: str, value, *, integer: bool = True) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) if integer else isinstance(value, (int, float))
    if not ok or value <= 0:
        raise ConfigError(f"{key}={value!r}: expected a positive {'integer' if integer else 'number'}")


def no_thought(max_new_tokens, close_verdict, group: str) -> None:
    """max_new_tokens=0 (a chain of no thought) only where a closing draws the verdict."""
    if not isinstance(max_new_tokens, int) or isinstance(max_new_tokens, bool) or max_new_tokens < 0:
        raise ConfigError(f"{group}.max_new_tokens={max_new_tokens!r}: expected an integer >= 0")
    if max_new_tokens == 0 and close_verdict is None:
        raise ConfigError(
            f"{group}.max_new_tokens=0 samples empty chains, which hold no verdict: set "
            f"{group}.close_verdict (e.g. ' Final verdict: [[') or a positive {group}.max_new_tokens"
        )


def is_star(cfg) -> bool:
    return str(cfg.objective.name).startswith("star_")


def samples(cfg) -> bool:
    """Whether the run samples chains of thought (a CoT judge, or STaR's sampling stages)."""
    return str(cfg.judge.style) == "cot" or is_star(cfg)


def check(cfg) -> None:
    """Every rule below, in the order a reader meets the config groups; raises ConfigError."""
    _objective(cfg)
    _model(cfg)
    _judge(cfg)
    _data(cfg)
    _eval(cfg)
    if is_star(cfg):
        _star(cfg)
    if str(cfg.objective.name) == "grpo_judge":
        _grpo(cfg)
    from genrm_exp import code_version

    code_version.check_policy(str(cfg.on_code_change))


def _objective(cfg) -> None:
    from genrm_exp.judges.factory import SCORERS
    from genrm_exp.objectives import OBJECTIVES
    from genrm_exp.objectives.genrm import TRAIN_ORDERS

    o = cfg.objective
    one_of("objective.name", str(o.name), sorted(OBJECTIVES))
    one_of("objective.scorer", str(o.scorer), SCORERS)
    one_of("objective.responses_per_sequence", o.responses_per_sequence, (1, 2))
    positive("objective.lr_scale", o.lr_scale, integer=False)
    if "learning_rate" in (o.args or {}):
        raise ConfigError(
            f"objective.args.learning_rate={o.args.learning_rate}: an objective states its rate relative "
            "to the trainer's (objective.lr_scale); set trainer.args.learning_rate or objective.lr_scale"
        )
    if "train_orders" in o:
        one_of("objective.train_orders", str(o.train_orders), TRAIN_ORDERS)
    if str(o.name) == "genrm" and str(cfg.judge.style) != "direct":
        raise ConfigError(
            f"judge.style={cfg.judge.style!r}: objective=genrm trains the verdict alone and is judged "
            "directly (judge=direct); chain-of-thought GenRM is trained by the STaR objectives"
        )


def _model(cfg) -> None:
    from genrm_exp.modeling import SOURCES, weights_dtype_key
    from genrm_exp.sampling.generation import DTYPES

    one_of("model.source", str(cfg.model.source), SOURCES)
    # dtype, and cpu_dtype (weights_dtype_key: absent from a run config older than the key)
    for key in dict.fromkeys(("dtype", weights_dtype_key(cfg.model, "cpu"))):
        one_of(f"model.{key}", str(cfg.model[key]), DTYPES)


def _judge(cfg) -> None:
    from genrm_exp.prompts import STYLES, check_judge_cfg
    from genrm_exp.sampling.closing import check_close
    from genrm_exp.sampling.generation import BACKENDS, DTYPES

    j = cfg.judge
    one_of("judge.style", str(j.style), STYLES)
    one_of("judge.order", str(j.order), ("random", "fixed", "both"))
    one_of("judge.backend", str(j.backend), (*BACKENDS, "auto"))
    one_of("judge.dtype", str(j.dtype), ("auto", *DTYPES))
    one_of("judge.vllm.dtype", str(j.vllm.dtype), DTYPES)
    for key in ("k", "batch_size"):
        positive(f"judge.{key}", j[key])
    no_thought(j.max_new_tokens, j.close_verdict, "judge")
    if not 0 < float(j.top_p) <= 1 or float(j.temperature) < 0:
        raise ConfigError(
            f"judge.temperature={j.temperature} / judge.top_p={j.top_p}: expected temperature >= 0 and top_p in (0, 1]"
        )
    if j.close_verdict is not None:
        check_close(str(j.close_verdict), "judge.close_verdict")
    check_judge_cfg(j)


def _data(cfg) -> None:
    from genrm_exp.data.budget import POLICIES
    from genrm_exp.data.loaders import BAD_ROW_MODES

    one_of("data.truncation", str(cfg.data.truncation), POLICIES)
    one_of("data.on_bad_row", str(cfg.data.on_bad_row), BAD_ROW_MODES)
    positive("data.max_length", cfg.data.max_length)
    train = cfg.data.train
    _spec("data.train", train)
    if cfg.data.test is not None:
        _spec("data.test", cfg.data.test)
    if cfg.objective.trains and "ties" in train and train.ties == "half":
        raise ConfigError(
            "data.train.ties='half': a tie has no preferred response to train on; use ties: drop "
            "(ties: half is for evaluation sets)"
        )
    if cfg.objective.trains or (cfg.eval.heldout and cfg.data.test is None):
        _exists("data.train.path", train)
    if cfg.data.test is not None and cfg.eval.heldout:
        _exists("data.test.path", cfg.data.test)


def _eval(cfg) -> None:
    from genrm_exp.benchmarks import BENCHMARKS
    from genrm_exp.data.budget import POLICIES, RULES

    e = cfg.eval
    one_of("eval.truncation", str(e.truncation), POLICIES)
    one_of("eval.fit", str(e.fit), RULES)
    positive("eval.max_length", e.max_length)
    if e.max_pairs_per_set is not None:
        positive("eval.max_pairs_per_set", e.max_pairs_per_set)
    pairwise = str(cfg.objective.scorer) != "reward"
    for name, spec in e.sets.items():
        if str(name).startswith("_"):
            raise ConfigError(f"eval.sets.{name}: set names starting with '_' are reserved for metrics.json's own keys")
        _spec(f"eval.sets.{name}", spec)
        _exists(f"eval.sets.{name}.path", spec)
        bench = BENCHMARKS.get(str(spec.get("source")))
        if bench is not None and bench.orders is not None and pairwise and str(cfg.judge.order) != bench.orders:
            raise ConfigError(
                f"judge.order={cfg.judge.order!r}: eval.sets.{name} is scored by {bench.hub}'s rule, which "
                f"judges every pair in {bench.orders} orders; use judge.order={bench.orders} (the default)"
            )


def _star(cfg) -> None:
    from genrm_exp.sampling.closing import check_close

    s = cfg.star
    if str(cfg.judge.style) != "cot":
        raise ConfigError(f"judge.style={cfg.judge.style!r}: STaR samples chains of thought; use judge=cot")
    one_of("star.order", str(s.order), STAR_ORDERS)
    one_of("star.init", str(s.init), STAR_INIT)
    one_of("star.bootstrap.iterations", str(s.bootstrap.iterations), BOOTSTRAP_ITERATIONS)
    if not isinstance(s.balance_verdicts, bool):
        raise ConfigError(f"star.balance_verdicts={s.balance_verdicts!r}: expected true or false")
    for key in ("iterations", "k", "keep_per_pair", "batch_size", "chunk_size"):
        positive(f"star.{key}", s[key])
    no_thought(s.max_new_tokens, s.close_verdict, "star")
    positive("star.rationalizer.k", s.rationalizer.k)
    if s.close_verdict is not None:
        check_close(str(s.close_verdict), "star.close_verdict")
    # Evaluated as trained: a chain cut before its verdict, or left open where training closed it,
    # is an invalid answer (0.5) at evaluation, and the STaR curve stays at chance for that alone.
    if s.max_new_tokens > cfg.judge.max_new_tokens:
        raise ConfigError(
            f"star.max_new_tokens={s.max_new_tokens} > judge.max_new_tokens={cfg.judge.max_new_tokens}: "
            "the judge would be evaluated with less room than its training chains take; raise "
            "judge.max_new_tokens or lower star.max_new_tokens"
        )
    if s.close_verdict != cfg.judge.close_verdict:
        raise ConfigError(
            f"judge.close_verdict={cfg.judge.close_verdict!r} differs from star.close_verdict={s.close_verdict!r}: "
            "the judge is evaluated closing its chains as STaR closed the ones it trained on; leave "
            "judge.close_verdict unset (it follows star.close_verdict) or set both alike"
        )
    if s.bootstrap.rationales_file is not None and not Path(str(s.bootstrap.rationales_file)).is_file():
        raise ConfigError(f"star.bootstrap.rationales_file={str(s.bootstrap.rationales_file)!r}: no such file")


def _grpo(cfg) -> None:
    """objective=grpo_judge: its rewards, GRPO's settings, and a scored batch that holds whole pairs
    (both orders x num_generations; genrm_exp/objectives/grpo_judge.py)."""
    from genrm_exp.objectives.judge_rewards import REWARDS

    if str(cfg.judge.style) != "cot":
        raise ConfigError(
            f"judge.style={cfg.judge.style!r}: objective=grpo_judge samples chains of thought; use judge=cot"
        )
    rewards = cfg.objective.rewards
    if not rewards:
        raise ConfigError(f"objective.rewards is empty: name one or more of {list(REWARDS)} with a weight")
    for name, weight in rewards.items():
        one_of("objective.rewards", str(name), list(REWARDS))
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise ConfigError(f"objective.rewards.{name}={weight!r}: expected a weight >= 0")
    if not any(float(w) > 0 for w in rewards.values()):
        raise ConfigError(f"objective.rewards={dict(rewards)}: every weight is 0, so nothing is rewarded")
    args = {
        **OmegaConf.to_container(cfg.trainer.args, resolve=True),
        **OmegaConf.to_container(cfg.objective.args, resolve=True),
    }
    for key, why in (
        ("reward_weights", "the weights are objective.rewards"),
        ("generation_batch_size", "the scored batch is per_device_train_batch_size x steps_per_generation"),
    ):
        if args.get(key) is not None:
            raise ConfigError(f"objective.args.{key}={args[key]!r}: not settable here ({why})")
    if args.get("use_vllm"):
        raise ConfigError(
            "objective.args.use_vllm=true: TRL's vLLM client needs vllm 0.22-0.31 importable beside TRL and CUDA "
            "for its weight sync; grpo_judge samples with TRL's own generation (README, grpo_judge)"
        )
    group = args.get("num_generations")
    if not isinstance(group, int) or isinstance(group, bool) or group < 2:
        raise ConfigError(f"objective.args.num_generations={group!r}: GRPO needs an integer >= 2")
    if cfg.judge.max_new_tokens == 0:  # a chain of no thought: the completion is the verdict after the closing
        if args.get("max_completion_length") != 0:
            raise ConfigError(
                f"objective.args.max_completion_length={args.get('max_completion_length')!r} with judge.max_new_tokens=0: "
                "the completion is the verdict after judge.close_verdict, its length the verdict's tokens; "
                "leave max_completion_length to follow judge.max_new_tokens"
            )
    else:
        positive("objective.args.max_completion_length", args.get("max_completion_length"))
    positive("objective.args.epsilon", args.get("epsilon", 0.2), integer=False)
    positive("objective.args.temperature", args.get("temperature", 1.0), integer=False)
    beta = args.get("beta", 0.0)
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta < 0:
        raise ConfigError(f"objective.args.beta={beta!r}: expected a KL coefficient >= 0")
    steps = args.get("steps_per_generation") or args["gradient_accumulation_steps"]
    batch = int(args["per_device_train_batch_size"]) * int(steps)
    if batch % (2 * group):
        raise ConfigError(
            f"objective.args.per_device_train_batch_size={args['per_device_train_batch_size']} x steps_per_generation="
            f"{steps} = {batch} completions per scored batch: expected a multiple of 2 x num_generations = "
            f"{2 * group}, so that both orders of each pair are scored together"
        )


def _spec(key: str, spec) -> None:
    """A data spec (data.train, data.test, eval.sets.NAME): its format and tie policy."""
    from genrm_exp.data.formats import FORMATS, TIE_POLICIES

    if "format" in spec:
        one_of(f"{key}.format", str(spec.format), sorted(FORMATS))
    if spec.get("ties") is not None:
        one_of(f"{key}.ties", str(spec.ties), TIE_POLICIES)


def _exists(key: str, spec) -> None:
    """A data spec's `path`, when it has one, must be a file (a Hub spec is looked up when loaded)."""
    path = OmegaConf.select(spec, "path") if OmegaConf.is_config(spec) else spec.get("path")
    if path is not None and not Path(str(path)).is_file():
        raise ConfigError(f"{key}={str(path)!r}: no such file")


def check_serve(cfg) -> None:
    """conf/serve.yaml as composed, before any model loads (genrm_exp.serve)."""
    from genrm_exp.prompts import STYLES
    from genrm_exp.sampling.generation import DTYPES

    if cfg.run_dir is not None and cfg.get("pretrained") is not None:
        raise ConfigError(f"run_dir={cfg.run_dir!r} / pretrained={cfg.pretrained!r}: serve one of them, not both")
    if cfg.run_dir is None and cfg.get("checkpoint") is not None:
        raise ConfigError(f"checkpoint={cfg.checkpoint!r}: a checkpoint belongs to a run; give run_dir as well")
    if cfg.run_dir is not None and not Path(str(cfg.run_dir)).is_dir():
        raise ConfigError(f"run_dir={str(cfg.run_dir)!r}: no such folder")
    j = cfg.judge
    one_of("judge.style", str(j.style), STYLES)
    if j.order is not None:
        one_of("judge.order", str(j.order), ("random", "fixed", "both"))
    if j.dtype is not None:
        one_of("judge.dtype", str(j.dtype), ("auto", *DTYPES))
    if j.k is not None:
        positive("judge.k", j.k)
    port = cfg.port
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ConfigError(f"port={port!r}: expected an integer in [0, 65535] (0: any free port)")
    if cfg.batch_size is not None:
        positive("batch_size", cfg.batch_size)
    for key in ("queue_limit", "max_request_pairs", "max_request_bytes"):
        positive(key, cfg[key])
    positive("request_timeout_s", cfg.request_timeout_s, integer=False)
    if not isinstance(cfg.max_wait_ms, (int, float)) or cfg.max_wait_ms < 0:
        raise ConfigError(f"max_wait_ms={cfg.max_wait_ms!r}: expected a number >= 0")
    fallback = cfg.missing_reference_reward
    if fallback is not None and (not isinstance(fallback, (int, float)) or isinstance(fallback, bool)):
        raise ConfigError(
            f"missing_reference_reward={fallback!r}: expected null (422 for items without a reference) or a number"
        )
    host = str(cfg.host)
    if not _loopback(host) and not os.environ.get(str(cfg.token_env)):
        raise ConfigError(
            f"host={host!r} accepts requests from other machines: set a token in ${cfg.token_env} "
            "(token_env) so every request must send it, or bind host=127.0.0.1"
        )
    if not isinstance(cfg.use_safetensors, bool):
        raise ConfigError(f"use_safetensors={cfg.use_safetensors!r}: expected true or false")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False
