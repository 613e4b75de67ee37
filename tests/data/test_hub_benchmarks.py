"""The Hub benchmarks as eval options: each conf/eval file composes, names its Hub dataset and
split, and loads through `datasets` (a stand-in module returning rows in the Hub schema) into pairs
whose source genrm_exp.benchmarks scores. Bad rows name the row and key.

    python -m pytest tests/data/test_hub_benchmarks.py -q
"""

from __future__ import annotations

import sys
import types

import pytest
from omegaconf import OmegaConf
from support import compose

from genrm_exp.benchmarks import BENCHMARKS
from genrm_exp.data.loaders import load_pairs
from genrm_exp.data.schema import DataError

RB2 = {
    "id": "7",
    "prompt": "p",
    "chosen": ["good"],
    "rejected": ["bad1", "bad2", "bad3"],
    "num_correct": 1,
    "num_rejected": 3,
    "total_completions": 4,
    "models": ["m"] * 4,
    "subset": "Math",
}
RMB = {"id": 3, "prompt": "p", "chosen": ["c0", "c1", "c2"], "rejected": ["r0", "r1", "r2"], "domain": "code"}
JB = {
    "pair_id": "u1",
    "original_id": 1,
    "source": "livecodebench",
    "question": "q",
    "response_model": "gpt-4o",
    "response_A": "a",
    "response_B": "b",
    "label": "B>A",
}
PPE_H = {
    "question_id": "q",
    "model_a": "x",
    "model_b": "y",
    "winner": "model_b",
    "prompt": "p",
    "response_1": "one",
    "response_2": "two",
    "language": "English",
}
PPE_C = {
    "question_id": "q",
    "model_name": "m",
    "prompt": "p",
    "response_1": "right",
    "response_2": "wrong",
    "scores": [True, False],
    "sampled_conflict_pairs": [[1, 0]],
}
HUB_ROWS = {
    ("allenai/reward-bench-2", "test"): [RB2],
    ("THU-KEG/RM-Bench", "train"): [RMB],
    ("ScalerLab/JudgeBench", "gpt"): [JB],
    ("lmarena-ai/PPE-Human-Preference-V1", "test"): [PPE_H],
    **{
        (f"lmarena-ai/PPE-{name}-Best-of-K", "train"): [PPE_C]
        for name in ("MMLU-Pro", "MATH", "GPQA", "IFEval", "MBPP-Plus")
    },
}
# eval option -> (pairs per set, the source stamped)
OPTIONS = {
    "rewardbench2": (3, "rewardbench2"),
    "rmbench": (9, "rmbench"),
    "judgebench": (1, "judgebench"),
    "ppe": (1, None),
}


@pytest.fixture
def hub(monkeypatch):
    calls = []

    def load_dataset(name, config=None, split=None):
        calls.append((name, split))
        return HUB_ROWS[(name, split)]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    return calls


@pytest.mark.parametrize("option", list(OPTIONS))
def test_eval_option_loads_through_datasets(option, hub):
    cfg = compose([f"eval={option}"])
    n, source = OPTIONS[option]
    for name, node in cfg.eval.sets.items():
        pairs, report = load_pairs(OmegaConf.to_container(node, resolve=True))
        assert len(pairs) == n and report.kept == n, name
        assert pairs[0].source in BENCHMARKS and (source is None or pairs[0].source == source)
    assert len(hub) == len(cfg.eval.sets)


def test_ppe_option_covers_human_and_five_correctness_sets(hub):
    cfg = compose(["eval=ppe"])
    specs = [OmegaConf.to_container(s, resolve=True) for s in cfg.eval.sets.values()]
    assert [s["source"] for s in specs] == ["ppe_human"] + ["ppe_correctness"] * 5
    assert [s["subset"] for s in specs[1:]] == ["mmlu_pro", "math", "gpqa", "ifeval", "mbpp_plus"]
    pairs, _ = load_pairs(specs[2])
    assert (pairs[0].id, pairs[0].chosen, pairs[0].group) == ("math:q:m/c0r1", "right", "math:q:m")


@pytest.mark.parametrize(
    ("fmt", "row", "message"),
    [
        ("rewardbench2", {**RB2, "num_correct": 2}, "key 'num_correct' is 2 (expected 1, the length of 'chosen')"),
        ("rewardbench2", {**RB2, "rejected": ["x", ""]}, "key 'rejected[1]' is empty (expected a non-empty string)"),
        ("rmbench", {**RMB, "chosen": ["c0", "c1"]}, "key 'chosen' has 2 responses (expected 3)"),
        ("judgebench", {**JB, "label": "A=B"}, "key 'label' is 'A=B' (expected one of ['A>B', 'B>A'])"),
        ("ppe_human", {**PPE_H, "winner": "model_c"}, "key 'winner' is 'model_c' (expected model_a, model_b, tie"),
        (
            "ppe_correctness",
            {**PPE_C, "sampled_conflict_pairs": [[0, 5]]},
            "key 'sampled_conflict_pairs[0]' is [0, 5] (expected two indices into 'scores', 0 to 1)",
        ),
        ("ppe_correctness", {**PPE_C, "scores": [True, True]}, "two responses of equal score"),
        ("ppe_correctness", {**PPE_C, "scores": [True, None]}, "key 'scores' is [True, None] (expected a grade"),
    ],
)
def test_bad_benchmark_rows_name_row_and_key(monkeypatch, fmt, row, message):
    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=lambda *a, **k: [row]))
    with pytest.raises(DataError) as e:
        load_pairs({"format": fmt, "hub": "some/set", "split": "test"})
    assert str(e.value).startswith("hub some/set split test index 0: ") and message in str(e.value)


def test_a_row_of_several_pairs_is_kept_whole_under_limit(hub):
    pairs, _ = load_pairs({"format": "rmbench", "hub": "THU-KEG/RM-Bench", "split": "train", "limit": 2})
    assert len(pairs) == 9 and {p.group for p in pairs} == {"code:3"}
