"""Evaluation fits as the benchmarks' official runners do, one rule for every method: per response
from the start (RewardBench, RM-Bench), per response from the end (RewardBench 2), or ours (prompt
and both responses in one budget); a best-of-N response is cut once for all its pairs."""

from __future__ import annotations

from support import compose

from genrm_exp.data.budget import fit_item_ids
from genrm_exp.data.fitting import chat_overhead, fit_each, fit_eval
from genrm_exp.data.schema import Message, Pair

PROMPT = list(range(100, 140))  # 40 prompt tokens
LONG, SHORT = list(range(200, 260)), list(range(300, 310))  # 60 and 10 tokens


def test_per_response_left_keeps_the_end_of_each_prompt_plus_response():
    prompt, (long, short) = fit_item_ids(PROMPT, [LONG, SHORT], [(0, 1)], 80, "per_response_left")
    assert prompt == PROMPT[-20:]  # what the longest response leaves of 80
    assert long == LONG and short == SHORT and len(prompt) + len(long) <= 80
    prompt, (long, short) = fit_item_ids(PROMPT, [LONG, SHORT], [(0, 1)], 50, "per_response_left")
    assert prompt == [] and long == LONG[-50:] and short == SHORT


def test_per_response_right_keeps_the_start():
    prompt, (long, short) = fit_item_ids(PROMPT, [LONG, SHORT], [(0, 1)], 80, "per_response_right")
    assert prompt == PROMPT and long == LONG[:40] and short == SHORT


def test_shared_fits_the_prompt_and_both_responses_in_one_budget():
    prompt, (long, short) = fit_item_ids(PROMPT, [LONG, SHORT], [(0, 1)], 80, "shared")
    assert len(prompt) + len(long) + len(short) <= 80 and short == SHORT


def test_a_best_of_n_response_is_cut_once_for_all_its_pairs():
    """Item of one chosen and three rejected: the chosen text is the same in every pair."""
    responses = [LONG, SHORT, list(range(400, 470)), list(range(500, 530))]
    pairs = [(0, 1), (0, 2), (0, 3)]
    for rule in ("shared", "per_response_left", "per_response_right"):
        prompt, kept = fit_item_ids(PROMPT, responses, pairs, 90, rule)
        assert all(len(prompt) + len(kept[i]) + (len(kept[j]) if rule == "shared" else 0) <= 90 for i, j in pairs), rule


def item(n_rejected: int, words: int) -> list[Pair]:
    prompt = (Message("user", "question " * words),)
    chosen = "good answer " * words
    return [
        Pair(f"b:{i}", prompt, chosen, f"bad answer {i} " * words, "rewardbench2", "Focus", group="b")
        for i in range(n_rejected)
    ]


def test_fit_eval_cuts_a_shared_chosen_response_the_same_in_every_pair(tokenizer):
    pairs = item(3, 200)
    for rule in ("shared", "per_response_left", "per_response_right"):
        cfg = compose(["model=tiny_random", "eval.max_length=256", f"eval.fit={rule}"]).eval
        fitted, counts = fit_eval(pairs, tokenizer, cfg)
        assert len(fitted) == 3 and counts["truncated"] == 3, (rule, counts)
        assert len({p.chosen for p in fitted}) == 1 and len({p.prompt for p in fitted}) == 1, rule
        budget = 256 - (0 if rule == "shared" else chat_overhead(tokenizer))
        ids = lambda t: len(tokenizer(t, add_special_tokens=False)["input_ids"])  # noqa: E731
        for p in fitted:
            per_response = ids(p.prompt[0].content) + max(ids(p.chosen), ids(p.rejected))
            assert per_response <= budget + 4, (rule, per_response)
        if rule == "per_response_left":
            assert fitted[0].chosen.rstrip().endswith("good answer")  # the start was cut
        if rule == "per_response_right":
            assert fitted[0].prompt[0].content.startswith("question")  # the end was cut


def test_fit_each_fits_a_lone_pair_as_fit_eval_does_and_drop_gives_none(tokenizer):
    """What the API and the server judge (fit_each) is fit_eval's text for a lone pair."""
    long = Pair("x:0", (Message("user", "question " * 50),), "good answer " * 400, "short", "x", "x")
    short = Pair("x:1", (Message("user", "hi"),), "a", "b", "x", "x")
    for rule in ("shared", "per_response_left", "per_response_right"):
        cfg = compose(["model=tiny_random", "eval.max_length=256", f"eval.fit={rule}"]).eval
        assert fit_each([long, short], tokenizer, cfg) == fit_eval([long, short], tokenizer, cfg)[0], rule
    drop = compose(["model=tiny_random", "eval.max_length=256", "eval.truncation=drop"]).eval
    assert fit_each([long, short], tokenizer, drop) == [None, short]
