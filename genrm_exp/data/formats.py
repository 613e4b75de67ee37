"""One row parser per source format; ``FORMATS`` maps a format name to its parser.

A parser takes one raw row (a mapping) and the data spec, and returns a ``Parsed`` (prompt
messages, the two responses, an upstream id and subset when the row has them) or raises
``BadRow``/``DropRow`` (see ``fields``). Checks common to every format (identical responses,
duplicate ids) and the id/subset/source stamping live in ``loaders.load_pairs``.

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
        fields.user_last(trajectory, "trajectory"), **_responses(row, "chosen", "rejected"), id=_ident(row, "id"),
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


Parser = Callable[[Mapping, Mapping], Parsed]

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
}

# The source name stamped on pairs when the spec gives none (format name otherwise).
DEFAULT_SOURCES = {
    "ultrafeedback_jsonl": "ultrafeedback",
    "h4_ultrafeedback": "ultrafeedback",
    "hh_rlhf_transcripts": "hh_rlhf",
}

# Canonical fields the ``local`` format's ``columns`` mapping may name.
LOCAL_COLUMNS = {"required": ("prompt", "chosen", "rejected"), "optional": ("id", "subset")}
