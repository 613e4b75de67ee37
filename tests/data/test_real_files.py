"""Every format on its real file in the shared data folder, with the documented row counts.

The folder comes from GENRM_SHARED_DATA, default ../shared/data beside the checkout (fixture
``shared_data`` in tests/conftest.py fails with a clear message when it is missing). ``skipped``
lists the bad rows each real file holds; files without any also load in the default error mode.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from genrm_exp.data.loaders import load_pairs
from genrm_exp.data.schema import DataError

LLMBAR = "rewardbench_llmbar/LLMBar_"
REAL = [  # format, path under the shared folder, subset, rows, skipped reasons
    ("ultrafeedback_jsonl", "ultrafeedback/ultrafeedback_sample_1k.jsonl", None, 1000, {"identical_responses": 1}),
    ("h4_ultrafeedback", "ultrafeedback/ultrafeedback_binarized_h4_first16.jsonl", None, 16, {}),
    ("llmbar", LLMBAR + "Natural.json", "llmbar-natural", 100, {}),
    ("llmbar", LLMBAR + "Adversarial_Neighbor.json", "llmbar-adver-neighbor", 134, {}),
    ("llmbar", LLMBAR + "Adversarial_GPTInst.json", "llmbar-adver-GPTInst", 92, {}),
    ("llmbar", LLMBAR + "Adversarial_GPTOut.json", "llmbar-adver-GPTOut", 47, {}),
    ("llmbar", LLMBAR + "Adversarial_Manual.json", "llmbar-adver-manual", 46, {}),
    ("llmbar", "mtbench_human/Processed_MT-Bench.json", "mtbench_human", 200, {}),
    ("llmbar", "mtbench_human/Processed_FairEval.json", "faireval", 66, {}),
    (
        "hh_rlhf_transcripts",
        "hh_rlhf/harmless-base_test.jsonl.gz",
        "harmless-base",
        2312,
        {"empty_response": 4, "prefix_mismatch": 5},
    ),
    (
        "prompt_chosen_rejected",
        "hh_rlhf/tiny-hpc-rlhf_test_prefs.jsonl",
        None,
        1000,
        {"identical_responses": 6, "empty_response": 1, "bad_prompt": 2},
    ),
    ("pandalm", "pandalm/testset-v1.json", None, 999, {"pandalm_tie": 105, "empty_response": 52, "empty_prompt": 1}),
    ("sharegpt_dpo", "llamafactory/dpo_en_demo.json", None, 300, {}),
    ("stack_exchange", "stack_exchange/stack_exchange_paired_tiny.json", None, 25, {}),
]


@pytest.mark.parametrize(("fmt", "rel", "subset", "rows", "skipped"), REAL, ids=[r[1] for r in REAL])
def test_real_file_loads_with_documented_counts(shared_data, fmt, rel, subset, rows, skipped):
    spec = {"format": fmt, "path": str(shared_data / rel), "subset": subset}
    pairs, report = load_pairs(spec, on_bad_row="skip")
    assert (report.rows_read, report.skipped) == (rows, skipped)
    assert report.kept == len(pairs) == rows - sum(skipped.values())
    assert len({p.id for p in pairs}) == len(pairs)
    for p in pairs:
        assert p.prompt[-1].role == "user" and p.prompt[-1].content.strip()
        assert p.chosen.strip() and p.rejected.strip() and p.chosen != p.rejected
        assert p.subset == (subset or report.source)
    if not skipped:
        assert load_pairs(spec)[0] == pairs


def test_real_bad_row_stops_the_default_mode(shared_data):
    path = shared_data / "ultrafeedback/ultrafeedback_sample_1k.jsonl"
    with pytest.raises(DataError) as e:
        load_pairs({"format": "ultrafeedback_jsonl", "path": str(path)})
    assert str(e.value) == (
        f"{path} line 184: keys 'chosen' and 'rejected' are identical (expected two different responses)"
    )


def test_pandalm_majority_vote_and_ties(shared_data):
    """Ties counted straight from the file: no label with two votes, or two votes for 0."""
    path = shared_data / "pandalm/testset-v1.json"
    rows = json.loads(path.read_text())
    majorities = [Counter(r[f"annotator{i}"] for i in (1, 2, 3)).most_common(1)[0] for r in rows]
    ties = sum(count < 2 or label == 0 for label, count in majorities)
    assert ties == 105
    pairs, report = load_pairs({"format": "pandalm", "path": str(path)}, on_bad_row="skip")
    assert report.skipped["pandalm_tie"] == ties and report.kept == 841
    by_id = {p.id: p for p in pairs}
    row, pair = rows[0], by_id["pandalm:0"]  # annotators 2, 2, 2: response2 wins
    assert (pair.chosen, pair.rejected) == (row["response2"], row["response1"])
    assert pair.question == f"{row['instruction']}\n\n{row['input']}"
    # Upstream stores the literal answer "True" as JSON true in six rows; it is read back as text.
    assert (by_id["pandalm:157"].chosen, by_id["pandalm:161"].chosen) == ("True", "True")


def test_hh_transcripts_become_chat_messages(shared_data):
    pairs, _ = load_pairs(
        {"format": "hh_rlhf_transcripts", "path": str(shared_data / "hh_rlhf/harmless-base_test.jsonl.gz")},
        on_bad_row="skip",
    )
    first = pairs[0]
    assert [m.role for m in first.prompt] == ["user", "assistant", "user", "assistant", "user"]
    assert first.prompt[0].content == "what are some pranks with a pen i can do?"
    assert not first.chosen.startswith(" ") and "\n\nAssistant:" not in first.chosen


def test_prompt_transcripts_merge_repeated_speakers(shared_data):
    pairs, _ = load_pairs(
        {"format": "prompt_chosen_rejected", "path": str(shared_data / "hh_rlhf/tiny-hpc-rlhf_test_prefs.jsonl")},
        on_bad_row="skip",
    )
    by_id = {p.id: p for p in pairs}
    # Upstream line 265 has two Assistant turns in a row; they become one message.
    assert [m.role for m in by_id["prompt_chosen_rejected:264"].prompt] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert [m.role for m in by_id["prompt_chosen_rejected:0"].prompt] == ["user", "assistant", "user"]


def test_limit_keeps_the_first_valid_pairs(shared_data):
    path = str(shared_data / "ultrafeedback/ultrafeedback_sample_1k.jsonl")
    pairs, report = load_pairs({"format": "ultrafeedback_jsonl", "path": path, "limit": 5, "source": "uf"})
    assert [p.id for p in pairs] == [f"uf:{i}" for i in range(5)]
    assert (report.rows_read, report.kept, pairs[0].source) == (5, 5, "uf")
