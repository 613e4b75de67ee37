"""Every method learns a preference a reader can check by eye (tests/planted.py: two responses
identical but for one word, of equal length, so both length baselines sit at 50%): a small random
model trained on it judges the held-out pairs far above chance, and the same training on shuffled
labels stays near chance (the test can fail).

    python -m pytest tests/test_learning.py -q --durations=0
"""

from __future__ import annotations

import json

import pytest
from learning_runs import NO_THOUGHT, UNTIED, heldout_accuracy, trained


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


# GRPO's group decides here: with objective.args.num_generations=4 (2 epochs at 2e-3, also with
# beta=0.04, or 6 epochs) the judge collapses onto one letter (entropy 0.5 -> 0.01, held out 0.50-0.53,
# position consistency 0), a state in which every group's rewards are equal and nothing moves it
# again; with the shipped 8 it learns the word. So does the rate: held out (accuracy / consistency)
# on seeds 0, 1, 2 at 2e-3: 1.00/1.00, 0.87/0.73, 0.43/0.00 (seed 2 lost the verdict's form: entropy
# 0.5 -> 6, every reward 0; 16 per group: 0.86/0.72); at 1e-3, the test's: 0.99/0.80, 1.00/1.00,
# 1.00/1.00; at 5e-4 seed 0 stays at 0.53.
def test_grpo_learns_the_planted_preference_from_its_rewards(tmp_path):
    """A random model never samples "[[A]]" unprompted, so every reward would be 0. It first learns
    the verdict's form with no preference: STaR-SFT on shuffled labels with a chain of no thought
    (held-out accuracy at chance). GRPO then starts from that model, on the true labels, with the same
    chain of no thought: each prompt ends in the closing, the completion is the verdict, rewarded by
    verdict_correct and both_orders_correct (objective=grpo_judge as shipped: 8 per group, beta 1e-3),
    2 epochs of 240 pairs in both orders at lr 1e-3."""
    from genrm_exp import checkpoints

    warm_ctx, _ = trained(
        "star_sft", tmp_path / "warm", "trainer.args.num_train_epochs=4", *NO_THOUGHT, UNTIED, shuffle_labels=True
    )
    start = checkpoints.latest(warm_ctx.run_dir)
    warm_ctx.tokenizer.save_pretrained(str(start))
    from_warm = ["model.source=hub", f"model.path={start}", *NO_THOUGHT]  # judge.close_verdict follows star's
    _, base = trained("zero_shot_cot", tmp_path / "base", *from_warm)
    assert 0.3 <= base["accuracy"] <= 0.7, base  # the form, not the preference
    _, heldout = trained("grpo_judge", tmp_path / "grpo", *from_warm, "trainer.args.num_train_epochs=2", lr="1e-3")
    assert heldout["accuracy"] >= 0.8 and heldout["ci95"][0] > 0.5, heldout
    assert heldout["position_consistency"] >= 0.7, heldout


# The embedded SmolLM2-135M-Instruct with LoRA (trainer=demo), 180 planted pairs: 121 to train, 59
# held out. make test-slow; the figures are in the README ("Every method learns").
SMOL = ("model=smollm2_135m_instruct", "peft=lora", "trainer=demo")
SHORT_JUDGE = "judge.system=Judge."  # the judge prompt in a few tokens: training costs per token here


def smollm2(objective: str, tmp_path, *extra: str, lr: str) -> dict:
    return trained(objective, tmp_path, *extra, model=SMOL, n=180, heldout=0.33, lr=lr)[1]


def mean_p_chosen(tmp_path) -> float:
    rows = [json.loads(line) for line in (tmp_path / "eval" / "predictions" / "heldout.jsonl").open()]
    return sum(r["p_chosen"] for r in rows) / len(rows)


@pytest.mark.slow  # ~1 min
def test_smollm2_bt_learns_the_planted_preference(tmp_path):
    heldout = smollm2("bt", tmp_path, "trainer.args.num_train_epochs=1", lr="2e-4")
    assert heldout["accuracy"] >= 0.9 and heldout["ci95"][0] > 0.5, heldout


@pytest.mark.slow  # ~3.5 min
def test_smollm2_genrm_learns_the_planted_preference(tmp_path):
    """Zero-shot, SmolLM2 says A whatever the order (position consistency 0); GenRM moves P(A) by
    the word in each order. Its A bias stays (consistency 0.29), so the test asks for a margin on
    P(chosen) averaged over the orders, not consistency."""
    base = smollm2("zero_shot_direct", tmp_path / "base", SHORT_JUDGE, lr="1e-3")
    heldout = smollm2("genrm", tmp_path / "genrm", SHORT_JUDGE, "trainer.args.num_train_epochs=4", lr="1e-3")
    print(f"zero-shot {base['accuracy']:.3f} -> GenRM {heldout['accuracy']:.3f}")
    assert heldout["accuracy"] >= 0.8 and heldout["ci95"][0] > 0.5, heldout
    # Mean P(chosen): 0.606 with bfloat16 weights, 0.516 in float32 (model.cpu_dtype), the base 0.5006.
    assert mean_p_chosen(tmp_path / "genrm") >= 0.51, heldout


@pytest.mark.slow  # ~9.5 min
def test_smollm2_star_rationalizer_learns_the_planted_preference_over_its_iterations(tmp_path):
    """Two STaR-Rationalizer iterations over fresh halves of the 121 pairs, chains of no thought, k=4,
    4 epochs each at 20 x 5e-5. STaR-SFT with the same settings stays at chance (0.51, 0.41, 0.47):
    SmolLM2 says A in both orders, so its right chains are mostly AB keys (61 A to 28 B kept in
    iteration 1, build.kept_verdicts) and training on them teaches the bias; the rationalizer adds
    chains for the keys with none."""
    no_thought = [o for o in NO_THOUGHT if not o.startswith(("star.iterations=", "star.eval_base="))]
    _, heldout = trained(
        "star_rationalizer",
        tmp_path,
        *no_thought,
        "star.iterations=2",
        "trainer.args.num_train_epochs=4",
        model=SMOL,
        n=180,
        heldout=0.33,
        lr="5e-5",
    )
    curve = [e["eval"]["heldout"]["accuracy"] for e in json.loads((tmp_path / "run" / "iterations.json").read_text())]
    print("STaR-Rationalizer on SmolLM2, held-out accuracy per iteration:", curve)
    assert len(curve) == 3 and curve[0] <= 0.7  # the base, then one entry per iteration
    assert heldout["accuracy"] >= 0.8 and heldout["ci95"][0] > 0.5, heldout
    assert heldout["position_consistency"] >= 0.7, heldout
