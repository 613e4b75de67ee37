"""Judges: order handling, direct scoring against a hand computation from the logits, majority vote
and ties, and an "always A" judge that must come out at chance with no position consistency."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf
from support import ALWAYS_A, compose, scripted_lm, tiny_lm

from genrm_exp.data.schema import Message, Pair
from genrm_exp.evaluation import set_metrics
from genrm_exp.judges.cot import CoTJudge
from genrm_exp.judges.direct import DirectJudge, encode_batch_for_verdict, shared_prefix_len
from genrm_exp.judges.records import from_probs as records_from_probs
from genrm_exp.judges.records import from_texts as records_from_texts
from genrm_exp.orders import orders_for
from genrm_exp.prompts import encode_for_verdict
from genrm_exp.prompts import render_pair as render
from genrm_exp.sampling.generation import Generator


def render_pair(tokenizer, cfg, pair: Pair, order: str, *, open_verdict: bool) -> str:
    return render(tokenizer, cfg, pair.prompt_messages(), pair.chosen, pair.rejected, order, open_verdict=open_verdict)


def _pair(i: int, prompt: str = "Which is better?") -> Pair:
    return Pair(f"t:{i}", (Message("user", f"{prompt} #{i}"),), f"good answer {i}", f"bad {i}", "test", "test")


def _judge_cfg(style="direct", **over):
    return OmegaConf.merge(compose([f"judge={style}"]).judge, over)


def _balanced(seed: int, n: int = 20) -> list[Pair]:
    """n pairs of which exactly half are shown swapped under order=random with this seed."""
    swapped, straight = [], []
    i = 0
    while len(swapped) < n // 2 or len(straight) < n // 2:
        p = _pair(i)
        (swapped if orders_for(p.id, seed, "random") == ["BA"] else straight).append(p)
        i += 1
    return swapped[: n // 2] + straight[: n // 2]


def test_records_from_probs_map_orders_back_and_average():
    pairs = [_pair(0), _pair(1)]
    recs = records_from_probs(pairs, [["AB", "BA"], ["BA"]], [[0.8, 0.6], [0.7]])
    assert recs[0]["p_chosen"] == pytest.approx((0.8 + 0.4) / 2) and recs[0]["score"] == 1.0
    assert recs[0]["orders"] == ["AB", "BA"] and recs[0]["verdicts_shown"] == ["A", "A"]
    assert recs[0]["order_verdicts"] == ["A", "B"]  # in stored order: the swapped view preferred the rejected one
    assert recs[1]["p_chosen"] == pytest.approx(0.3) and recs[1]["verdict"] == "B" and recs[1]["correct"] is False


def test_majority_vote_ties_and_invalid_verdicts():
    pairs = [_pair(i) for i in range(4)]
    texts = [
        [["Because... [[A]]", "No. [[B]]", "[[A]] then [[A]]"]],  # 2 A : 1 B -> chosen wins
        [["[[A]]", "[[B]]"]],  # tie -> 0.5
        [["no verdict", "[[a]]"]],  # nothing valid -> invalid, 0.5
        [["[[A]]", "x"], ["[[A]]", "[[A]]"]],  # both orders: A shown first, then swapped (A = rejected)
    ]
    recs = records_from_texts(pairs, [["AB"], ["AB"], ["BA"], ["AB", "BA"]], texts)
    assert recs[0]["votes"] == {
        "counts_a": 2,
        "counts_b": 1,
        "invalid": 0,
        "winner": "A",
        "prob_a": pytest.approx(2 / 3),
    }
    assert (recs[0]["score"], recs[0]["score_maj1"], recs[0]["p_chosen"]) == (1.0, 1.0, pytest.approx(2 / 3))
    assert (recs[1]["verdict"], recs[1]["score"], recs[1]["p_chosen"]) == ("tie", 0.5, 0.5)
    assert (recs[2]["verdict"], recs[2]["score"], recs[2]["invalid"], recs[2]["p_chosen"]) == ("invalid", 0.5, 2, 0.5)
    assert recs[3]["verdicts"] == ["A", "invalid", "B", "B"] and recs[3]["order_verdicts"] == ["A", "B"]
    assert recs[3]["votes"]["winner"] == "B" and recs[3]["score"] == 0.0 and recs[3]["texts"] == texts[3]
    m = set_metrics(recs, bootstrap_samples=50, seed=0)
    assert m["invalid"] == 3 and m["invalid_rate"] == pytest.approx(3 / 11)
    # maj@1 pools the first chain of each order: pair 3's are A (shown AB) and B (shown BA) -> 0.5
    assert recs[3]["score_maj1"] == 0.5
    assert m["accuracy_maj1"] == pytest.approx((1 + 1 + 0.5 + 0.5) / 4) and m["accuracy"] == pytest.approx(0.5)
    assert m["position_consistency"] == 0.0


def test_an_always_a_judge_in_both_orders_is_at_chance_at_maj1_and_majk():
    pairs = [_pair(i) for i in range(6)]
    recs = records_from_texts(pairs, [["AB", "BA"]] * 6, [[["[[A]]", "[[A]]"], ["[[A]]", "[[A]]"]]] * 6)
    m = set_metrics(recs, bootstrap_samples=50, seed=0)
    assert m["accuracy_maj1"] == 0.5 and m["accuracy"] == 0.5, m  # stored: chosen, chosen, rejected, rejected


def test_direct_scoring_equals_a_hand_computation_from_the_logits(tokenizer):
    model = tiny_lm(tokenizer, seed=1)
    cfg = _judge_cfg(order="both", batch_size=3)
    pairs = [_pair(0), _pair(1, "A much longer question, so that the batch needs padding on the left side?")]
    recs = DirectJudge(model, tokenizer, cfg, seed=0).predict(pairs, "t")
    for pair, rec in zip(pairs, recs):
        for order, p_a, mass in zip(("AB", "BA"), rec["p_a_shown"], rec["verdict_mass"]):
            enc = encode_for_verdict(tokenizer, render_pair(tokenizer, cfg, pair, order, open_verdict=True))
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([enc.context_ids])).logits[0, -1]
            pa, pb = torch.softmax(logits, -1)[[enc.token_a, enc.token_b]].tolist()
            assert p_a == pytest.approx(pa / (pa + pb), abs=1e-5)
            assert mass == pytest.approx(pa + pb, rel=1e-4)
        assert rec["p_chosen"] == pytest.approx((rec["p_a_shown"][0] + 1 - rec["p_a_shown"][1]) / 2)


@pytest.fixture(scope="module")
def always_a(tokenizer):
    return scripted_lm(tokenizer, *ALWAYS_A)


@pytest.mark.parametrize("style", ["direct", "cot"])
def test_an_always_a_judge_is_at_chance_and_never_position_consistent(tokenizer, always_a, style):
    def judge(order):
        cfg = _judge_cfg(style, order=order, k=3, temperature=1.0, max_new_tokens=6, batch_size=8)
        if style == "direct":
            return DirectJudge(always_a, tokenizer, cfg, seed=5)
        return CoTJudge(Generator(always_a, tokenizer, batch_size=8), tokenizer, cfg, seed=5)

    pairs = _balanced(seed=5)
    recs = judge("random").predict(pairs, "t")
    assert sorted(r["orders"][0] for r in recs) == ["AB"] * 10 + ["BA"] * 10
    m = set_metrics(recs, bootstrap_samples=50, seed=0)
    assert m["accuracy"] == 0.5 and m["a_rate"] == 1.0
    fixed = set_metrics(judge("fixed").predict(pairs, "t"), bootstrap_samples=50, seed=0)
    assert fixed["accuracy"] == 1.0  # the chosen response is always A: position bias looks like skill
    both = set_metrics(judge("both").predict(pairs, "t"), bootstrap_samples=50, seed=0)
    assert both["accuracy"] == 0.5 and both["position_consistency"] == 0.0 and both["a_rate"] == 1.0


def test_batched_encoding_equals_one_by_one(tokenizer):
    cfg = _judge_cfg()
    texts = [
        render_pair(tokenizer, cfg, _pair(i, "Why? " * i), "AB" if i % 2 else "BA", open_verdict=True) for i in range(5)
    ]
    assert encode_batch_for_verdict(tokenizer, texts) == [encode_for_verdict(tokenizer, t) for t in texts]
    with pytest.raises(ValueError, match="open_verdict=True"):
        encode_batch_for_verdict(tokenizer, [texts[0], "no opened verdict"])


def test_shared_prefix_len():
    assert shared_prefix_len([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]]) == 2
    assert shared_prefix_len([[1, 2, 3], [1, 2, 3]]) == 2  # each row keeps one token of its own
    assert shared_prefix_len([[7], [1, 2]]) == 0


def test_shared_prefix_scoring_equals_a_full_forward_per_text(tokenizer):
    """The prefix every judge prompt shares runs once (batch 1) and is expanded over the batch; the
    rows' own tokens are left-padded after it. P(A) and the verdict mass must equal an unpadded full
    forward of each text alone (float32: 1e-5), over a batch whose rows differ in length."""
    model = tiny_lm(tokenizer, seed=2)
    cfg = _judge_cfg(batch_size=4)
    pairs = [
        _pair(i, "Short?" if i % 2 else "A question long enough to need a lot of padding " * (i + 1)) for i in range(6)
    ]
    texts = [render_pair(tokenizer, cfg, p, "AB", open_verdict=True) for p in pairs]
    encs = [encode_for_verdict(tokenizer, t) for t in texts]
    shared = shared_prefix_len([e.context_ids for e in encs])
    assert shared > 50 and len({len(e.context_ids) for e in encs}) > 3
    seen: list[int] = []
    hook = model.register_forward_pre_hook(lambda m, args, kw: seen.append(kw["input_ids"].shape[1]), with_kwargs=True)
    try:
        got = DirectJudge(model, tokenizer, cfg, seed=0).verdict_probs(texts)
    finally:
        hook.remove()
    assert seen[0] == shared and len(seen) == 3, "the shared prefix should run once, then one forward per batch"
    for enc, (p_a, mass) in zip(encs, got):
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=torch.tensor([enc.context_ids])).logits[0, -1], -1)
        pa, pb = logp[enc.token_a].exp().item(), logp[enc.token_b].exp().item()
        assert p_a == pytest.approx(pa / (pa + pb), abs=1e-5)
        assert mass == pytest.approx(pa + pb, rel=1e-5)


def test_closing_scores_each_prompt_s_chains_together_as_one_call_would(tokenizer):
    """On CPU the chains to close are scored one prompt at a time (its chains share its prefill):
    the probabilities equal those of a single call over every chain, in the input order."""
    from genrm_exp.sampling.closing import _score

    model = tiny_lm(tokenizer, seed=4)
    judge = DirectJudge(model, tokenizer, _judge_cfg(batch_size=3), seed=0)
    prompts = [render_pair(tokenizer, _judge_cfg(), _pair(i), "AB", open_verdict=False) for i in range(3)]
    rows = [
        (i, prompts[i] + f"chain {j} of prompt {i}" + " x" * (i + j) + " Verdict: [[")
        for i, j in [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]
    ]
    seen: list[int] = []
    hook = model.register_forward_pre_hook(lambda m, args, kw: seen.append(kw["input_ids"].shape[1]), with_kwargs=True)
    try:
        grouped = _score(judge, rows)
    finally:
        hook.remove()
    whole = judge.verdict_probs([text for _, text in rows])
    assert [g == pytest.approx(w, abs=1e-5) for g, w in zip(grouped, whole)] == [True] * 6
    assert sum(seen) < sum(len(tokenizer(t)["input_ids"]) for _, t in rows) * 0.6  # each prompt ran once


def test_closing_scores_a_text_once_and_draws_each_chain_s_letter_by_its_own_index(tokenizer):
    """Chains of no thought (every chain of a prompt empty) are one text: scored once, each chain's
    letter still drawn with its own (seed, prompt, index) uniform, so k chains need not agree."""
    from genrm_exp.sampling.closing import close_verdicts

    model = tiny_lm(tokenizer, seed=4)
    judge = DirectJudge(model, tokenizer, _judge_cfg(batch_size=8), seed=0)
    prompts = [render_pair(tokenizer, _judge_cfg(), _pair(i), "AB", open_verdict=False) for i in range(2)]
    seen: list[int] = []
    hook = model.register_forward_pre_hook(lambda m, args, kw: seen.append(kw["input_ids"].shape[0]), with_kwargs=True)
    try:
        texts, closed = close_verdicts(
            judge, prompts, [[""] * 16] * 2, close=" Final verdict: [[", temperature=1.0, seed=0
        )
    finally:
        hook.remove()
    assert sum(seen) <= 4  # per prompt one text: at most a prefix pass and one row, not 16 rows
    assert closed == [[True] * 16] * 2
    assert all(t in (" Final verdict: [[A]]", " Final verdict: [[B]]") for chains in texts for t in chains)
    assert all(len(set(chains)) == 2 for chains in texts)  # P(A) near 0.5: both letters among 16 draws


def test_report_shows_judge_extras_and_a_reliability_diagram(tmp_path):
    import json

    from genrm_exp.report.judges import calibration, calibration_markdown, judge_markdown, reliability_chart

    recs = records_from_probs(
        [_pair(i) for i in range(4)], [["AB", "BA"]] * 4, [[0.9, 0.2], [0.6, 0.7], [0.3, 0.4], [0.8, 0.1]]
    )
    (tmp_path / "predictions").mkdir()
    (tmp_path / "predictions" / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    run = {
        "dir": tmp_path,
        "name": "genrm",
        "metrics": {"t": set_metrics(recs, bootstrap_samples=20, seed=0), "_run": {}},
    }
    table = judge_markdown([run])
    assert "| genrm | t |" in table and "pos. consistency" in table
    assert judge_markdown([{"dir": tmp_path, "name": "bt", "metrics": {"t": {"accuracy": 0.5}}}]) == ""
    cal = calibration([run])
    assert cal[0][3] == 4 and cal[0][2] == pytest.approx(set_metrics(recs, bootstrap_samples=20, seed=0)["ece"])
    assert "| genrm |" in calibration_markdown(cal)
    assert reliability_chart(cal, tmp_path / "reliability.png") and (tmp_path / "reliability.png").stat().st_size > 1000


def test_cot_chains_without_a_verdict_are_closed_with_the_model_s_own_letter(tokenizer):
    """judge.close_verdict: a model that rambles (" x x x") but, after "[[", says B with probability
    ~1 gets every chain closed with [[B]]; without the setting every chain is invalid."""
    rambler = scripted_lm(tokenizer, {"[[": "B", "B": "]]"}, " x")
    pairs = [_pair(i) for i in range(4)]

    def predict(close):
        cfg = _judge_cfg("cot", order="fixed", k=2, temperature=1.0, max_new_tokens=4, close_verdict=close)
        return CoTJudge(Generator(rambler, tokenizer, batch_size=8), tokenizer, cfg, seed=3).predict(pairs, "t")

    plain = set_metrics(predict(None), bootstrap_samples=50, seed=0)
    assert plain["invalid_rate"] == 1.0 and plain["accuracy"] == 0.5 and "closed_rate" not in plain
    recs = predict(" Verdict: [[")
    assert all(t.endswith(" x Verdict: [[B]]") for r in recs for t in r["texts"][0]), recs[0]["texts"]
    assert [r["closed"] for r in recs] == [2] * 4
    m = set_metrics(recs, bootstrap_samples=50, seed=0)
    assert (m["closed_rate"], m["invalid"], m["a_rate"], m["accuracy"]) == (1.0, 0, 0.0, 0.0)
    from genrm_exp.report.judges import judge_markdown

    table = judge_markdown([{"dir": None, "name": "cot", "metrics": {"t": m}}])
    assert "| invalid | closed |" in table and "| 0.000 | 1.000 |" in table  # none invalid, because all closed
    with pytest.raises(ValueError, match=r"judge.close_verdict=' Verdict:': must end with '\[\['"):
        predict(" Verdict:")
