"""Typed access to the fields of one raw row, for the row parsers in ``formats``.

Every accessor either returns a value of the expected type or raises ``BadRow`` with a reason (a
``LoadReport.skipped`` key) and a message ``key 'chosen' is missing (expected a non-empty
string)``; ``loaders.load_pairs`` prefixes the file and row. ``DropRow`` is a documented policy
(e.g. PandaLM ties), not an error: such rows are dropped and counted whatever ``on_bad_row`` says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genrm_exp.data.schema import Message

NON_EMPTY = "a non-empty string"


class BadRow(Exception):
    """A row that breaks its format; ``reason`` is the ``LoadReport.skipped`` key."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class DropRow(Exception):
    """A row that the format's documented policy drops (not an error); ``reason`` is counted."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def kind(value: Any) -> str:
    """``null``, ``an int``, ``a list``, ``an empty list``, ... for messages."""
    if value is None:
        return "null"
    name = type(value).__name__
    if isinstance(value, (list, dict, str)) and not value:
        name = f"empty {name}"
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def field(row: Any, key: str, label: str | None = None, expected: str = NON_EMPTY) -> Any:
    """``row[key]``; a missing key, or a row that is not a mapping, raises BadRow."""
    label = key if label is None else label
    if not isinstance(row, Mapping):
        raise BadRow("wrong_type", f"key {label!r} cannot be read from {kind(row)} (expected an object)")
    if key not in row:
        raise BadRow("missing_key", f"key {label!r} is missing (expected {expected})")
    return row[key]


def text(row: Any, key: str, *, label: str | None = None, empty: str = "empty_response") -> str:
    """A string field that is not whitespace only; ``empty`` is the reason when it is."""
    label = key if label is None else label
    value = field(row, key, label)
    if not isinstance(value, str):
        raise BadRow("wrong_type", f"key {label!r} is {kind(value)} (expected {NON_EMPTY})")
    if not value.strip():
        raise BadRow(empty, f"key {label!r} is empty (expected {NON_EMPTY})")
    return value


def choice(row: Any, key: str, allowed: tuple, *, label: str | None = None) -> Any:
    """A field whose value must be one of ``allowed`` (labels, annotator votes)."""
    label = key if label is None else label
    value = field(row, key, label, f"one of {list(allowed)}")
    if isinstance(value, bool) or value not in allowed:
        raise BadRow("bad_value", f"key {label!r} is {value!r} (expected one of {list(allowed)})")
    return value


def a_list(row: Any, key: str, *, label: str | None = None) -> list:
    label = key if label is None else label
    value = field(row, key, label, "a non-empty list")
    if not isinstance(value, list) or not value:
        raise BadRow("wrong_type", f"key {label!r} is {kind(value)} (expected a non-empty list)")
    return value


def chat(
    items: list,
    label: str,
    *,
    role_key: str = "role",
    content_key: str = "content",
    roles: Mapping[str, str] | None = None,
) -> tuple[Message, ...]:
    """Messages from a list of dicts, mapping upstream role names through ``roles``."""
    roles = {r: r for r in ("system", "user", "assistant")} if roles is None else roles
    out = []
    for i, item in enumerate(items):
        where = f"{label}[{i}]"
        if not isinstance(item, Mapping):
            raise BadRow(
                "wrong_type",
                f"key {where!r} is {kind(item)} (expected an object with {role_key!r} and {content_key!r})",
            )
        role = field(item, role_key, f"{where}.{role_key}", f"one of {list(roles)}")
        if role not in roles:
            raise BadRow("bad_value", f"key '{where}.{role_key}' is {role!r} (expected one of {list(roles)})")
        content = field(item, content_key, f"{where}.{content_key}", "a string")
        if not isinstance(content, str):
            raise BadRow("wrong_type", f"key '{where}.{content_key}' is {kind(content)} (expected a string)")
        out.append(Message(roles[role], content))
    return tuple(out)


def user_last(messages: tuple[Message, ...], label: str) -> tuple[Message, ...]:
    """Check that a prompt ends with a non-empty user message."""
    if not messages:
        raise BadRow("empty_prompt", f"key {label!r} is empty (expected at least one message)")
    if messages[-1].role != "user":
        raise BadRow(
            "bad_prompt",
            f"key {label!r} ends with a message from {messages[-1].role!r} "
            "(expected the last message to be from the user)",
        )
    if not messages[-1].content.strip():
        raise BadRow("empty_prompt", f"key {label!r} ends with an empty user message (expected {NON_EMPTY})")
    return messages


def prompt(row: Any, key: str) -> tuple[Message, ...]:
    """A prompt field holding either a string (one user message) or a list of chat messages."""
    value = field(row, key, expected="a string or a list of chat messages")
    if isinstance(value, str):
        return user_last((Message("user", value),), key)
    if isinstance(value, list):
        return user_last(chat(value, key), key)
    raise BadRow("wrong_type", f"key {key!r} is {kind(value)} (expected a non-empty string or a list of chat messages)")
