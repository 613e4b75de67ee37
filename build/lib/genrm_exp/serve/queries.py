"""OpenRLHF's remote reward-model request read as (prompt, response, reference) triples.

OpenRLHF (openrlhf/utils/agent.py, `_fetch_rewards_via_http`) posts
`{"query": [prompt + response, ...], "prompts": [prompt, ...], "labels": [label, ...]}` to
`--reward.remote_url` (`--remote_rm_url` in older releases), where each query is the policy's prompt
and response decoded with their special tokens, and reads `rewards` (and `scores`) back.

The rule, per query i:
- the response is the query after `prompts[i]` when the query starts with it; without prompts (or
  when it does not), the text after the last assistant-turn opener of the served model's chat
  template (e.g. "<|im_start|>assistant\n"); else the whole query, with an empty prompt. Trailing
  special tokens (EOS, end of turn) are cut from the response. A query whose prompt is not found
  this way is judged with an empty prompt and counted (/info items.prompt_not_found).
- the prompt, when it is one user turn in the served model's chat template (its default system
  prompt allowed), is unwrapped to that turn's text; any other prompt text is one user turn as is.
- the reference (pairwise judges only) is `references[i]`, else `labels[i]` (OpenRLHF's
  `--data.label_key` pointing at a reference-response column). A blank one is none: OpenRLHF sends
  `labels: [""]` for every query when no label key is configured, and an empty reference would be
  an easy one to beat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SENTINEL = "\u2063GENRM_SERVE_SENTINEL\u2063"


@dataclass(frozen=True)
class Template:
    """The served tokenizer's text around one user turn and the assistant opener that follows it."""

    head: str  # before the user's text (BOS, default system prompt, user opener)
    tail: str  # after it, up to where the assistant's response starts
    opener: str  # the assistant-turn opener alone, e.g. "<|im_start|>assistant\n"
    specials: tuple[str, ...]

    @classmethod
    def of(cls, tokenizer) -> Template:
        specials = tuple(sorted({t for t in tokenizer.all_special_tokens if t}, key=len, reverse=True))
        if tokenizer.chat_template is None:
            return cls("", "", "", specials)
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": SENTINEL}], tokenize=False, add_generation_prompt=True
        )
        bare = tokenizer.apply_chat_template(
            [{"role": "user", "content": SENTINEL}], tokenize=False, add_generation_prompt=False
        )
        head, tail = text.split(SENTINEL, 1)
        opener = text[len(bare) :] if text.startswith(bare) else ""
        return cls(head, tail, opener, specials)

    def strip_specials(self, text: str) -> str:
        changed = True
        while changed:
            changed = False
            for s in self.specials:
                stripped = text.rstrip()
                if stripped.endswith(s):
                    text, changed = stripped[: -len(s)], True
        return text

    def unwrap(self, prompt: str) -> str:
        """The user's text of a prompt that is one user turn in this template, else the prompt."""
        if self.head and prompt.startswith(self.head) and prompt.endswith(self.tail):
            inner = prompt[len(self.head) : len(prompt) - len(self.tail)]
            if not any(s in inner for s in self.specials):  # one turn: no other turn's markers inside
                return inner
        return prompt

    def split(self, query: str, prompt: str | None) -> tuple[str, str, bool]:
        """(user text, response, whether the prompt was found) of one OpenRLHF query."""
        if prompt is not None and query.startswith(prompt):
            return self.unwrap(prompt), self.strip_specials(query[len(prompt) :]), True
        if self.opener and self.opener in query:
            at = query.rindex(self.opener) + len(self.opener)
            return self.unwrap(query[:at]), self.strip_specials(query[at:]), True
        return "", self.strip_specials(query), False


def present(reference) -> str | None:
    """The reference when it is a string with some text, else None (blank is no reference)."""
    return reference if isinstance(reference, str) and reference.strip() else None


def references_of(n: int, references: Sequence | None, labels: Sequence | None) -> list[str | None]:
    """references[i], else labels[i], when it is a string with some text; else None."""
    out: list[str | None] = []
    for i in range(n):
        ref = present(references[i]) if references is not None else None
        if ref is None and labels is not None:
            ref = present(labels[i])
        out.append(ref)
    return out
