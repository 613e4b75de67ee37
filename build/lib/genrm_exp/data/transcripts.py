"""Anthropic HH-RLHF transcripts (``\\n\\nHuman: … \\n\\nAssistant: …``) as chat messages.

    parse_transcript("\\n\\nHuman: Hi\\n\\nAssistant: Hello\\n\\nHuman: Bye", "prompt")
    # -> (Message("user", "Hi"), Message("assistant", "Hello"), Message("user", "Bye"))

Rules: ``Human`` -> ``user``, ``Assistant`` -> ``assistant``; each turn's text is stripped of the
surrounding whitespace that the markers leave; a transcript may start with ``Human:`` without the
leading blank line (the form of already-split prompts); two consecutive turns of the same speaker
(a few upstream rows have them) are merged with a blank line, so templates that insist on
alternating roles accept the result. Text before the first marker is a ``bad_transcript``.
"""

from __future__ import annotations

import re

from genrm_exp.data.fields import BadRow
from genrm_exp.data.schema import Message

ASSISTANT = "\n\nAssistant:"
_TURN = re.compile(r"\n\n(Human|Assistant):")
_ROLES = {"Human": "user", "Assistant": "assistant"}


def looks_like_transcript(text: str) -> bool:
    """True for text that starts with a ``Human:`` turn (after optional blank lines)."""
    return text.lstrip("\n").startswith("Human:")


def parse_transcript(text: str, label: str) -> tuple[Message, ...]:
    """Messages of a transcript; ``label`` names the key in error messages."""
    if text.startswith("Human:"):
        text = "\n\n" + text
    parts = _TURN.split(text)
    if parts[0].strip() or len(parts) < 3:
        raise BadRow(
            "bad_transcript",
            f"key {label!r} does not start with a '\\n\\nHuman:' turn (expected a Human/Assistant transcript)",
        )
    messages: list[Message] = []
    for speaker, content in zip(parts[1::2], parts[2::2], strict=True):
        role, content = _ROLES[speaker], content.strip()
        if messages and messages[-1].role == role:
            messages[-1] = Message(role, messages[-1].content + "\n\n" + content)
        else:
            messages.append(Message(role, content))
    return tuple(messages)


def split_last_reply(text: str, label: str) -> tuple[str, str]:
    """``(conversation before the last Assistant turn, that turn's text stripped)``."""
    cut = text.rfind(ASSISTANT)
    if cut < 0:
        raise BadRow(
            "bad_transcript", f"key {label!r} has no '\\n\\nAssistant:' turn (expected a Human/Assistant transcript)"
        )
    return text[:cut], text[cut + len(ASSISTANT) :].strip()
