"""Every method learns a preference a reader can check by eye (tests/planted.py: two responses
identical but for one word, of equal length, so both length baselines sit at 50%): a small random
model trained on it judges the held-out pairs far above chance, and the same training on shuffled
labels stays near chance (the test can fail).

    python -m pytest tests/test_learning.py -q --durations=0
"""

from __future__ import annotations

import pytest
from planted import write_planted
from support import make_ctx

from genrm_exp.evaluation import evaluate
from genrm_exp.objectives import build

N_PAIRS = 300  # 240 to train, 60 held out (whole prompt groups)
WIDE = [
    "model.config.hidden_size=64",
    "model.config.intermediate_size=128",
    "model.config.num_attention_heads=4",
    "model.config.num_key_value_heads=2",
]


def heldout_accuracy(objective: str, tmp_path, *extra: str, shuffle_labels: bool = False) -> dict:
    data = write_planted(tmp_path / "planted.jsonl", n=N_PAIRS, shuffle_labels=shuffle_labels)
    ctx = make_ctx(
        [
            f"objective={objective}",
            "data=local",
            f"data.train.path={data}",
            "+data.train.columns.id=id",
            "data.heldout_fraction=0.2",
            "data.max_train_pairs=null",
            "data.max_length=400",
            "eval=heldout",
            "eval.max_pairs_per_set=null",
            "peft=none",
            *WIDE,
            "trainer.args.max_steps=-1",
            "trainer.args.learning_rate=2e-3",
            "trainer.args.per_device_train_batch_size=8",
            *extra,
        ],
        tmp_path,
    )
    judge = build(objective, ctx)
    heldout = evaluate(judge, ctx.eval_sets, tmp_path / "eval", bootstrap_samples=200, seed=0)["heldout"]
    assert heldout["baseline_longer"] == 0.5 and heldout["n"] >= 50  # length explains nothing here
    print(f"{objective}: held-out accuracy {heldout['accuracy']:.3f} {heldout['ci95']} n={heldout['n']}")
    return heldout


# A judge shown both orders must be right in each, not only on their average: after 3 (GenRM, also
# 6) or 4 (PairRM) epochs both score 0.93-1.00 by a hair, each order's verdict the same letter
# whatever the pair (position consistency 0, ECE 0.43-0.50); at 8 epochs GenRM is consistent on
# 0.87 of the pairs, PairRM on 0.82.
@pytest.mark.parametrize(
    "objective,epochs,floor,consistent", [("bt", 3, 0.9, None), ("pair_rm", 8, 0.85, 0.7), ("genrm", 8, 0.8, 0.7)]
)
def test_a_trained_judge_learns_the_planted_preference(objective, epochs, floor, consistent, tmp_path):
    heldout = heldout_accuracy(objective, tmp_path, f"trainer.args.num_train_epochs={epochs}")
    assert heldout["accuracy"] >= floor and heldout["ci95"][0] > 0.5, heldout
    if consistent is not None:
        assert heldout["position_consistency"] >= consistent, heldout


def test_shuffled_labels_teach_nothing(tmp_path):
    heldout = heldout_accuracy("bt", tmp_path, "trainer.args.num_train_epochs=3", shuffle_labels=True)
    assert 0.25 <= heldout["accuracy"] <= 0.75, heldout


@pytest.mark.slow  # ~3 min
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="open (issue: every method learns): the direct judge's rows trained 8 epochs reach "
    "P(right) 0.82 on their training rows with the verdict token alone labelled, 0.999 with the verdict "
    "and ']]', and stay at 0.500 when the end-of-turn token SFTTrainer appends to every completion is "
    "labelled too, as in STaR's rows; this fails the day STaR learns here, and then becomes its test",
)
def test_star_sft_learns_the_planted_preference(tmp_path):
    """One STaR-SFT iteration over all 240 pairs, k=4 chains of 2 tokens closed by the model's own
    odds: the kept chains carry the right verdicts (443 of 480 keys), 8 epochs on them."""
    heldout = heldout_accuracy(
        "star_sft",
        tmp_path,
        "trainer.args.num_train_epochs=8",
        "star.iterations=1",
        "star.k=4",
        "judge.k=8",
        "judge.max_new_tokens=2",
        "judge.system=Judge.",
        "star.close_verdict=' Final verdict: [['",
    )
    assert heldout["accuracy"] >= 0.8 and heldout["ci95"][0] > 0.5, heldout
