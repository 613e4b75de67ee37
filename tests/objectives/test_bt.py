"""The Bradley-Terry objective: a TRL RewardTrainer step changes every trainable parameter, with
and without LoRA, and the judge's records are consistent with its rewards."""

from __future__ import annotations

import math

import pytest
from support import assert_all_trainable_changed, make_ctx

from genrm_exp.objectives import bt


@pytest.mark.parametrize("peft", ["none", "lora"])
def test_bt_step_changes_every_trainable_parameter(tmp_path, peft):
    ctx = make_ctx(["objective=bt", f"peft={peft}"], tmp_path)
    trainer = bt.make_trainer(ctx)
    assert_all_trainable_changed(trainer)


def test_bt_judge_records_follow_rewards(tmp_path):
    ctx = make_ctx(["objective=bt", "peft=none"], tmp_path)
    judge = bt.build(ctx)
    pairs = ctx.eval_sets["llmbar-natural"]
    records = judge.predict(pairs, "llmbar-natural")
    assert [r["id"] for r in records] == [p.id for p in pairs]
    for r in records:
        assert r["p_chosen"] == pytest.approx(1 / (1 + math.exp(r["r_rejected"] - r["r_chosen"])))
        assert r["score"] == (
            1.0 if r["r_chosen"] > r["r_rejected"] else 0.0 if r["r_chosen"] < r["r_rejected"] else 0.5
        )
    assert (ctx.run_dir / "checkpoint").is_dir()


def test_api_serves_a_bt_run_as_the_same_rewards(tmp_path):
    """The API reads the run back through the one checkpoint loader and scores as evaluation did."""
    from omegaconf import OmegaConf

    from genrm_exp.api import RewardModel

    ctx = make_ctx(["objective=bt"], tmp_path)  # LoRA: the adapter (and trained head) on a seeded base
    records = bt.build(ctx).predict(ctx.eval_sets["heldout"][:3], "heldout")
    OmegaConf.save(ctx.cfg, ctx.run_dir / "config.yaml", resolve=True)
    rm = RewardModel.from_run(ctx.run_dir, device="cpu")
    pairs = ctx.eval_sets["heldout"][:3]
    assert rm.kind == "reward"
    got = rm.rewards([p.prompt_messages() for p in pairs], [p.chosen for p in pairs])
    assert got == pytest.approx([r["r_chosen"] for r in records], abs=1e-4)
    probs = rm.preferences([p.prompt_messages() for p in pairs], [p.chosen for p in pairs], [p.rejected for p in pairs])
    assert probs == pytest.approx([r["p_chosen"] for r in records], abs=1e-4)
