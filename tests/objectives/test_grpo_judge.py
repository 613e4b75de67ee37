"""objective=grpo_judge: the sampler keeps both orders of a pair together, one TRL step logs every
reward by name, and the trained judge is the CoT judge.

    python -m pytest tests/objectives/test_grpo_judge.py -q
"""

from __future__ import annotations

import json

import pytest
from support import compose, make_ctx

from genrm_exp.objectives.grpo_judge import PairSampler, judge_rows, rewards, verdict_length

NO_THOUGHT = ["judge.max_new_tokens=0", "judge.close_verdict=' Final verdict: [['"]


def test_the_sampler_emits_each_pair_in_both_orders_adjacent():
    """6 rows = 3 pairs, 2 generations, chunks of 2 rows (one pair), each chunk yielded twice."""
    out = list(PairSampler(6, mini_repeat_count=2, batch_size=2, repeat_count=2, seed=0))
    assert len(out) == len(PairSampler(6, 2, 2, 2, seed=0)) == 3 * 2 * 2 * 2
    for start in range(0, len(out), 4):  # every block of 2 x num_generations is one pair: AB, AB, BA, BA
        a, _, b, _ = out[start : start + 4]
        assert out[start : start + 4] == [a, a, a + 1, a + 1] and a % 2 == 0 and b == a + 1
    assert sorted(set(out)) == list(range(6))


def test_rows_hold_each_pair_in_both_orders_with_the_answer_as_shown(tmp_path):
    ctx = make_ctx(["objective=grpo_judge", "eval=heldout"], tmp_path)
    rows = judge_rows(ctx.train[:2], ctx.tokenizer, ctx.cfg.judge)
    assert rows["order"] == ["AB", "BA", "AB", "BA"] and rows["answer"] == ["A", "B", "A", "B"]
    assert rows["pair_id"] == [ctx.train[0].id] * 2 + [ctx.train[1].id] * 2
    assert ctx.train[0].chosen in rows["prompt"][0] and not rows["prompt"][0].endswith("[[")
    assert rows["closing"] == [""] * 4


def test_rows_of_no_thought_end_in_the_closing_the_rewards_read(tmp_path):
    ctx = make_ctx(["objective=grpo_judge", "eval=heldout", *NO_THOUGHT], tmp_path)
    rows = judge_rows(ctx.train[:1], ctx.tokenizer, ctx.cfg.judge)
    assert rows["closing"] == [" Final verdict: [["] * 2
    assert all(p.endswith("<|im_start|>assistant\n Final verdict: [[") for p in rows["prompt"])


def test_rewards_and_weights_come_from_the_config():
    funcs, weights = rewards(compose(["objective=grpo_judge"]).objective)
    assert [f.__name__ for f in funcs] == ["verdict_correct", "both_orders_correct", "verdict_format"]
    assert weights == [1.0, 1.0, 0.0]


@pytest.mark.parametrize("thought", [["judge.max_new_tokens=8"], NO_THOUGHT], ids=["8_tokens", "no_thought"])
def test_one_step_logs_every_reward_and_ends_in_a_cot_judge(thought, tmp_path):
    from genrm_exp.objectives import build

    ctx = make_ctx(
        [
            "objective=grpo_judge",
            "eval=heldout",
            *thought,
            "trainer.args.max_steps=1",
            "objective.args.num_generations=2",
            "objective.args.per_device_train_batch_size=4",
        ],
        tmp_path,
    )
    judge = build("grpo_judge", ctx)
    assert type(judge).__name__ == "CoTJudge"
    history = json.loads((ctx.run_dir / "train" / "trainer_state.json").read_text())["log_history"]
    step = next(h for h in history if "reward" in h)
    for name in ("verdict_correct", "both_orders_correct", "verdict_format"):
        assert 0.0 <= step[f"rewards/{name}/mean"] <= 1.0
    budget = 8 if ctx.cfg.judge.max_new_tokens else verdict_length(ctx.tokenizer)
    assert step["completions/max_length"] <= budget and verdict_length(ctx.tokenizer) <= 3
    assert (ctx.run_dir / "checkpoint" / "adapter_config.json").is_file()


def test_a_killed_run_resumes_from_trls_last_checkpoint(tmp_path):
    """A first run stops after step 1 with checkpoint-1 (as a kill would leave it); the rerun of the
    same folder with 2 steps starts from it: step 1's log entry is the checkpoint's, to the
    microsecond of its step time (a fresh step 1 would have its own), and step 2 follows."""
    from genrm_exp.objectives import build

    small = [
        "objective=grpo_judge",
        "eval=heldout",
        "judge.max_new_tokens=8",
        "objective.args.num_generations=2",
        "objective.args.per_device_train_batch_size=4",
        "objective.args.save_steps=1",
    ]
    first = make_ctx([*small, "trainer.args.max_steps=1"], tmp_path)
    build("grpo_judge", first)
    assert (first.run_dir / "train" / "trainer" / "checkpoint-1").is_dir()
    saved = json.loads((first.run_dir / "train" / "trainer" / "checkpoint-1" / "trainer_state.json").read_text())
    again = make_ctx([*small, "trainer.args.max_steps=2"], tmp_path)
    build("grpo_judge", again)
    history = json.loads((again.run_dir / "train" / "trainer_state.json").read_text())["log_history"]
    steps = [h for h in history if "reward" in h]
    assert [h["step"] for h in steps] == [1, 2]
    assert steps[0]["step_time"] == next(h for h in saved["log_history"] if "reward" in h)["step_time"]


def test_full_fine_tuning_keeps_the_starting_weights_as_its_kl_reference(tmp_path):
    """Without LoRA and with a KL term, TRL loads the reference by the policy's name; the tiny model is
    built in memory, so its starting weights are saved to train/reference/ first. After a step the
    reference still holds the base model's weights (as checkpoints.base_model rebuilds them under
    `seed`) while the policy has moved."""
    import torch

    from genrm_exp import checkpoints
    from genrm_exp.objectives.grpo_judge import make_trainer

    ctx = make_ctx(
        [
            "objective=grpo_judge",
            "eval=heldout",
            "peft=none",
            "judge.max_new_tokens=4",
            "trainer.args.max_steps=1",
            "trainer.args.learning_rate=1e-2",
            "objective.args.num_generations=2",
            "objective.args.per_device_train_batch_size=4",
        ],
        tmp_path,
    )
    trainer = make_trainer(ctx)
    folder = ctx.run_dir / "train" / "reference"
    assert (folder / "config.json").is_file() and trainer.args.beta > 0
    trainer.train()
    start = dict(checkpoints.base_model(ctx.cfg, ctx.tokenizer, head="causal_lm").named_parameters())
    reference = dict(trainer.ref_model.named_parameters())
    policy = dict(trainer.model.named_parameters())
    assert start.keys() == reference.keys() == policy.keys()
    assert all(torch.equal(start[n], reference[n]) for n in start)
    assert any(not torch.equal(start[n], policy[n]) for n in start)
