"""GenRM (verdict-token SFT): labels cover the verdict token alone, A/B labels are balanced, a step
moves every trainable parameter, and the trained judge scores the very token it was trained on."""

from __future__ import annotations

import json

import pytest
from support import assert_all_trainable_changed, compose, make_ctx

from genrm_exp.objectives import genrm
from genrm_exp.prompts import encode_for_verdict, render_pair


@pytest.mark.parametrize("orders", ["alternate", "both"])
def test_labels_mask_everything_but_the_verdict(tmp_path, orders):
    ctx = make_ctx(["objective=genrm", f"objective.train_orders={orders}"], tmp_path)
    trainer = genrm.make_trainer(ctx)
    rows = trainer.train_dataset
    shown = [o for oo in genrm.train_orders(ctx.train, 0, orders) for o in oo]
    pairs = [p for p in ctx.train for _ in range(2 if orders == "both" else 1)]
    assert len(rows) == len(pairs) == len(shown)
    verdicts = []
    for row, pair, order in zip(rows, pairs, shown):
        text = render_pair(
            ctx.tokenizer, ctx.cfg.judge, pair.prompt_messages(), pair.chosen, pair.rejected, order, open_verdict=True
        )
        enc = encode_for_verdict(ctx.tokenizer, text)
        labels = row["labels"]
        assert all(label == -100 for label in labels[:-1]), "only the verdict token may carry loss"
        assert labels[-1] == row["input_ids"][-1] == (enc.token_b if order == "BA" else enc.token_a)
        assert row["input_ids"][:-1] == enc.context_ids
        verdicts.append(ctx.tokenizer.decode([labels[-1]]))
    assert verdicts.count("A") == verdicts.count("B") == len(verdicts) // 2
    summary = json.loads((ctx.run_dir / "train" / "sft_rows.json").read_text())
    assert summary["rows"] == len(rows) and sorted(summary["verdict_token_counts"].values()) == [len(rows) // 2] * 2
    assert summary["over_max_length"] == 0


def test_alternate_orders_swap_exactly_half_by_a_seeded_hash(tmp_path):
    ctx = make_ctx(["objective=genrm"], tmp_path)
    flags = [oo[0] == "BA" for oo in genrm.train_orders(ctx.train, 0, "alternate")]
    assert sum(flags) == len(flags) // 2
    assert flags != [oo[0] == "BA" for oo in genrm.train_orders(ctx.train, 1, "alternate")]
    with pytest.raises(ValueError, match="objective.train_orders='random'"):
        genrm.train_orders(ctx.train, 0, "random")


@pytest.mark.parametrize("peft", ["none", "lora"])
def test_genrm_step_changes_every_trainable_parameter(tmp_path, peft):
    ctx = make_ctx(["objective=genrm", f"peft={peft}"], tmp_path)
    assert_all_trainable_changed(genrm.make_trainer(ctx))


def test_genrm_builds_a_direct_judge_and_saves_its_checkpoint(tmp_path):
    ctx = make_ctx(["objective=genrm"], tmp_path)
    judge = genrm.build(ctx)
    pairs = ctx.eval_sets["heldout"]
    records = judge.predict(pairs, "heldout")
    assert [r["id"] for r in records] == [p.id for p in pairs]
    assert all(0.0 <= r["p_chosen"] <= 1.0 and r["invalid"] == 0 for r in records)
    assert (ctx.run_dir / "checkpoint" / "adapter_config.json").is_file()


def test_genrm_refuses_a_cot_judge(tmp_path):
    from genrm_exp import validate

    with pytest.raises(ValueError, match="objective=genrm trains the verdict alone"):
        validate.check(compose(["objective=genrm", "judge=cot"], tmp_path))


def test_api_loads_the_run_and_serves_as_reward_and_pairwise_judge(tmp_path):
    from omegaconf import OmegaConf

    from genrm_exp.api import RewardModel

    ctx = make_ctx(["objective=genrm", "judge.order=both"], tmp_path)
    judge = genrm.build(ctx)
    OmegaConf.save(ctx.cfg, ctx.run_dir / "config.yaml", resolve=True)
    pairs = ctx.eval_sets["heldout"][:3]
    expected = [r["p_chosen"] for r in judge.predict(pairs, "heldout")]
    rm = RewardModel.from_run(ctx.run_dir, device="cpu")
    assert rm.kind == "pairwise" and rm.info()["judge"]["order"] == "both"
    prompts = [p.prompt_messages() for p in pairs]
    probs = rm.preferences(prompts, [p.chosen for p in pairs], [p.rejected for p in pairs])
    assert probs == pytest.approx(expected, abs=1e-4)
    p = pairs[0]
    assert rm.preference(p.question, p.chosen, p.rejected) == pytest.approx(
        1 - rm.preference(p.question, p.rejected, p.chosen)
    )
    reward = rm.reward_fn()
    got = reward(
        prompts=prompts,
        completions=[[{"role": "assistant", "content": q.chosen}] for q in pairs],
        reference=[q.rejected for q in pairs],
    )
    assert got == pytest.approx(probs, abs=1e-6)
    assert rm.judge(prompts, [[q.chosen, q.rejected] for q in pairs]) == [0 if x >= 0.5 else 1 for x in probs]
    with pytest.raises(KeyError, match="'reference' column"):
        reward(prompts=prompts, completions=["x"] * 3)
    with pytest.raises(FileNotFoundError, match="config.yaml not found"):
        RewardModel.from_run(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="pairwise judge"):
        rm.rewards(prompts, ["x"] * 3)
