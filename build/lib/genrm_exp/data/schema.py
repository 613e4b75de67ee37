"""The preference-pair record every layer above the data layer sees, and the data layer's errors.

Standard library only. A ``Pair`` is one prompt (a chat conversation whose last message is the
user's) with a preferred (``chosen``) and a dispreferred (``rejected``) assistant response::

    pair = Pair(id="llmbar-natural:0", prompt=(Message("user", "Hi"),), chosen="Hello!",
                rejected="Go away.", source="llmbar", subset="llmbar-natural")
    tokenizer.apply_chat_template(pair.prompt_messages(), add_generation_prompt=True)
    Pair.from_dict(json.loads(json.dumps(pair.to_dict()))) == pair
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from genrm_exp.errors import UserError

ROLES = ("system", "user", "assistant")


class DataError(UserError, ValueError):
    """Bad input data or a bad data spec.

    Row errors name the file (as given), the row, the key and what was expected, e.g.
    ``data/uf.jsonl line 17: key 'chosen' is missing (expected a non-empty string)``. Rows are
    counted as ``line N`` (1-based physical line) for JSONL and as ``index N`` (0-based) for JSON
    lists, Parquet files and Hub splits.
    """


@dataclass(frozen=True)
class Message:
    """One chat message; ``role`` is one of ``ROLES``."""

    role: str
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise DataError(f"message role {self.role!r} is not one of {list(ROLES)}")
        if not isinstance(self.content, str):
            raise DataError(f"message content is {type(self.content).__name__} (expected a string)")

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class Pair:
    """One preference pair.

    ``id`` is stable across runs and unique within one load (the loaders use
    ``"<subset>:<upstream id or row index>"``); ``prompt`` is a non-empty tuple of messages whose
    last one is ``user``; ``chosen``/``rejected`` are the two assistant responses, non-empty and
    different; ``source`` names the dataset family (``"llmbar"``) and ``subset`` the slice that
    metrics are grouped by (``"llmbar-natural"``; the source name when there is no finer slice).
    ``group`` names the prompt the pair belongs to when the source says so (UltraInteract's
    ``parent_id``: several pairs of one preference tree; a best-of-N item's id); None otherwise.
    Splits keep every pair of a group, and of a prompt text, on one side (``splits.group_key``).
    """

    id: str
    prompt: tuple[Message, ...]
    chosen: str
    rejected: str
    source: str
    subset: str
    group: str | None = None

    def __post_init__(self) -> None:
        if not self.prompt or not all(isinstance(m, Message) for m in self.prompt):
            raise DataError(f"pair {self.id!r}: prompt must be a non-empty tuple of Message")
        if self.prompt[-1].role != "user":
            raise DataError(f"pair {self.id!r}: the last prompt message must be 'user'")
        for name in ("id", "chosen", "rejected", "source", "subset"):
            if not isinstance(getattr(self, name), str):
                raise DataError(f"pair {self.id!r}: {name} must be a string")
        if self.group is not None and not isinstance(self.group, str):
            raise DataError(f"pair {self.id!r}: group must be a string or None")

    def prompt_messages(self) -> list[dict[str, str]]:
        """The prompt as plain ``{"role", "content"}`` dicts, for ``apply_chat_template``."""
        return [m.to_dict() for m in self.prompt]

    @property
    def question(self) -> str:
        """The last user message: what the responses answer."""
        return self.prompt[-1].content

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``Pair.from_dict`` inverts it."""
        return {
            "id": self.id,
            "prompt": self.prompt_messages(),
            "chosen": self.chosen,
            "rejected": self.rejected,
            "source": self.source,
            "subset": self.subset,
            **({"group": self.group} if self.group is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Pair:
        """Build a Pair from ``to_dict`` output (prompt as a list of role/content dicts)."""
        missing = [k for k in ("id", "prompt", "chosen", "rejected", "source", "subset") if k not in d]
        if missing:
            raise DataError(f"pair dict is missing keys {missing}")
        prompt = tuple(Message(m["role"], m["content"]) for m in d["prompt"])
        return cls(d["id"], prompt, d["chosen"], d["rejected"], d["source"], d["subset"], d.get("group"))


@dataclass
class LoadReport:
    """What one ``load_pairs`` call did, for logs and ``metrics.json`` extras.

    ``rows_read`` counts rows taken from the input (all of them unless ``limit`` stopped early);
    ``kept`` the pairs returned; ``skipped`` maps a reason (``"missing_key"``, ``"wrong_type"``,
    ``"empty_response"``, ``"identical_responses"``, ``"malformed_json"``, ``"pandalm_tie"``, ...)
    to the number of rows dropped for it, so ``rows_read == kept + sum(skipped.values())``.
    """

    source: str
    rows_read: int = 0
    kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "kept": self.kept,
            "skipped": dict(sorted(self.skipped.items())),
        }
