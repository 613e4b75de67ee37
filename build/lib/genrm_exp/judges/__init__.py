"""Every judge: what scores a pair, built in one place (factory.py) and used by evaluation, STaR,
the API and the server. A judge's `predict(pairs, set_name)` returns one record per pair
(protocol.py); P(chosen) and the score mean the same thing for every kind.

    direct.py      DirectJudge: P(A) / (P(A) + P(B)) of the verdict token (zero-shot, GenRM)
    cot.py         CoTJudge: k sampled rationales per order, majority vote (zero-shot CoT, STaR)
    reward.py      RewardJudge: a scalar head scores each response (Bradley-Terry)
    classifier.py  PairClassifierJudge: a two-label head on both responses (PairRM)
    replay.py      ReplayJudge: the records of a finished evaluation, read back by pair id
    records.py     the record of a pair from probabilities or sampled texts
    factory.py     the judge of a config around a model, and the judge of a finished run

Orders come from genrm_exp/orders.py and prompts from genrm_exp/prompts.render_pair.
Test: python -m pytest tests/judges -q
"""
