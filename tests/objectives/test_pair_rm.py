"""PairRM: one sequence with both responses, balanced labels, every trainable parameter moves,
and evaluation in both orders."""

from __future__ import annotations

import pytest
from support import assert_all_trainable_changed, make_ctx

from genrm_exp.objectives import pair_rm


def test_rows_hold_both_responses_with_balanced_labels(tmp_path):
    ctx = make_ctx(["objective=pair_rm", "objective.train_orders=both"], tmp_path)
    trainer = pair_rm.make_trainer(ctx)
    rows = trainer.train_dataset
    assert len(rows) == 2 * len(ctx.train) and sum(rows["labels"]) == len(ctx.train)
    pair = ctx.train[0]
    first = ctx.tokenizer.decode(rows[0]["input_ids"])
    shown_a = first.split("[The Start of Assistant A's Answer]\n")[1].split("\n[The End of Assistant A's Answer]")[0]
    assert shown_a == pair.chosen  # label 0: A (shown first) is better
    assert rows[0]["labels"] == 0 and rows[1]["labels"] == 1


@pytest.mark.parametrize("peft", ["none", "lora"])
def test_pair_rm_step_changes_every_trainable_parameter(tmp_path, peft):
    ctx = make_ctx(["objective=pair_rm", f"peft={peft}"], tmp_path)
    assert_all_trainable_changed(pair_rm.make_trainer(ctx))


def test_pair_rm_is_evaluated_in_both_orders(tmp_path):
    ctx = make_ctx(["objective=pair_rm"], tmp_path)
    judge = pair_rm.build(ctx)
    pairs = ctx.eval_sets["llmbar-natural"]
    records = judge.predict(pairs, "llmbar-natural")
    for r in records:
        assert r["orders"] == ["AB", "BA"] and len(r["p_a_shown"]) == 2
        assert r["p_chosen"] == pytest.approx((r["p_a_shown"][0] + 1 - r["p_a_shown"][1]) / 2)
    assert (ctx.run_dir / "checkpoint").is_dir()
