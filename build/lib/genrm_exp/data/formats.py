"""One row parser per source format; ``FORMATS`` maps a format name to its parser.

A parser takes one raw row (a mapping) and the data spec, and returns a ``Parsed`` (prompt
messages, the two responses, an upstream id and subset when the row has them), or a list of them
for a row that holds one item of several pairs (best-of-N: one per chosen/rejected cell, ``part``
``c<i>r<j>``), or raises ``BadRow``/``DropRow`` (see ``fields``). Checks common to every format
(identical responses, duplicate ids) and the id/subset/group/source stamping live in
``loaders.load_pairs``.

| format | row schema | chosen |
|---|---|---|
| ultrafeedback_jsonl | prompt, chosen, rejected (strings), metadata | chosen |
| h4_ultrafeedback | prompt_id, chosen/rejected: messages ending with the assistant reply | chosen |
| ultrainteract | id, parent_id (the instruction: the group), trajectory [{from: user/assistant, value}], chosen, rejected | chosen |
| rewardbench | id, prompt, chosen, rejected, subset (the row's subset wins) | chosen |
| llmbar | input, output_1, output_2, label (1/2) | output_<label> |
| hh_rlhf_transcripts | chosen/rejected: whole transcripts sharing all but the last reply | chosen |
| prompt_chosen_rejected | prompt (text, chat messages or an HH ``Human:`` transcript), chosen, rejected | chosen |
| pandalm | instruction, input, response1/2, annotator1..3 (0 tie, 1, 2) | majority vote |
| sharegpt_dpo | conversations [{from: human/gpt/system, value}], chosen/rejected {from, value} | chosen |
| stack_exchange | question, response_j, response_k | response_j |
| local | any columns, renamed by the spec's ``columns`` mapping | columns.chosen |
| labelled | prompt, two responses, a label column: all named by ``columns``; ``labels`` maps each label value to a, b or tie | the one its label names |
| rewardbench2 | id, prompt, chosen [1+], rejected [3+], num_correct, subset (allenai/reward-bench-2) | each chosen x each rejected |
| rmbench | id, prompt, chosen [3], rejected [3] (concise, detailed, markdown), domain (THU-KEG/RM-Bench) | the 3 x 3 cells |
| judgebench | pair_id, source, question, response_A, response_B, label A>B / B>A (ScalerLab/JudgeBench) | response_<label> |
| ppe_human | question_id, prompt, response_1, response_2, winner model_a / model_b / tie... (lmarena-ai/PPE-Human-Preference-V1) | response of the winner |
| ppe_correctness | question_id, model_name, prompt, response_1..K, scores, sampled_conflict_pairs (lmarena-ai/PPE-*-Best-of-K) | the correct one of each conflict pair |

Best-of-N rows give one pair per cell, ids ``<subset>:<row id>/c<i>r<j>`` (``i`` the chosen
response's index, ``j`` the rejected one's, 0-based) and one group per row, ``<subset>:<row id>``:
``genrm_exp.benchmarks`` scores the items from those. A tie kept by ``labelled`` with
``ties: half`` has an id ending in ``/tie`` (``is_tie``); evaluation scores it 0.5 whatever the
judge says.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from genrm_exp.data import fields
from genrm_exp.data.fields import BadRow, DropRow
from genrm_exp.data.schema import Message
from genrm_exp.data.transcripts import looks_like_transcript, parse_transcript, split_last_reply


@dataclass(frozen=True)
class Parsed:
    """A parsed row; ``keys`` name the chosen/rejected fields, ``id_key`` the id field, for messages."""

    prompt: tuple[Message, ...]
    chosen: str
    rejected: str
    id: str | None = None
    subset: str | None = None
    group: str | None = None
    keys: tuple[str, str] = ("chosen", "rejected")
    id_key: str = "id"
    part: str | None = None  # the cell of a best-of-N item; the row is then the pair's group
    tie: bool = False  # a tie kept (labelled, ties: half); scored 0.5


def _ident(row: Mapping, key: str) -> str:
    value = fields.field(row, key, expected="a string or integer id")
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise BadRow("wrong_type", f"key {key!r} is {value!r} (expected a string or integer id)")
    return str(value)


def _user(row: Mapping, key: str) -> tuple[Message, ...]:
    return (Message("user", fields.text(row, key, empty="empty_prompt")),)


def _responses(row: Mapping, chosen: str, rejected: str) -> dict[str, Any]:
    return {"chosen": fields.text(row, chosen), "rejected": fields.text(row, rejected), "keys": (chosen, rejected)}


def ultrafeedback_jsonl(row: Mapping, spec: Mapping) -> Parsed:
    return Parsed(fields.prompt(row, "prompt"), **_responses(row, "chosen", "rejected"))


def _reply(row: Mapping, key: str) -> tuple[tuple[Message, ...], str]:
    messages = fields.chat(fields.a_list(row, key), key)
    if messages[-1].role != "assistant":
        raise BadRow("bad_value", f"key '{key}[-1].role' is {messages[-1].role!r} (expected 'assistant')")
    if not messages[-1].content.strip():
        raise BadRow("empty_response", f"key '{key}[-1].content' is empty (expected {fields.NON_EMPTY})")
    return messages[:-1], messages[-1].content


def h4_ultrafeedback(row: Mapping, spec: Mapping) -> Parsed:
    chosen_prompt, chosen = _reply(row, "chosen")
    rejected_prompt, rejected = _reply(row, "rejected")
    if chosen_prompt != rejected_prompt:
        raise BadRow(
            "prefix_mismatch",
            "keys 'chosen' and 'rejected' differ before their last message (expected the same conversation)",
        )
    return Parsed(
        fields.user_last(chosen_prompt, "chosen"), chosen, rejected, id=_ident(row, "prompt_id"), id_key="prompt_id"
    )


def ultrainteract(row: Mapping, spec: Mapping) -> Parsed:
    trajectory = fields.chat(
        fields.a_list(row, "trajectory"),
        "trajectory",
        role_key="from",
        content_key="value",
        roles={"user": "user", "assistant": "assistant"},
    )
    # parent_id: the instruction a preference tree grows from; its pairs share one group (splits).
    group = _ident(row, "parent_id") if "parent_id" in row else None
    return Parsed(
        fields.user_last(trajectory, "trajectory"),
        **_responses(row, "chosen", "rejected"),
        id=_ident(row, "id"),
        group=group,
    )


def rewardbench(row: Mapping, spec: Mapping) -> Parsed:
    return Parsed(
        fields.prompt(row, "prompt"),
        **_responses(row, "chosen", "rejected"),
        id=_ident(row, "id"),
        subset=fields.text(row, "subset", empty="bad_value"),
    )


def llmbar(row: Mapping, spec: Mapping) -> Parsed:
    label = fields.choice(row, "label", (1, 2))
    better, worse = ("output_1", "output_2") if label == 1 else ("output_2", "output_1")
    return Parsed(_user(row, "input"), **_responses(row, better, worse))


def hh_rlhf_transcripts(row: Mapping, spec: Mapping) -> Parsed:
    chosen_prefix, chosen = split_last_reply(fields.text(row, "chosen"), "chosen")
    rejected_prefix, rejected = split_last_reply(fields.text(row, "rejected"), "rejected")
    if chosen_prefix != rejected_prefix:
        raise BadRow(
            "prefix_mismatch",
            "keys 'chosen' and 'rejected' differ before their last "
            "'\\n\\nAssistant:' (expected one shared conversation)",
        )
    for key, reply in (("chosen", chosen), ("rejected", rejected)):
        if not reply:
            raise BadRow(
                "empty_response", f"key {key!r} has an empty last Assistant turn (expected {fields.NON_EMPTY})"
            )
    prompt = fields.user_last(parse_transcript(chosen_prefix, "chosen"), "chosen")
    return Parsed(prompt, chosen, rejected)


def prompt_chosen_rejected(row: Mapping, spec: Mapping) -> Parsed:
    value = fields.field(row, "prompt", expected="a string or a list of chat messages")
    if isinstance(value, str) and looks_like_transcript(value):
        prompt = fields.user_last(parse_transcript(value, "prompt"), "prompt")
    else:
        prompt = fields.prompt(row, "prompt")
    return Parsed(prompt, **_responses(row, "chosen", "rejected"))


def _pandalm_response(row: Mapping, key: str) -> str:
    value = fields.field(row, key)
    # Upstream testset-v1.json stores six literal answers "True" as JSON true (indices 157-164).
    if isinstance(value, bool):
        return str(value)
    return fields.text(row, key)


def pandalm(row: Mapping, spec: Mapping) -> Parsed:
    """Label: the vote that at least two of the three annotators gave; no such vote, or a
    majority for 0 (tie), drops the row as ``pandalm_tie`` before any other check. Prompt: the
    instruction, then a blank line and the input when there is one."""
    votes = [fields.choice(row, f"annotator{i}", (0, 1, 2)) for i in (1, 2, 3)]
    label, count = Counter(votes).most_common(1)[0]
    if count < 2 or label == 0:
        raise DropRow("pandalm_tie")
    instruction = fields.text(row, "instruction", empty="empty_prompt")
    extra = fields.field(row, "input", expected="a string")
    if not isinstance(extra, str):
        raise BadRow("wrong_type", f"key 'input' is {fields.kind(extra)} (expected a string)")
    better, worse = f"response{label}", f"response{3 - label}"
    prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    return Parsed(
        (Message("user", prompt),), _pandalm_response(row, better), _pandalm_response(row, worse), keys=(better, worse)
    )


def _sharegpt_reply(row: Mapping, key: str) -> str:
    reply = fields.field(row, key, expected="an object {from: gpt, value}")
    if not isinstance(reply, Mapping):
        raise BadRow("wrong_type", f"key {key!r} is {fields.kind(reply)} (expected an object {{from: gpt, value}})")
    if fields.field(reply, "from", f"{key}.from", "'gpt'") != "gpt":
        raise BadRow("bad_value", f"key '{key}.from' is {reply['from']!r} (expected 'gpt')")
    return fields.text(reply, "value", label=f"{key}.value")


def sharegpt_dpo(row: Mapping, spec: Mapping) -> Parsed:
    conversation = fields.chat(
        fields.a_list(row, "conversations"),
        "conversations",
        role_key="from",
        content_key="value",
        roles={"human": "user", "gpt": "assistant", "system": "system"},
    )
    return Parsed(
        fields.user_last(conversation, "conversations"),
        _sharegpt_reply(row, "chosen"),
        _sharegpt_reply(row, "rejected"),
        keys=("chosen.value", "rejected.value"),
    )


def stack_exchange(row: Mapping, spec: Mapping) -> Parsed:
    return Parsed(_user(row, "question"), **_responses(row, "response_j", "response_k"))


def local(row: Mapping, spec: Mapping) -> Parsed:
    """Columns named by ``spec["columns"]`` (checked by the loader): ``prompt``, ``chosen``,
    ``rejected``, and optionally ``id`` and ``subset``."""
    columns = spec["columns"]
    keys = (columns["chosen"], columns["rejected"])
    return Parsed(
        fields.prompt(row, columns["prompt"]),
        fields.text(row, keys[0]),
        fields.text(row, keys[1]),
        id=_ident(row, columns["id"]) if "id" in columns else None,
        subset=fields.text(row, columns["subset"], empty="bad_value") if "subset" in columns else None,
        keys=keys,
        id_key=columns.get("id", "id"),
    )


TIE_SUFFIX = "/tie"
LABEL_TARGETS = ("a", "b", "tie")
TIE_POLICIES = ("drop", "half")


def is_tie(pair) -> bool:
    """A pair kept as a tie (format ``labelled`` with ``ties: half``): it counts 0.5, whatever the
    judge says, and its chosen/rejected order means nothing."""
    return pair.id.endswith(TIE_SUFFIX)


def labelled(row: Mapping, spec: Mapping) -> Parsed:
    """Columns named by ``spec["columns"]``: ``prompt``, ``a`` and ``b`` (the two responses),
    ``label``; optionally ``id`` and ``subset``. ``spec["labels"]`` maps each label value (matched
    as text, so YAML's 1 matches a row's 1 or "1") to ``a``, ``b`` or ``tie``. A tie is dropped
    and counted as ``tie`` (``ties: drop``, the default) or kept, a first, b second, as a pair
    that scores 0.5 (``ties: half``)."""
    columns, labels = spec["columns"], {str(k): v for k, v in spec["labels"].items()}
    value = fields.field(row, columns["label"], expected=f"one of {list(labels)}")
    target = labels.get(str(value)) if not isinstance(value, (dict, list)) else None
    if target is None:
        raise BadRow(
            "bad_value",
            f"key {columns['label']!r} is {value!r} (expected one of {list(labels)}: the values of the spec's labels)",
        )
    if target == "tie" and spec.get("ties", "drop") == "drop":
        raise DropRow("tie")
    better, worse = (columns["b"], columns["a"]) if target == "b" else (columns["a"], columns["b"])
    return Parsed(
        fields.prompt(row, columns["prompt"]),
        fields.text(row, better),
        fields.text(row, worse),
        id=_ident(row, columns["id"]) if "id" in columns else None,
        subset=fields.text(row, columns["subset"], empty="bad_value") if "subset" in columns else None,
        keys=(better, worse),
        id_key=columns.get("id", "id"),
        tie=target == "tie",
    )


def _texts(row: Mapping, key: str, n: int | None = None) -> list[str]:
    items = fields.a_list(row, key)
    if n is not None and len(items) != n:
        raise BadRow("bad_value", f"key {key!r} has {len(items)} responses (expected {n})")
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise BadRow("wrong_type", f"key '{key}[{i}]' is {fields.kind(item)} (expected {fields.NON_EMPTY})")
        if not item.strip():
            raise BadRow("empty_response", f"key '{key}[{i}]' is empty (expected {fields.NON_EMPTY})")
    return items


def _cells(
    prompt,
    chosen: list[str],
    rejected: list[str],
    row_id: str,
    subset: str | None,
    chosen_key: str = "chosen",
    rejected_key: str = "rejected",
) -> list[Parsed]:
    return [
        Parsed(
            prompt,
            c,
            r,
            id=row_id,
            subset=subset,
            part=f"c{i}r{j}",
            keys=(f"{chosen_key}[{i}]", f"{rejected_key}[{j}]"),
        )
        for i, c in enumerate(chosen)
        for j, r in enumerate(rejected)
    ]


def rewardbench2(row: Mapping, spec: Mapping) -> list[Parsed]:
    """One pair per (chosen, rejected) cell: 1 x 3 for most subsets, up to num_correct x the rest
    for Ties (ids ``ref:<n>`` / ``tied:<n>``)."""
    chosen, rejected = _texts(row, "chosen"), _texts(row, "rejected")
    if "num_correct" in row and row["num_correct"] != len(chosen):
        raise BadRow(
            "bad_value", f"key 'num_correct' is {row['num_correct']!r} (expected {len(chosen)}, the length of 'chosen')"
        )
    return _cells(
        fields.prompt(row, "prompt"), chosen, rejected, _ident(row, "id"), fields.text(row, "subset", empty="bad_value")
    )


def rmbench(row: Mapping, spec: Mapping) -> list[Parsed]:
    """The 3 x 3 cells of chosen style i against rejected style j (0 concise, 1 detailed plain,
    2 detailed markdown); the subset is the row's domain."""
    return _cells(
        fields.prompt(row, "prompt"),
        _texts(row, "chosen", 3),
        _texts(row, "rejected", 3),
        _ident(row, "id"),
        fields.text(row, "domain", empty="bad_value"),
    )


def judgebench(row: Mapping, spec: Mapping) -> Parsed:
    """The subset is the row's source (``mmlu-pro-law``, ``livebench-math``, ...)."""
    label = fields.choice(row, "label", ("A>B", "B>A"))
    better, worse = ("response_A", "response_B") if label == "A>B" else ("response_B", "response_A")
    return Parsed(
        _user(row, "question"),
        **_responses(row, better, worse),
        id=_ident(row, "pair_id"),
        subset=fields.text(row, "source", empty="bad_value"),
        id_key="pair_id",
    )


def ppe_human(row: Mapping, spec: Mapping) -> Parsed:
    """A vote for model_a or model_b picks response_1 or response_2; a tie (``tie``,
    ``tie (bothbad)``) is dropped and counted as ``tie``. Ids are row indices (a question_id
    can recur with other models)."""
    winner = fields.field(row, "winner", expected="model_a, model_b or a tie")
    if isinstance(winner, str) and winner.startswith("tie"):
        raise DropRow("tie")
    if winner not in ("model_a", "model_b"):
        raise BadRow("bad_value", f"key 'winner' is {winner!r} (expected model_a, model_b, tie or tie (bothbad))")
    better, worse = ("response_1", "response_2") if winner == "model_a" else ("response_2", "response_1")
    return Parsed(fields.prompt(row, "prompt"), **_responses(row, better, worse))


def ppe_correctness(row: Mapping, spec: Mapping) -> list[Parsed]:
    """One pair per sampled conflict pair [i, j] (0-based into response_1..K and scores): the
    correct response is chosen, so the part is ``c<correct>r<incorrect>``. The row (one
    question answered K times by one model) is the group."""
    scores = fields.a_list(row, "scores")
    if not all(isinstance(v, (bool, int, float)) for v in scores):
        raise BadRow("wrong_type", f"key 'scores' is {scores!r} (expected a grade per response: true/false or 0/1)")
    conflicts = fields.a_list(row, "sampled_conflict_pairs")
    row_id = _ident(row, "question_id")
    if "model_name" in row:
        row_id = f"{row_id}:{fields.text(row, 'model_name', empty='bad_value')}"
    prompt, out = fields.prompt(row, "prompt"), []
    for n, cell in enumerate(conflicts):
        if not (
            isinstance(cell, (list, tuple))
            and len(cell) == 2
            and all(isinstance(k, int) and not isinstance(k, bool) and 0 <= k < len(scores) for k in cell)
        ):
            raise BadRow(
                "bad_value",
                f"key 'sampled_conflict_pairs[{n}]' is {cell!r} (expected two indices "
                f"into 'scores', 0 to {len(scores) - 1})",
            )
        i, j = cell if scores[cell[0]] > scores[cell[1]] else (cell[1], cell[0])
        if scores[i] == scores[j]:
            raise BadRow(
                "bad_value",
                f"key 'sampled_conflict_pairs[{n}]' is {cell!r}, two responses of equal "
                "score (expected one correct, one not)",
            )
        good, bad = f"response_{i + 1}", f"response_{j + 1}"
        out.append(
            Parsed(
                prompt,
                fields.text(row, good),
                fields.text(row, bad),
                id=row_id,
                part=f"c{i}r{j}",
                keys=(good, bad),
                id_key="question_id",
            )
        )
    return out


Parser = Callable[[Mapping, Mapping], "Parsed | list[Parsed]"]

FORMATS: dict[str, Parser] = {
    "ultrafeedback_jsonl": ultrafeedback_jsonl,
    "h4_ultrafeedback": h4_ultrafeedback,
    "ultrainteract": ultrainteract,
    "rewardbench": rewardbench,
    "llmbar": llmbar,
    "hh_rlhf_transcripts": hh_rlhf_transcripts,
    "prompt_chosen_rejected": prompt_chosen_rejected,
    "pandalm": pandalm,
    "sharegpt_dpo": sharegpt_dpo,
    "stack_exchange": stack_exchange,
    "local": local,
    "labelled": labelled,
    "rewardbench2": rewardbench2,
    "rmbench": rmbench,
    "judgebench": judgebench,
    "ppe_human": ppe_human,
    "ppe_correctness": ppe_correctness,
}

# The source name stamped on pairs when the spec gives none (format name otherwise).
DEFAULT_SOURCES = {
    "ultrafeedback_jsonl": "ultrafeedback",
    "h4_ultrafeedback": "ultrafeedback",
    "hh_rlhf_transcripts": "hh_rlhf",
}

# Canonical fields a format's ``columns`` mapping names (required, optional).
COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "local": (("prompt", "chosen", "rejected"), ("id", "subset")),
    "labelled": (("prompt", "a", "b", "label"), ("id", "subset")),
}
