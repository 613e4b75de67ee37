"""The labelled-pair format (any prompt / response / label columns, a value map to a, b or tie) with
each label style, ties dropped and counted or kept at 0.5, its spec errors, a set added from the
command line (+eval.sets.NAME={...}), and files with a UTF-8 byte-order mark.

    python -m pytest tests/data/test_labelled.py -q
"""

from __future__ import annotations

import gzip
import json

import pytest
from omegaconf import OmegaConf
from support import compose

from genrm_exp.data.formats import is_tie
from genrm_exp.data.loaders import load_pairs
from genrm_exp.data.schema import DataError

COLUMNS = {"prompt": "question", "a": "answer1", "b": "answer2", "label": "pref"}


def votes(labels):
    return [
        {
            "qid": f"q{n}",
            "question": f"question {n}",
            "answer1": f"first {n}",
            "answer2": f"second {n}",
            "pref": label,
            "topic": "math" if n % 2 else "chat",
        }
        for n, label in enumerate(labels)
    ]


def spec(path, labels, **extra):
    return {"format": "labelled", "path": str(path), "columns": COLUMNS, "labels": labels, **extra}


def better(pairs):
    return [p.chosen.split()[0] for p in pairs]


def test_labels_one_two(tmp_path):
    path = tmp_path / "votes.json"
    path.write_text(json.dumps(votes([1, 2, 2])))
    pairs, report = load_pairs(spec(path, {1: "a", 2: "b"}))
    assert better(pairs) == ["first", "second", "second"] and pairs[1].rejected == "first 1"
    assert [p.id for p in pairs] == ["labelled:0", "labelled:1", "labelled:2"] and report.kept == 3


def test_labels_a_greater_b_with_id_and_subset(tmp_path):
    path = tmp_path / "votes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in votes(["A>B", "B>A"])))
    pairs, _ = load_pairs(
        spec(path, {"A>B": "a", "B>A": "b"}, columns={**COLUMNS, "id": "qid", "subset": "topic"}, source="votes")
    )
    assert better(pairs) == ["first", "second"]
    assert [(p.id, p.subset, p.source) for p in pairs] == [("chat:q0", "chat", "votes"), ("math:q1", "math", "votes")]


def test_labels_zero_one_two_ties_dropped_and_counted(tmp_path):
    path = tmp_path / "votes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in votes([0, 2, 1, 2])))
    pairs, report = load_pairs(spec(path, {0: "a", 1: "b", 2: "tie"}))
    assert better(pairs) == ["first", "second"] and report.skipped == {"tie": 2} and report.rows_read == 4
    assert not any(is_tie(p) for p in pairs)


def test_ties_kept_at_half(tmp_path):
    """ties: half keeps a tie (a first, b second) with an id that says so; it scores 0.5."""
    path = tmp_path / "votes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in votes([0, 2])))
    pairs, report = load_pairs(spec(path, {"0": "a", "1": "b", "2": "tie"}, ties="half"))
    assert [p.id for p in pairs] == ["labelled:0", "labelled:1/tie"] and report.skipped == {}
    assert [is_tie(p) for p in pairs] == [False, True] and pairs[1].chosen == "first 1"


def test_unmapped_label_names_file_line_and_key(tmp_path):
    path = tmp_path / "votes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in votes([1, 3])))
    with pytest.raises(DataError) as e:
        load_pairs(spec(path, {1: "a", 2: "b"}))
    assert str(e.value) == (
        f"{path} line 2: key 'pref' is 3 (expected one of ['1', '2']: the values of the spec's labels)"
    )
    assert load_pairs(spec(path, {1: "a", 2: "b"}), on_bad_row="skip")[1].skipped == {"bad_value": 1}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"labels": None},
            "data spec labels is None (expected a mapping from each label value to one of ['a', 'b', 'tie']",
        ),
        ({"labels": {1: "left"}}, "data spec labels is {1: 'left'} (expected a mapping"),
        ({"labels": {1: "a", "1": "b"}}, "two label values read the same as text"),
        ({"ties": "count"}, "data spec ties is 'count' (expected one of ['drop', 'half'])"),
        (
            {"columns": {"prompt": "question", "a": "answer1"}},
            "expected column names (strings) for ['prompt', 'a', 'b', 'label'] and optionally ['id', 'subset']",
        ),
    ],
)
def test_spec_errors(tmp_path, extra, message):
    path = tmp_path / "votes.json"
    path.write_text(json.dumps(votes([1])))
    with pytest.raises(DataError) as e:
        load_pairs({**spec(path, {1: "a", 2: "b"}), **extra})
    assert message in str(e.value)


def test_labels_belong_to_labelled_only(tmp_path):
    with pytest.raises(DataError, match="'labels' is used by format 'labelled' only"):
        load_pairs({"format": "llmbar", "path": str(tmp_path / "x.json"), "labels": {1: "a"}})


def test_set_added_from_the_command_line(tmp_path):
    """+eval.sets.NAME={...}: Hydra's override grammar, integer label keys included."""
    path = tmp_path / "votes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in votes([1, 2, 0])))
    columns = "columns:{prompt:question,a:answer1,b:answer2,label:pref}"
    cfg = compose(
        [f"+eval.sets.votes={{format:labelled,path:'{path}',source:votes,{columns},labels:{{1:a,2:b,0:tie}}}}"]
    )
    assert "llmbar-natural" in cfg.eval.sets  # added beside the default sets
    pairs, report = load_pairs(OmegaConf.to_container(cfg.eval.sets.votes, resolve=True))
    assert better(pairs) == ["first", "second"] and report.skipped == {"tie": 1} and pairs[0].source == "votes"


def test_label_values_that_are_not_names_from_the_command_line(tmp_path):
    """Hydra writes only names and numbers as dict keys: other values go as [value, target] pairs."""
    path = tmp_path / "votes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in votes(["B>A", "A>B"])))
    columns = "columns:{prompt:question,a:answer1,b:answer2,label:pref}"
    cfg = compose([f"+eval.sets.votes={{format:labelled,path:'{path}',{columns},labels:[['A>B',a],['B>A',b]]}}"])
    pairs, _ = load_pairs(OmegaConf.to_container(cfg.eval.sets.votes, resolve=True))
    assert better(pairs) == ["second", "first"]


@pytest.mark.parametrize("name", ["bom.json", "bom.jsonl", "bom.jsonl.gz"])
def test_utf8_byte_order_mark_is_accepted(tmp_path, name):
    rows = votes([1, 2])
    text = json.dumps(rows) if name.endswith(".json") else "".join(json.dumps(r) + "\n" for r in rows)
    data = "\ufeff".encode() + text.encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    pairs, _ = load_pairs(spec(path, {1: "a", 2: "b"}))
    assert better(pairs) == ["first", "second"]
