"""What a request body may hold, and reading one within the server's limits.

    data = await read_json(request, max_bytes)      # HTTPError 413 (too large) or 400 (not JSON)
    req = validated(data, OpenRLHFIn)               # HTTPError 422 naming the field

The size limit holds while the body is read, so a body without Content-Length (chunked) is cut off
at max_bytes too. JSON that Python cannot parse safely (nesting deeper than its recursion limit, an
integer of more than 4300 digits) is a 400 like any malformed JSON. A prompt is a string (one user
turn) or chat messages; a message's content is a string or TRL's content parts, of which only text
parts can be judged; `tool` turns and prompts not ending in a user turn are refused (a judge reads a
question and its answers).
"""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr, TypeAdapter, ValidationError, field_validator


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


class Part(BaseModel):
    """One part of a message's content list ({"type": "text", "text": ...}; images are refused)."""

    type: StrictStr
    text: StrictStr | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: StrictStr
    content: StrictStr | list[Part]

    @field_validator("role")
    @classmethod
    def _role(cls, role: str) -> str:
        if role == "tool":
            raise ValueError(
                "a `tool` turn cannot be judged: send the conversation without tool turns (or the "
                "tool's result inside a user turn)"
            )
        if role not in ("system", "user", "assistant"):
            raise ValueError(f"role {role!r}: expected system, user or assistant")
        return role

    @field_validator("content")
    @classmethod
    def _content(cls, content):
        if isinstance(content, str):
            return content
        other = sorted({p.type for p in content if p.type != "text" or p.text is None})
        if other:
            raise ValueError(f"only text parts can be judged; got parts of type {other}")
        return "".join(p.text for p in content)


def _ends_in_user(prompt):
    if not isinstance(prompt, str) and prompt[-1].role != "user":
        raise ValueError(f"the last message is {prompt[-1].role!r}: a prompt ends in a user turn")
    return prompt


Messages = Annotated[list[Message], Field(min_length=1)]
Prompt = StrictStr | Messages


class PairIn(BaseModel):
    prompt: Prompt
    response_a: StrictStr
    response_b: StrictStr

    _prompt = field_validator("prompt")(_ends_in_user)


class PairsIn(BaseModel):
    pairs: Annotated[list[PairIn], Field(min_length=1)]


class RewardItem(BaseModel):
    prompt: Prompt
    response: StrictStr
    reference: StrictStr | None = None

    _prompt = field_validator("prompt")(_ends_in_user)


class RewardsIn(BaseModel):
    items: list[RewardItem]  # empty: empty rewards


class OpenRLHFIn(BaseModel):
    query: list[StrictStr]  # empty: empty rewards and scores (a trainer's empty micro-batch)
    prompts: list[StrictStr] | None = None
    labels: list | None = None
    references: list[StrictStr | None] | None = None


def as_prompt(p) -> str | list[dict]:
    """A validated prompt as the judge takes it: a string, or {"role", "content"} dicts."""
    return p if isinstance(p, str) else [{"role": m.role, "content": m.content} for m in p]


async def read_json(request, max_bytes: int):
    """The body parsed as JSON, read no further than max_bytes (Content-Length or not)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise HTTPError(413, f"request body of {declared} bytes exceeds max_request_bytes={max_bytes}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise HTTPError(413, f"request body of more than {max_bytes} bytes exceeds max_request_bytes={max_bytes}")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except RecursionError:
        raise HTTPError(400, "malformed JSON: nested too deeply") from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, an integer of too many digits
        raise HTTPError(400, f"malformed JSON: {err}") from None


def validated(data, schema):
    """`data` validated against `schema`, or a dict {key: schema when the body has key, None: otherwise}."""
    if isinstance(schema, dict):
        schema = next(
            (v for k, v in schema.items() if k is not None and isinstance(data, dict) and k in data), schema[None]
        )
    try:
        return TypeAdapter(schema).validate_python(data)
    except ValidationError as err:
        raise HTTPError(422, _message(err)) from None
    except RecursionError:
        raise HTTPError(400, "malformed JSON: nested too deeply") from None


def _message(err: ValidationError) -> str:
    """The first errors as `field.path: what is wrong`; of a prompt (text or messages) only the
    errors of the form that was sent."""
    parts = []
    for e in err.errors():
        loc = [str(x) for x in e["loc"]]
        tag = next((x for x in loc if x == "str" or x.startswith("list[")), None)
        if tag == "str" and isinstance(e["input"], list):
            continue
        if tag is not None and tag != "str" and loc[-1] == tag and isinstance(e["input"], str):
            continue
        where = ".".join(x for x in loc if x != tag) or "body"
        parts.append(f"{where}: {e['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts[:5])
