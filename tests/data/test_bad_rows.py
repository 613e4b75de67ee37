"""Every error message a user can hit while loading, asserted once, on files written into tmp_path.

A row error reads ``<path> line N: ...`` (JSONL, 1-based) or ``<path> index N: ...`` (JSON list,
0-based); with on_bad_row="skip" the same rows are counted by reason instead.
"""

from __future__ import annotations

import json

import pytest

from genrm_exp.data.loaders import load_pairs
from genrm_exp.data.schema import DataError

UF = {"prompt": "q", "chosen": "a", "rejected": "b"}
LLMBAR = {"input": "q", "output_1": "a", "output_2": "b", "label": 1}
H4 = {
    "prompt_id": "p1",
    "chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
    "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}],
}
HH = {"chosen": "\n\nHuman: q\n\nAssistant: a", "rejected": "\n\nHuman: q\n\nAssistant: b"}
RB = {"prompt": "q", "chosen": "a", "rejected": "b", "subset": "s", "id": 1}
PANDA = {
    "instruction": "q",
    "input": "",
    "response1": "a",
    "response2": "b",
    "annotator1": 1,
    "annotator2": 1,
    "annotator3": 1,
}
SHAREGPT = {
    "conversations": [{"from": "human", "value": "q"}],
    "chosen": {"from": "gpt", "value": "a"},
    "rejected": {"from": "gpt", "value": "b"},
}
UI = {"trajectory": [{"from": "user", "value": "q"}], "chosen": "a", "rejected": "b", "id": "u1"}
LOCAL = {"columns": {"prompt": "question", "chosen": "good", "rejected": "bad", "id": "qid"}}


def edit(base, **changes):
    """``base`` with keys replaced; a value of ``...`` deletes the key."""
    row = {**base, **changes}
    return {k: v for k, v in row.items() if v is not ...}


ROW_ERRORS = [  # format, rows (a str is written verbatim as a JSONL line), spec extras, message, reason
    (
        "ultrafeedback_jsonl",
        [UF, edit(UF, chosen=...)],
        {},
        "line 2: key 'chosen' is missing (expected a non-empty string)",
        "missing_key",
    ),
    (
        "ultrafeedback_jsonl",
        [edit(UF, chosen=["a"])],
        {},
        "line 1: key 'chosen' is a list (expected a non-empty string)",
        "wrong_type",
    ),
    (
        "ultrafeedback_jsonl",
        [edit(UF, rejected=" \n")],
        {},
        "line 1: key 'rejected' is empty (expected a non-empty string)",
        "empty_response",
    ),
    (
        "ultrafeedback_jsonl",
        [UF, '{"prompt": "q",'],
        {},
        "line 2: malformed JSON (Expecting property name enclosed in double quotes at character 16) "
        "(expected one JSON object per line)",
        "malformed_json",
    ),
    ("ultrafeedback_jsonl", ["[1, 2]"], {}, "line 1: row is a list (expected an object)", "wrong_type"),
    (
        "ultrafeedback_jsonl",
        [edit(UF, prompt={"text": "q"})],
        {},
        "line 1: key 'prompt' is a dict (expected a non-empty string or a list of chat messages)",
        "wrong_type",
    ),
    (
        "ultrafeedback_jsonl",
        [edit(UF, prompt=" ")],
        {},
        "line 1: key 'prompt' ends with an empty user message (expected a non-empty string)",
        "empty_prompt",
    ),
    (
        "ultrafeedback_jsonl",
        [edit(UF, prompt=[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}])],
        {},
        "line 1: key 'prompt' ends with a message from 'assistant' (expected the last message to be from the user)",
        "bad_prompt",
    ),
    (
        "ultrafeedback_jsonl",
        [edit(UF, prompt=[{"role": "bot", "content": "q"}])],
        {},
        "line 1: key 'prompt[0].role' is 'bot' (expected one of ['system', 'user', 'assistant'])",
        "bad_value",
    ),
    (
        "ultrafeedback_jsonl",
        [edit(UF, prompt=[{"role": "user"}])],
        {},
        "line 1: key 'prompt[0].content' is missing (expected a string)",
        "missing_key",
    ),
    (
        "ultrafeedback_jsonl",
        [edit(UF, prompt=["q"])],
        {},
        "line 1: key 'prompt[0]' is a str (expected an object with 'role' and 'content')",
        "wrong_type",
    ),
    ("llmbar", [LLMBAR, edit(LLMBAR, label=3)], {}, "index 1: key 'label' is 3 (expected one of [1, 2])", "bad_value"),
    (
        "llmbar",
        [edit(LLMBAR, input="")],
        {},
        "index 0: key 'input' is empty (expected a non-empty string)",
        "empty_prompt",
    ),
    (
        "h4_ultrafeedback",
        [edit(H4, chosen=H4["chosen"][:1])],
        {},
        "line 1: key 'chosen[-1].role' is 'user' (expected 'assistant')",
        "bad_value",
    ),
    (
        "h4_ultrafeedback",
        [edit(H4, rejected=[{"role": "user", "content": "other"}, H4["rejected"][1]])],
        {},
        "line 1: keys 'chosen' and 'rejected' differ before their last message (expected the same conversation)",
        "prefix_mismatch",
    ),
    (
        "h4_ultrafeedback",
        [edit(H4, chosen=[H4["chosen"][0], {"role": "assistant", "content": ""}])],
        {},
        "line 1: key 'chosen[-1].content' is empty (expected a non-empty string)",
        "empty_response",
    ),
    (
        "h4_ultrafeedback",
        [edit(H4, chosen=[])],
        {},
        "line 1: key 'chosen' is an empty list (expected a non-empty list)",
        "wrong_type",
    ),
    (
        "h4_ultrafeedback",
        [edit(H4, prompt_id=None)],
        {},
        "line 1: key 'prompt_id' is None (expected a string or integer id)",
        "wrong_type",
    ),
    (
        "hh_rlhf_transcripts",
        [edit(HH, rejected="\n\nHuman: other\n\nAssistant: b")],
        {},
        "line 1: keys 'chosen' and 'rejected' differ before their last '\\n\\nAssistant:' (expected one shared "
        "conversation)",
        "prefix_mismatch",
    ),
    (
        "hh_rlhf_transcripts",
        [edit(HH, chosen="\n\nHuman: q\n\nAssistant: ")],
        {},
        "line 1: key 'chosen' has an empty last Assistant turn (expected a non-empty string)",
        "empty_response",
    ),
    (
        "hh_rlhf_transcripts",
        [edit(HH, chosen="\n\nHuman: q a")],
        {},
        "line 1: key 'chosen' has no '\\n\\nAssistant:' turn (expected a Human/Assistant transcript)",
        "bad_transcript",
    ),
    (
        "hh_rlhf_transcripts",
        [{"chosen": "Hi\n\nAssistant: a", "rejected": "Hi\n\nAssistant: b"}],
        {},
        "line 1: key 'chosen' does not start with a '\\n\\nHuman:' turn (expected a Human/Assistant transcript)",
        "bad_transcript",
    ),
    (
        "rewardbench",
        [RB, RB],
        {},
        "line 2: key 'id' gives id 's:1' again (expected ids unique within the file)",
        "duplicate_id",
    ),
    (
        "rewardbench",
        [edit(RB, subset="")],
        {},
        "line 1: key 'subset' is empty (expected a non-empty string)",
        "bad_value",
    ),
    (
        "pandalm",
        [edit(PANDA, annotator2=5)],
        {},
        "index 0: key 'annotator2' is 5 (expected one of [0, 1, 2])",
        "bad_value",
    ),
    ("pandalm", [edit(PANDA, input=None)], {}, "index 0: key 'input' is null (expected a string)", "wrong_type"),
    (
        "sharegpt_dpo",
        [edit(SHAREGPT, chosen={"from": "human", "value": "a"})],
        {},
        "index 0: key 'chosen.from' is 'human' (expected 'gpt')",
        "bad_value",
    ),
    (
        "sharegpt_dpo",
        [edit(SHAREGPT, rejected="b")],
        {},
        "index 0: key 'rejected' is a str (expected an object {from: gpt, value})",
        "wrong_type",
    ),
    (
        "sharegpt_dpo",
        [edit(SHAREGPT, conversations=[{"from": "observation", "value": "q"}])],
        {},
        "index 0: key 'conversations[0].from' is 'observation' (expected one of ['human', 'gpt', 'system'])",
        "bad_value",
    ),
    (
        "ultrainteract",
        [edit(UI, trajectory=...)],
        {},
        "line 1: key 'trajectory' is missing (expected a non-empty list)",
        "missing_key",
    ),
    (
        "local",
        [{"question": "q", "good": "a", "bad": "b"}],
        LOCAL,
        "line 1: key 'qid' is missing (expected a string or integer id)",
        "missing_key",
    ),
]
SUFFIX = {"llmbar": ".json", "pandalm": ".json", "sharegpt_dpo": ".json"}


def write_rows(tmp_path, fmt, rows):
    path = tmp_path / f"bad_{fmt}{SUFFIX.get(fmt, '.jsonl')}"
    if path.suffix == ".json":
        path.write_text(json.dumps(rows))
    else:
        path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("fmt", "rows", "extra", "message", "reason"),
    ROW_ERRORS,
    ids=[f"{c[0]}-{c[4]}-{i}" for i, c in enumerate(ROW_ERRORS)],
)
def test_bad_row_message_and_skip_reason(tmp_path, fmt, rows, extra, message, reason):
    path = write_rows(tmp_path, fmt, rows)
    spec = {"format": fmt, "path": str(path), **extra}
    with pytest.raises(DataError) as e:
        load_pairs(spec)
    assert str(e.value) == f"{path} {message}"
    pairs, report = load_pairs(spec, on_bad_row="skip")
    assert report.skipped == {reason: 1}
    assert report.rows_read == len(rows) and report.kept == len(pairs) == len(rows) - 1


def test_skip_counts_every_reason_and_the_keyword_wins(tmp_path):
    rows = [UF, edit(UF, chosen=...), "{oops", edit(UF, rejected="a", chosen="a"), edit(UF, chosen=""), UF]
    path = write_rows(tmp_path, "ultrafeedback_jsonl", rows)
    spec = {"format": "ultrafeedback_jsonl", "path": str(path), "on_bad_row": "skip"}
    pairs, report = load_pairs(spec)
    assert [p.id for p in pairs] == ["ultrafeedback:0", "ultrafeedback:5"]
    assert report.skipped == {"missing_key": 1, "malformed_json": 1, "identical_responses": 1, "empty_response": 1}
    with pytest.raises(DataError, match="line 2: key 'chosen' is missing"):
        load_pairs(spec, on_bad_row="error")


def test_pandalm_ties_are_dropped_even_in_error_mode(tmp_path):
    rows = [PANDA, edit(PANDA, annotator1=0, annotator2=0), edit(PANDA, annotator2=2, annotator3=0)]
    pairs, report = load_pairs({"format": "pandalm", "path": str(write_rows(tmp_path, "pandalm", rows))})
    assert [p.id for p in pairs] == ["pandalm:0"] and report.skipped == {"pandalm_tie": 2}


def file_errors(tmp_path):
    """(spec, message) for whole-file and spec errors, which stop the load in either mode."""
    missing, csv, obj, broken = (tmp_path / n for n in ("none.jsonl", "x.csv", "obj.json", "broken.json"))
    csv.write_text("a,b\n")
    obj.write_text('{"rows": []}')
    broken.write_text('[{"input": "q",]')
    suffixes = "['.json', '.jsonl', '.jsonl.gz', '.parquet']"
    return [
        ({"format": "llmbar", "path": str(missing)}, f"{missing}: no such file (expected one of {suffixes})"),
        ({"format": "llmbar", "path": str(csv)}, f"{csv}: unsupported file suffix '.csv' (expected one of {suffixes})"),
        ({"format": "llmbar", "path": str(obj)}, f"{obj}: top level is a dict (expected a JSON list of objects)"),
        (
            {"format": "llmbar", "path": str(broken)},
            f"{broken}: malformed JSON at line 1 column 16: Expecting property name enclosed in double quotes "
            "(expected a JSON list of objects)",
        ),
        (
            {"format": "nope", "path": "x.json"},
            "data spec format is 'nope' (expected one of ['h4_ultrafeedback', "
            "'hh_rlhf_transcripts', 'judgebench', 'labelled', 'llmbar', 'local', 'pandalm', 'ppe_correctness', "
            "'ppe_human', 'prompt_chosen_rejected', 'rewardbench', 'rewardbench2', 'rmbench', "
            "'sharegpt_dpo', 'stack_exchange', 'ultrafeedback_jsonl', 'ultrainteract'])",
        ),
        (
            {"format": "llmbar", "path": "x.json", "max_rows": 3},
            "data spec has unknown keys ['max_rows'] (expected some of "
            "['format', 'path', 'hub', 'split', 'hub_config', 'source', 'subset', 'limit', 'columns', 'labels', "
            "'ties', 'on_bad_row'])",
        ),
        (
            {"format": "llmbar", "path": "x.json", "hub": "a/b"},
            "data spec needs exactly one of 'path' (a local file) or 'hub' (a dataset id), got both",
        ),
        (
            {"format": "llmbar"},
            "data spec needs exactly one of 'path' (a local file) or 'hub' (a dataset id), got neither",
        ),
        ({"format": "llmbar", "hub": "a/b"}, "data spec for hub a/b: 'split' is missing (expected e.g. 'train')"),
        (
            {"format": "llmbar", "path": "x.json", "split": "train"},
            "data spec for path x.json: 'split' and 'hub_config' apply only to 'hub' datasets",
        ),
        (
            {"format": "llmbar", "path": "x.json", "on_bad_row": "warn"},
            "x.json: on_bad_row is 'warn' (expected one of ['error', 'skip'])",
        ),
        (
            {"format": "llmbar", "path": "x.json", "limit": -1},
            "data spec limit is -1 (expected a non-negative integer)",
        ),
        ({"format": "llmbar", "path": "x.json", "source": ""}, "data spec source is '' (expected a non-empty string)"),
        (
            {"format": "llmbar", "path": "x.json", "columns": {"prompt": "q"}},
            "data spec 'columns' is required by formats ['local', 'labelled'] and used by no other "
            "(format 'llmbar', columns {'prompt': 'q'})",
        ),
        (
            {"format": "local", "path": "x.json", "columns": {"prompt": "q", "answer": "a"}},
            "data spec columns {'prompt': 'q', 'answer': 'a'}: expected column names (strings) for "
            "['prompt', 'chosen', 'rejected'] and optionally ['id', 'subset']",
        ),
    ]


def test_file_and_spec_errors(tmp_path):
    for spec, message in file_errors(tmp_path):
        with pytest.raises(DataError) as e:
            load_pairs(spec, on_bad_row="skip" if "on_bad_row" not in spec else None)
        assert str(e.value) == message


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".jsonl.gz"])
def test_bytes_that_are_not_utf8_name_the_file_and_the_byte(tmp_path, suffix):
    import gzip

    good = (json.dumps(UF) + "\n").encode()
    bad = json.dumps(edit(UF, chosen="caf\udce9"), ensure_ascii=False).encode("utf-8", "surrogateescape")
    body = b"[" + json.dumps(UF).encode() + b", " + bad + b"]" if suffix == ".json" else good + bad + b"\n"
    path = tmp_path / f"latin1{suffix}"
    path.write_bytes(gzip.compress(body) if suffix.endswith(".gz") else body)
    with pytest.raises(DataError) as e:
        load_pairs({"format": "ultrafeedback_jsonl", "path": str(path)}, on_bad_row="skip")
    offset = body.index(b"\xe9")
    assert str(e.value).startswith(f"{path}: byte {offset} (b'\\xe9') is not UTF-8 (invalid continuation byte"), str(
        e.value
    )


def test_a_byte_order_mark_is_still_read(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(UF) + "\n").encode() * 2)
    pairs, _ = load_pairs({"format": "ultrafeedback_jsonl", "path": str(path)})
    assert len(pairs) == 2


@pytest.mark.parametrize("where", ["data.train", "eval.sets.extra"])
def test_a_file_with_no_pairs_is_an_error_naming_its_key(tmp_path, where):
    """Every row skipped (or none at all) ends in one line naming the setting and the file, not a
    trainer's StopIteration on an empty dataset."""
    from support import compose

    from genrm_exp.data.sets import load_data

    good = write_rows(tmp_path, "local", [UF, edit(UF, prompt="q2")])
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"prompt": "q"}) + "\n\n")  # one row, no responses
    train = empty if where == "data.train" else good
    fmt = "local" if where == "data.train" else "ultrafeedback_jsonl"
    sets = [f"+eval.sets.extra={{format:{fmt},path:{empty}}}"] if where != "data.train" else []
    cfg = compose(["objective=bt", "data=local", f"data.train.path={train}", "data.on_bad_row=skip", *sets])
    with pytest.raises(DataError) as e:
        load_data(cfg)
    assert str(e.value) == (
        f"{where}: {empty}: no pairs (1 rows read, skipped {{'missing_key': 1}}); expected rows with a prompt, "
        f"a chosen and a rejected response in format {fmt!r}"
    )
