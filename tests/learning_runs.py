"""Train a small model on the planted preference (tests/planted.py) and score it on the held-out
pairs: the runs the learning tests assert on (tests/test_learning.py, tests/test_learning_star.py).

    ctx, heldout = trained("genrm", tmp_path, "trainer.args.num_train_epochs=8")
    heldout["accuracy"], heldout["ci95"], heldout["position_consistency"]
"""

from __future__ import annotations

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


def trained(
    objective: str,
    tmp_path,
    *extra: str,
    shuffle_labels: bool = False,
    lr="2e-3",
    model=("peft=none", *WIDE),
    n=N_PAIRS,
    heldout=0.2,
):
    """(the run's context, the held-out set's metrics) of `objective` trained in
    tmp_path/run on `n` planted pairs, a fraction `heldout` of them held out; `model`: the model's
    overrides (the 64-wide random model in full by default)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = write_planted(tmp_path / "planted.jsonl", n=n, shuffle_labels=shuffle_labels)
    ctx = make_ctx(
        [
            f"objective={objective}",
            "data=local",
            f"data.train.path={data}",
            "+data.train.columns.id=id",
            f"data.heldout_fraction={heldout}",
            "data.max_train_pairs=null",
            "data.max_length=400",
            "eval=heldout",
            "eval.max_pairs_per_set=null",
            *model,
            "trainer.args.max_steps=-1",
            f"trainer.args.learning_rate={lr}",
            "trainer.args.per_device_train_batch_size=8",
            *extra,
        ],
        tmp_path,
    )
    judge = build(objective, ctx)
    heldout = evaluate(judge, ctx.eval_sets, tmp_path / "eval", bootstrap_samples=200, seed=0)["heldout"]
    assert heldout["baseline_longer"] == 0.5 and heldout["n"] >= 50  # length explains nothing here
    print(f"{objective}: held-out accuracy {heldout['accuracy']:.3f} {heldout['ci95']} n={heldout['n']}")
    return ctx, heldout


def heldout_accuracy(objective: str, tmp_path, *extra: str, shuffle_labels: bool = False, lr="2e-3") -> dict:
    return trained(objective, tmp_path, *extra, shuffle_labels=shuffle_labels, lr=lr)[1]


# STaR on a chain of no thought (judge.max_new_tokens=0): every sampled chain is the closing alone,
# its verdict drawn by the model's odds (closing.py), so what STaR keeps, and trains on, is whether that
# verdict agrees with the label; k=4 chains per order.
NO_THOUGHT = [
    "star.iterations=1",
    "star.k=4",
    "star.eval_base=false",
    "judge.k=4",
    "judge.max_new_tokens=0",
    "judge.system=Judge.",
    "star.close_verdict=' Final verdict: [['",
]
UNTIED = "model.config.tie_word_embeddings=false"


# The STaR tests: one iteration over the 120 training pairs of 180 (60 held out), 8 epochs, closed by
# ' [[' (the chain is then 3 tokens with its verdict: training costs per completion token here).
STAR = [*(o for o in NO_THOUGHT if not o.startswith("star.close_verdict=")), "star.close_verdict=' [['"]
