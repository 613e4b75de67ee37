"""Each STaR objective runs a full iteration on tiny_random with k=2 (sample -> build -> train ->
eval), its TRL trainer moves every trainable parameter, and the options around the loop work:
training from the latest or the base model, bootstrap rationales, the rationalizer's hinted prompt,
and the errors a user can hit."""

from __future__ import annotations

import json

import pytest
from support import assert_all_trainable_changed, compose, make_ctx

from genrm_exp.objectives import build
from genrm_exp.star import policy
from genrm_exp.star.filtering import split_chains
from genrm_exp.star.rationales import read_rationales
from genrm_exp.star.stages import read_jsonl
from genrm_exp.verdicts import parse_verdict

# One iteration on 8 pairs x 2 orders x k=2 chains of 16 tokens; verdicts closed, since a random
# model never writes one, so every objective gets right and wrong chains to train on.
STAR = [
    "data.max_length=330",
    "eval=heldout",
    "eval.max_pairs_per_set=3",
    "star.iterations=1",
    "star.k=2",
    "star.max_new_tokens=16",
    "star.chunk_size=6",
    "star.eval_base=false",
    "star.close_verdict=' Verdict: [['",
    "judge.k=2",
    "judge.max_new_tokens=16",
]


def run(objective: str, tmp_path, *extra: str):
    ctx = make_ctx([f"objective={objective}", *STAR, *extra], tmp_path)
    judge = build(objective, ctx)
    return ctx, judge


@pytest.mark.parametrize(
    "objective,extra",
    [
        ("star_sft", ()),
        ("star_dpo", ("star.balance_verdicts=true",)),
        ("star_ipo_rationalizer", ()),
        ("star_rationalizer", ()),
    ],
)
def test_one_full_iteration(objective, extra, tmp_path):
    ctx, judge = run(objective, tmp_path, *extra)
    it = ctx.run_dir / "iter_1"
    samples = read_jsonl(it / "samples.jsonl")
    assert len(samples) == 2 * len(ctx.train) and all(len(r["texts"]) == 2 for r in samples)  # both orders, k=2
    assert {r["order"] for r in samples} == {"AB", "BA"}
    assert all(v in ("A", "B") for r in samples for v in r["verdicts"])  # closed chains all carry a verdict
    rows_file = "dpo_pairs.jsonl" if objective in ("star_dpo", "star_ipo_rationalizer") else "train_set.jsonl"
    rows = read_jsonl(it / rows_file)
    assert rows, "no training rows"
    labels = {r["key"]: r["label"] for r in samples}
    for row in rows:
        if rows_file == "dpo_pairs.jsonl":  # chosen reaches the label, rejected the other verdict
            assert split_chains({"texts": [row["chosen"], row["rejected"]], "label": labels[row["key"]]})[:2] == (
                [row["chosen"]],
                [row["rejected"]],
            )
        else:
            assert split_chains({"texts": [row["completion"]], "label": labels[row["key"]]})[0] == [row["completion"]]
    assert (it / "checkpoint" / "adapter_config.json").is_file()
    history = json.loads((ctx.run_dir / "iterations.json").read_text())
    entry = history[-1]
    assert entry["iteration"] == 1 and entry["train"]["steps"] == 2 and entry["train"]["started_from"] == "base"
    assert entry["build"]["kept"] == len(rows) and 0 <= entry["build"]["yield"] <= 1
    verdicts = [parse_verdict(r["chosen" if rows_file == "dpo_pairs.jsonl" else "completion"]) for r in rows]
    assert entry["build"]["kept_verdicts"] == {"A": verdicts.count("A"), "B": verdicts.count("B")}
    if extra:  # star.balance_verdicts
        assert verdicts.count("A") == verdicts.count("B") and "balanced_away" in entry["build"]
    assert set(entry["eval"]["heldout"]) >= {"accuracy", "maj1_accuracy", "n", "k"}
    # The objective's judge replays the last iteration's predictions, in the order asked.
    pairs = ctx.eval_sets["heldout"]
    replayed = judge.predict(list(reversed(pairs)), "heldout")
    written = read_jsonl(it / "eval" / "predictions" / "heldout.jsonl")
    assert [r["id"] for r in replayed] == [p.id for p in reversed(pairs)]
    assert sorted(replayed, key=lambda r: r["id"]) == sorted(written, key=lambda r: r["id"])
    if objective == "star_ipo_rationalizer":  # the paper's Table 2 row: IPO on pairs with rationalized chains
        assert list(ctx.cfg.objective.args.loss_type) == ["ipo"] and ctx.cfg.objective.rationalize
    if objective.endswith("rationalizer"):
        hinted = read_jsonl(it / "rationalized.jsonl")
        assert [r["key"] for r in hinted] == [r["key"] for r in samples if not split_chains(r)[0]]
        for r in hinted:  # the model was asked with the known answer; training shows the plain prompt
            assert f"Assistant {r['label']}'s answer to be better" in r["sampled_prompt"]
            assert "Hint" not in r["prompt"]
            assert r["prompt"] == next(s["prompt"] for s in samples if s["key"] == r["key"])


def _rows(ctx, kind: str) -> list[dict]:
    from genrm_exp.star.iteration import render

    rows = []
    for pair in ctx.train[:4]:
        prompt = render(ctx.cfg.judge, ctx.tokenizer, pair, "AB")
        rows.append(
            {
                "prompt": prompt,
                "completion": "A is better. [[A]]",
                "chosen": "A is better. [[A]]",
                "rejected": "B is better. [[B]]",
            }
        )
    return rows


@pytest.mark.parametrize(
    ("objective", "peft"),
    [("star_sft", "lora"), ("star_dpo", "lora"), ("star_dpo", "none"), ("star_ipo", "lora"), ("star_sft", "none")],
)
def test_trainer_step_changes_every_trainable_parameter(objective, peft, tmp_path):
    import importlib

    ctx = make_ctx([f"objective={objective}", f"peft={peft}", *STAR], tmp_path)
    module = importlib.import_module(
        f"genrm_exp.objectives.{'star_dpo' if 'dpo' in objective or 'ipo' in objective else 'star_sft'}"
    )
    model, peft_config = policy.start_model(ctx.cfg, ctx.tokenizer, None)
    trainer = module.make_trainer(ctx, model, peft_config, _rows(ctx, objective), stage="iter_1", start_checkpoint=None)
    if objective == "star_ipo":
        assert trainer.args.loss_type == ["ipo"] and trainer.args.beta == 0.1
    if objective == "star_dpo":
        assert trainer.args.loss_type == ["sigmoid"] and trainer.args.beta == 1.0
    if objective != "star_sft":  # the reference's log-probs are computed before the first step, no copy kept
        assert trainer.ref_model is None and "ref_chosen_logps" in trainer.train_dataset.column_names
    assert_all_trainable_changed(trainer)


@pytest.mark.parametrize("precompute", [True, False])
def test_star_dpo_without_lora_keeps_a_reference_copy_only_when_it_runs_the_reference_live(precompute, tmp_path):
    from genrm_exp.objectives import star_dpo

    ctx = make_ctx(
        ["objective=star_dpo", "peft=none", f"objective.args.precompute_ref_log_probs={precompute}", *STAR], tmp_path
    )
    model, _ = policy.start_model(ctx.cfg, ctx.tokenizer, None)
    trainer = star_dpo.make_trainer(ctx, model, None, _rows(ctx, "star_dpo"), stage="iter_1", start_checkpoint=None)
    assert trainer.args.precompute_ref_log_probs is precompute
    assert (trainer.ref_model is None) is precompute
    assert ("ref_chosen_logps" in trainer.train_dataset.column_names) is precompute


def test_rationalizer_learning_rate_is_twenty_times_the_trainers(tmp_path):
    from trl import SFTConfig

    from genrm_exp.objectives.trl_args import trl_config

    ctx = make_ctx(["objective=star_rationalizer", *STAR], tmp_path)
    assert trl_config(SFTConfig, ctx).learning_rate == pytest.approx(20 * 1e-3)
    assert trl_config(SFTConfig, make_ctx(["objective=star_sft", *STAR], tmp_path / "b")).learning_rate == 1e-3


@pytest.mark.parametrize(
    ("init", "peft", "start"),
    [
        ("latest", "lora", "iter_1/checkpoint"),
        pytest.param("latest", "none", "iter_1/checkpoint", marks=pytest.mark.slow),  # ~13 s each
        pytest.param("base", "lora", "base", marks=pytest.mark.slow),
    ],
)
def test_second_iteration_samples_with_the_latest_model_and_trains_from_init(init, peft, start, tmp_path):
    """LoRA from latest: the adapter keeps training and TRL's frozen copy of it is DPO's reference;
    full fine-tuning from latest: the checkpoint is loaded twice (policy and reference)."""
    ctx, _ = run(
        "star_dpo",
        tmp_path,
        "star.iterations=2",
        f"star.init={init}",
        f"peft={peft}",
        f"star.eval_base={init == 'latest' and peft == 'lora'}",
    )
    history = json.loads((ctx.run_dir / "iterations.json").read_text())
    assert [e["iteration"] for e in history] == ([0, 1, 2] if init == "latest" and peft == "lora" else [1, 2])
    weights = "adapter_config.json" if peft == "lora" else "config.json"
    assert all((ctx.run_dir / f"iter_{i}" / "checkpoint" / weights).is_file() for i in (1, 2))
    first, second = history[-2:]
    assert first["sample"]["model"] == "base" and second["sample"]["model"] == "iter_1/checkpoint"
    assert second["train"]["started_from"] == start
    assert first["pairs"] == second["pairs"] == len(ctx.train) // 2
    ids = [{r["id"] for r in read_jsonl(ctx.run_dir / f"iter_{i}" / "samples.jsonl")} for i in (1, 2)]
    assert not ids[0] & ids[1], "each iteration takes a fresh part of the training data"


def test_bootstrap_rationales_file_for_the_first_iteration(tmp_path):
    ctx0 = make_ctx(["objective=star_sft", *STAR], tmp_path / "probe")
    first = ctx0.train[0]
    rationales = tmp_path / "rationales.jsonl"
    rationales.write_text(
        json.dumps({"id": first.id, "order": "AB", "text": "Sound reasoning. [[A]]"})
        + "\n"
        + json.dumps({"id": first.id, "order": "BA", "texts": ["Wrong way round. [[A]]", "Right. [[B]]"]})
        + "\n"
    )
    ctx, _ = run("star_sft", tmp_path, "star.iterations=2", f"star.bootstrap.rationales_file={rationales}")
    history = json.loads((ctx.run_dir / "iterations.json").read_text())
    assert history[0]["sample"]["source"] == "rationales_file" and history[1]["sample"]["source"] == "latest_model"
    by_key = {r["key"]: r for r in read_jsonl(ctx.run_dir / "iter_1" / "samples.jsonl")}
    if f"{first.id}|AB" in by_key:  # the pair fell in part 1
        assert by_key[f"{first.id}|AB"]["texts"] == ["Sound reasoning. [[A]]"]
        assert by_key[f"{first.id}|BA"]["verdicts"] == ["A", "B"]
    assert history[0]["sample"]["keys_without_rationales"] == sum(not r["texts"] for r in by_key.values())
    rows = read_jsonl(ctx.run_dir / "iter_1" / "train_set.jsonl")
    assert {r["completion"] for r in rows} <= {"Sound reasoning. [[A]]", "Right. [[B]]"}


@pytest.mark.slow  # ~10 s; a rationales file bootstraps in the suite
def test_bootstrap_model_config_samples_the_first_iteration(tmp_path):
    cfg = compose(["objective=star_sft", "+model@star.bootstrap.model=tiny_random"], tmp_path)
    assert policy.bootstrap_model_cfg(cfg).source == "tiny_random"
    cfg = compose(["objective=star_sft", "star.bootstrap.model=some-org/some-model"], tmp_path)
    assert (
        policy.bootstrap_model_cfg(cfg).path == "some-org/some-model"
        and policy.bootstrap_model_cfg(cfg).source == "hub"
    )
    ctx, _ = run("star_sft", tmp_path, "+model@star.bootstrap.model=tiny_random")
    entry = json.loads((ctx.run_dir / "iterations.json").read_text())[-1]
    assert entry["sample"]["source"] == "bootstrap_model" and entry["sample"]["model"] == "tiny-random-llama"


def test_rationales_file_errors_name_file_line_and_key(tmp_path):
    bad = tmp_path / "r.jsonl"
    bad.write_text('{"id": "p", "order": "AB", "text": "x [[A]]"}\n{"id": "p", "swapped": true, "text": "y"}\n')
    with pytest.raises(ValueError, match=r"r.jsonl line 2: key 'order' is None \(expected one of \['AB', 'BA'\]\)"):
        read_rationales(bad)
    bad.write_text('{"id": "p", "order": "BA", "texts": []}\n')
    with pytest.raises(ValueError, match=r"line 1: expected key 'text'"):
        read_rationales(bad)
    with pytest.raises(ValueError, match="rationales_file"):
        read_rationales(tmp_path / "missing.jsonl")


def test_star_needs_the_cot_judge(tmp_path):
    from genrm_exp import validate

    with pytest.raises(ValueError, match="STaR samples chains of thought; use judge=cot"):
        validate.check(compose(["objective=star_sft", *STAR, "judge=direct"], tmp_path))


def test_a_run_folder_made_with_other_settings_is_refused(tmp_path):
    from genrm_exp.star.loop import guard

    ctx = make_ctx(["objective=star_sft", *STAR], tmp_path)
    guard(ctx)
    guard(ctx)  # same settings: fine
    other = make_ctx(["objective=star_sft", *STAR, "star.k=3"], tmp_path)
    with pytest.raises(ValueError, match=r"other settings \(star.k\)"):
        guard(other)
    faulty = make_ctx(["objective=star_sft", *STAR, "star.fault.kill_after_chunks=1"], tmp_path)
    guard(faulty)  # test knobs do not count


@pytest.mark.slow
def test_cpu_demo_on_the_embedded_model(tmp_path):
    """experiment=star_demo on SmolLM2-135M-Instruct end to end (10 to 13 minutes on 2 shared cores)."""
    import os
    import subprocess
    import sys

    from support import REPO

    env = {**os.environ, "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "genrm_exp", "experiment=star_demo", "objective=star_sft", f"paths.outputs={tmp_path}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    history = json.loads((tmp_path / "runs" / "star_sft" / "experiment=star_demo" / "iterations.json").read_text())
    assert [e["iteration"] for e in history] == [0, 1, 2]
    for entry in history[1:]:
        assert entry["build"]["keys"] == 16 and 0 <= entry["build"]["yield"] <= 1
        assert set(entry["eval"]) >= {"heldout", "llmbar-natural"}
