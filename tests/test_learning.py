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


@pytest.mark.parametrize("objective,epochs,floor", [("bt", 3, 0.9), ("pair_rm", 4, 0.85), ("genrm", 3, 0.8)])
def test_a_trained_judge_learns_the_planted_preference(objective, epochs, floor, tmp_path):
    heldout = heldout_accuracy(objective, tmp_path, f"trainer.args.num_train_epochs={epochs}")
    assert heldout["accuracy"] >= floor and heldout["ci95"][0] > 0.5, heldout


def test_shuffled_labels_teach_nothing(tmp_path):
    heldout = heldout_accuracy("bt", tmp_path, "trainer.args.num_train_epochs=3", shuffle_labels=True)
    assert 0.25 <= heldout["accuracy"] <= 0.75, heldout
