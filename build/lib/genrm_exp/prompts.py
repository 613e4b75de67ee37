"""Judge prompts: the pairwise judge prompt (conf/judge/*.yaml) rendered through the chat template.

    text = render_pair(tokenizer, cfg.judge, pair.prompt_messages(), pair.chosen, pair.rejected, "BA",
                       open_verdict=True)                            # ends in "[[" (direct / GenRM)
    enc = encode_for_verdict(tokenizer, text)                        # context ids + the A / B token ids

`render_pair` is the one renderer of a pair in an order (genrm_exp/orders.py): GenRM, PairRM and
STaR training, every judge's evaluation and the API all call it, so the text a judge is trained on
is the text it is evaluated on.

The texts are values in YAML (`judge.system`, `judge.user` with {question}, {answer_a}, {answer_b},
`judge.turn_template` for earlier turns of multi-turn prompts); this module only assembles them.
Direct scoring and GenRM training both go through `encode_for_verdict`, so the token scored at
evaluation is exactly the token trained.

Test: python -m pytest tests/test_prompts.py -q
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from genrm_exp.errors import UserError

STYLES = ("direct", "cot")
VERDICT_OPEN = "[["
VERDICT_CLOSE = "]]"
USER_FIELDS = frozenset({"question", "answer_a", "answer_b"})
_ROLE_NAMES = {"system": "System", "user": "User", "assistant": "Assistant"}


class PromptError(UserError, ValueError):
    """A judge configuration or tokenizer that cannot render or score a judge prompt."""


def _fields(template: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as err:  # an unmatched brace
        raise PromptError(f"judge template {template[:60]!r}...: {err} (double literal braces: {{{{ }}}})") from err


def check_judge_cfg(judge_cfg: Mapping[str, Any]) -> None:
    """Fail early, naming the key, when the judge config cannot render a prompt."""
    if judge_cfg["style"] not in STYLES:
        raise PromptError(f"judge.style={judge_cfg['style']!r}: expected one of {list(STYLES)}")
    found = _fields(judge_cfg["user"])
    if found != USER_FIELDS:
        raise PromptError(f"judge.user has placeholders {sorted(found)}; expected exactly {sorted(USER_FIELDS)}")
    found = _fields(judge_cfg["turn_template"])
    if found != {"role", "content"}:
        raise PromptError(f"judge.turn_template has placeholders {sorted(found)}; expected ['content', 'role']")


def question_text(prompt_messages: Sequence[Mapping[str, str]], turn_template: str) -> str:
    """The question as the judge reads it: a lone user message as it is; a conversation (earlier
    turns, a system message) as one `turn_template` block per message, oldest first."""
    if not prompt_messages or prompt_messages[-1]["role"] != "user":
        raise PromptError("a judged prompt must be a non-empty conversation ending with a user message")
    if len(prompt_messages) == 1:
        return prompt_messages[0]["content"]
    blocks = []
    for m in prompt_messages:
        if m["role"] not in _ROLE_NAMES:
            raise PromptError(f"message role {m['role']!r}: expected one of {list(_ROLE_NAMES)}")
        blocks.append(turn_template.format(role=_ROLE_NAMES[m["role"]], content=m["content"]))
    return "\n\n".join(blocks)


def judge_messages(judge_cfg, prompt_messages: list[dict], response_a: str, response_b: str) -> list[dict]:
    """Chat messages for the judge (system + user), in the style of `judge_cfg.style`.

    `response_a` is shown first. Multi-turn prompts are written into the question (see `question_text`).
    """
    check_judge_cfg(judge_cfg)
    question = question_text(prompt_messages, judge_cfg["turn_template"])
    user = judge_cfg["user"].format(question=question, answer_a=response_a, answer_b=response_b)
    return [{"role": "system", "content": judge_cfg["system"]}, {"role": "user", "content": user}]


def render_pair(
    tokenizer,
    judge_cfg,
    prompt_messages: list[dict],
    first: str,
    second: str,
    order: str,
    *,
    open_verdict: bool,
    instruction: str | None = None,
) -> str:
    """The judge prompt for a pair stored as (first, second) shown in `order` ("AB": first as A;
    "BA": swapped), chat-templated with the assistant turn opened (and "[[" with `open_verdict`).
    `instruction` is appended to the user message (the STaR rationalizer's hint)."""
    from genrm_exp.orders import shown

    messages = judge_messages(judge_cfg, prompt_messages, *shown(first, second, order))
    if instruction:
        messages[-1] = {**messages[-1], "content": f"{messages[-1]['content']}\n\n{instruction}"}
    return render_judge(tokenizer, messages, open_verdict=open_verdict)


def render_judge(tokenizer, messages: list[dict], *, open_verdict: bool) -> str:
    """Chat-templated text with the assistant turn opened; `open_verdict=True` appends "[[" so the
    next token is the verdict letter (direct scoring and GenRM)."""
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return text + VERDICT_OPEN if open_verdict else text


def encode_text(tokenizer, text: str) -> list[int]:
    """Token ids of an already chat-templated text (its special tokens are in the text)."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


@dataclass(frozen=True)
class VerdictEncoding:
    """`context_ids`: the tokens the model reads; `token_a` / `token_b`: the verdict token that
    follows for A and for B. Training appends one of them; scoring compares their logits."""

    context_ids: list[int]
    token_a: int
    token_b: int

    def with_verdict(self, verdict: str) -> list[int]:
        if verdict not in ("A", "B"):
            raise ValueError(f"verdict {verdict!r}: expected 'A' or 'B'")
        return [*self.context_ids, self.token_a if verdict == "A" else self.token_b]


def encode_for_verdict(tokenizer, rendered_open: str) -> VerdictEncoding:
    """Split `rendered_open + "A"` and `+ "B"` into a common context and one verdict token each.

    With most tokenizers the context is the tokens of `rendered_open` (ending in "[[") and the verdict
    token is the letter. A tokenizer that merges the letter with the bracket before it (e.g. "[A")
    gives a context one token shorter and the merged tokens as verdicts: still exactly one token to
    score. Anything else is an error, since no single token would carry the verdict.
    """
    if not rendered_open.endswith(VERDICT_OPEN):
        raise PromptError("encode_for_verdict needs a text rendered with open_verdict=True (ending in '[[')")
    ids_a, ids_b = encode_text(tokenizer, rendered_open + "A"), encode_text(tokenizer, rendered_open + "B")
    common = 0
    for x, y in zip(ids_a, ids_b):
        if x != y:
            break
        common += 1
    if len(ids_a) != common + 1 or len(ids_b) != common + 1:
        tail_a = tokenizer.convert_ids_to_tokens(ids_a[common:])
        tail_b = tokenizer.convert_ids_to_tokens(ids_b[common:])
        raise PromptError(
            f"{type(tokenizer).__name__}: the verdict is not one token after the opened '[[' "
            f"(A -> {tail_a}, B -> {tail_b}); direct scoring and GenRM need a single verdict token"
        )
    return VerdictEncoding(ids_a[:common], ids_a[common], ids_b[common])


def judge_overhead(tokenizer, judge_cfg) -> int:
    """Tokens the judge prompt adds around the texts it shows (chat template, instructions, the
    opened verdict and one verdict token): what the data budget must leave for them."""
    messages = judge_messages(judge_cfg, [{"role": "user", "content": ""}], "", "")
    return len(encode_text(tokenizer, render_judge(tokenizer, messages, open_verdict=True))) + 1
