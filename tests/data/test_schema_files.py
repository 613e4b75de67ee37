"""Formats with no real file here (UltraInteract, RewardBench), ``local`` with a column mapping,
and the Hub path, on small files that the tests write in the upstream schemas (JSONL and Parquet).
"""

from __future__ import annotations

import json
import sys
import types

import pytest

from genrm_exp.data.loaders import load_pairs
from genrm_exp.data.schema import DataError, Message, Pair

# openbmb/UltraInteract_pair: task, dataset, trajectory [{from, value}], chosen, rejected, id, parent_id.
ULTRAINTERACT = [
    {
        "task": "Math_CoT",
        "dataset": "MATH",
        "trajectory": [{"from": "user", "value": "Solve the following math problem step-by-step.\nWhat is 2+3?"}],
        "chosen": "Step 1: 2 + 3 = 5.\nAnswer:\n\\boxed{5}",
        "rejected": "Step 1: 2 + 3 = 6.\nAnswer:\n\\boxed{6}",
        "id": "a1b2",
        "parent_id": "p1",
    },
    {
        "task": "Coding",
        "dataset": "codecontest",
        "trajectory": [
            {"from": "user", "value": "Write Python code to solve the task:\nPrint the sum of a and b."},
            {"from": "assistant", "value": "Step 1: read a, b.\n```python\nprint(a - b)\n```"},
            {"from": "user", "value": "Your answer is wrong.\nYou subtracted instead of adding."},
        ],
        "chosen": "```python\na, b = map(int, input().split())\nprint(a + b)\n```",
        "rejected": "```python\nprint(a * b)\n```",
        "id": "c3d4",
        "parent_id": "p2",
    },
]
# allenai/reward-bench split "filtered": prompt, chosen, chosen_model, rejected, rejected_model, subset, id.
REWARDBENCH = [
    {
        "prompt": "How do I boil an egg?",
        "chosen": "Put it in boiling water for 9 minutes.",
        "chosen_model": "GPT-4",
        "rejected": "Eggs cannot be boiled.",
        "rejected_model": "Llama-2-70b-chat",
        "subset": "alpacaeval-easy",
        "id": 30,
    },
    {
        "prompt": "Name a prime number.",
        "chosen": "7",
        "chosen_model": "GPT4-Turbo",
        "rejected": "8",
        "rejected_model": "tulu-2-dpo-70b",
        "subset": "llmbar-natural",
        "id": 1112,
    },
]


def write(path, rows):
    """JSONL, JSON or Parquet by suffix."""
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    elif path.suffix == ".json":
        path.write_text(json.dumps(rows))
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_ultrainteract(tmp_path, suffix):
    pairs, report = load_pairs({"format": "ultrainteract", "path": write(tmp_path / f"ui{suffix}", ULTRAINTERACT)})
    assert (report.source, report.kept) == ("ultrainteract", 2)
    coding = pairs[1]
    assert coding.id == "ultrainteract:c3d4" and coding.chosen == ULTRAINTERACT[1]["chosen"]
    assert [m.role for m in coding.prompt] == ["user", "assistant", "user"]
    assert coding.prompt[1] == Message("assistant", ULTRAINTERACT[1]["trajectory"][1]["value"])


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_rewardbench_row_subset_wins(tmp_path, suffix):
    spec = {"format": "rewardbench", "path": write(tmp_path / f"rb{suffix}", REWARDBENCH), "subset": "ignored"}
    pairs, _ = load_pairs(spec)
    assert [(p.id, p.subset, p.source) for p in pairs] == [
        ("alpacaeval-easy:30", "alpacaeval-easy", "rewardbench"),
        ("llmbar-natural:1112", "llmbar-natural", "rewardbench"),
    ]
    assert pairs[1].prompt_messages() == [{"role": "user", "content": "Name a prime number."}]


def test_hub_split_goes_through_datasets(monkeypatch):
    calls = []
    fake = types.ModuleType("datasets")
    fake.load_dataset = lambda path, name=None, split=None: calls.append((path, name, split)) or REWARDBENCH
    monkeypatch.setitem(sys.modules, "datasets", fake)
    pairs, report = load_pairs({"format": "rewardbench", "hub": "allenai/reward-bench", "split": "filtered"})
    assert calls == [("allenai/reward-bench", None, "filtered")] and report.kept == 2


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".parquet"])
def test_local_with_column_mapping(tmp_path, suffix):
    rows = [
        {"question": "Capital of France?", "good": "Paris", "bad": "Lyon", "qid": "q7", "kind": "geo"},
        {
            "question": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}],
            "good": "4",
            "bad": "5",
            "qid": 8,
            "kind": "math",
        },
    ]
    columns = {"prompt": "question", "chosen": "good", "rejected": "bad", "id": "qid", "subset": "kind"}
    if suffix == ".parquet":  # a Parquet column holds one type: chat messages in every row
        rows[0]["question"] = [{"role": "user", "content": "Capital of France?"}]
        rows[1]["qid"] = "8"
    pairs, report = load_pairs(
        {"format": "local", "path": write(tmp_path / f"mine{suffix}", rows), "columns": columns, "source": "mine"}
    )
    assert pairs[0] == Pair("geo:q7", (Message("user", "Capital of France?"),), "Paris", "Lyon", "mine", "geo")
    assert pairs[1].id == "math:8" and [m.role for m in pairs[1].prompt] == ["system", "user"]


def test_pair_json_round_trip():
    pair = Pair("s:1", (Message("system", "Be kind."), Message("user", "Hi")), "Hello", "Go", "s", "s")
    assert Pair.from_dict(json.loads(json.dumps(pair.to_dict()))) == pair
    assert pair.prompt_messages() == [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}]


def test_pair_and_message_errors():
    with pytest.raises(DataError, match=r"pair 's:1': the last prompt message must be 'user'"):
        Pair("s:1", (Message("user", "q"), Message("assistant", "a")), "x", "y", "s", "s")
    with pytest.raises(DataError, match=r"pair 's:1': prompt must be a non-empty tuple of Message"):
        Pair("s:1", (), "x", "y", "s", "s")
    with pytest.raises(DataError, match=r"pair 's:1': chosen must be a string"):
        Pair("s:1", (Message("user", "q"),), None, "y", "s", "s")
    with pytest.raises(DataError, match=r"message role 'human' is not one of \['system', 'user', 'assistant'\]"):
        Message("human", "q")
    with pytest.raises(DataError, match=r"message content is int \(expected a string\)"):
        Message("user", 3)
    with pytest.raises(DataError, match=r"pair dict is missing keys \['subset'\]"):
        Pair.from_dict({"id": "s:1", "prompt": [], "chosen": "x", "rejected": "y", "source": "s"})
