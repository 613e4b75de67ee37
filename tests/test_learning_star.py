"""STaR learns the planted preference from its kept chains (tests/planted.py: two responses identical
but for one word, of equal length): one iteration on a 64-wide random model judges the held-out
pairs far above chance for every STaR objective.

    python -m pytest tests/test_learning_star.py -q --durations=0
"""

from __future__ import annotations

import pytest
from learning_runs import NO_THOUGHT, STAR, UNTIED, heldout_accuracy, trained


# Each learns the word in a sharp transition after about 200 updates that the seed moves. Held out
# (accuracy / position consistency) at seeds 0, 1, 2 in the test's setting, untied unless said; the
# DPOTrainer rows with the shipped precomputed reference, then (in brackets) with a live one
# (objective.args.precompute_ref_log_probs=false: the same loss on a batch, tests/test_fast_path.py,
# yet another course through the transition):
#   star_sft               1.00/0.98, 1.00/1.00, 0.98/0.72
#   star_dpo (tied)        1.00/0.88, 1.00/0.97, 0.90/0.50  [1.00/0.98, 0.98/0.77, 0.98/0.62]
#   star_ipo               1.00/1.00, 1.00/1.00, 1.00/1.00  [1.00/1.00, 0.49/0.10, 1.00/1.00]
#   star_ipo_rationalizer  1.00/1.00, 1.00/1.00, 1.00/1.00  [1.00/0.98, 1.00/1.00, 1.00/0.97]
#   star_rationalizer      1.00/1.00, 1.00/1.00, 0.79/0.40
# (star_dpo, live reference, at 4 epochs: 1.00, 0.55 on seeds 0, 1; untied: 0.50, 0.58 on 1, 2.)
# At 12 epochs seed 2: star_rationalizer 1.00/1.00 (slower, not stuck), star_dpo 0.93/0.57.
# The earlier setting (240 training pairs, ' Final verdict: [[', 4 epochs; README) gave the same
# picture at twice the cost. IPO's loss stops at a margin of 1 / (2 beta): at 0.4 a model that
# memorised its training pairs is done (conf/objective/star_ipo.yaml ships TRL's 0.1). The tests run
# seed 0. star_rationalizer trains at 20x the trainer's rate (objective.lr_scale): 1e-4 here, so
# 2e-3 like the others (at 2e-3, 4e-2: 0.50); star_ipo_rationalizer keeps star_ipo's scale (1).
@pytest.mark.parametrize(
    "objective,lr,extra",
    [
        ("star_sft", "2e-3", (UNTIED,)),
        ("star_dpo", "2e-3", ()),
        ("star_ipo", "2e-3", (UNTIED,)),
        ("star_rationalizer", "1e-4", (UNTIED,)),
        ("star_ipo_rationalizer", "2e-3", (UNTIED,)),
    ],
)
def test_star_learns_the_planted_preference_from_its_kept_chains(objective, lr, extra, tmp_path):
    _, heldout = trained(
        objective, tmp_path, "trainer.args.num_train_epochs=8", *STAR, *extra, lr=lr, n=180, heldout=1 / 3
    )
    assert heldout["accuracy"] >= 0.8 and heldout["ci95"][0] > 0.5, heldout
    assert heldout["position_consistency"] >= 0.7, heldout


@pytest.mark.slow  # ~3 min
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="a random model's sampled chains are random tokens whose loss (about 7 nats each) SFT cannot "
    "lower; with 1 or 2 such tokens labelled before the verdict the planted word is not learnt in 8 "
    "epochs (P(right) 0.500 on the training rows, tied or untied embeddings), where the same rows with "
    "the chain left out of the loss learn it (0.9998); this fails the day STaR learns through them",
)
def test_star_sft_learns_the_planted_preference_through_sampled_tokens(tmp_path):
    """One STaR-SFT iteration over all 240 pairs, k=4 chains of 2 sampled tokens closed by the model's
    own odds: the kept chains carry the right verdicts (445 of 480 keys), 8 epochs on them."""
    heldout = heldout_accuracy(
        "star_sft",
        tmp_path,
        "trainer.args.num_train_epochs=8",
        *(o for o in NO_THOUGHT if not o.startswith(("judge.k=", "judge.max_new_tokens="))),
        "judge.k=8",
        "judge.max_new_tokens=2",
        UNTIED,
    )
    assert heldout["accuracy"] >= 0.8 and heldout["ci95"][0] > 0.5, heldout
