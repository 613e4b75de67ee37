"""The judge prompt: YAML texts assembled into chat messages, rendered through the chat template, and
the verdict token found exactly where direct scoring and GenRM training put it."""

from __future__ import annotations

import re

import pytest
from omegaconf import OmegaConf
from support import compose

from genrm_exp.prompts import (
    PromptError,
    encode_for_verdict,
    encode_text,
    judge_messages,
    judge_overhead,
    question_text,
    render_judge,
)


@pytest.fixture(scope="module", params=["direct", "cot"])
def judge_cfg(request):
    return compose([f"judge={request.param}"]).judge


def test_every_judge_config_composes_with_the_mt_bench_prompt(judge_cfg):
    assert judge_cfg.style in ("direct", "cot")
    for phrase in ("impartial judge", "position biases", "length of the responses", '"[[A]]"', '"[[B]]"'):
        assert phrase in judge_cfg.system
    assert "tie" not in judge_cfg.system.lower()  # RewardBench's prompt_v2: ties removed
    assert ("explanation" in judge_cfg.system) == (judge_cfg.style == "cot")


def test_judge_messages_show_question_and_answers_in_order(judge_cfg):
    msgs = judge_messages(judge_cfg, [{"role": "user", "content": "What is 2+2?"}], "four", "five")
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert msgs[0]["content"] == judge_cfg.system
    user = msgs[1]["content"]
    assert user.index("What is 2+2?") < user.index("four") < user.index("five")
    assert "[The Start of Assistant A's Answer]\nfour\n[The End of Assistant A's Answer]" in user


def test_braces_in_texts_are_shown_verbatim(judge_cfg):
    user = judge_messages(judge_cfg, [{"role": "user", "content": "f'{x}'"}], "{answer_b}", "}{")[1]["content"]
    assert "f'{x}'" in user and "{answer_b}" in user and "}{" in user


def test_multi_turn_prompt_becomes_a_transcript_in_the_question():
    turn = "### {role}:\n{content}"
    prompt = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert (
        question_text(prompt, turn)
        == "### System:\nBe brief.\n\n### User:\nHi\n\n### Assistant:\nHello\n\n### User:\nCapital of France?"
    )
    assert question_text(prompt[-1:], turn) == "Capital of France?"
    with pytest.raises(PromptError, match="ending with a user message"):
        question_text(prompt[:3], turn)


def test_render_through_chat_template_and_open_the_verdict(tokenizer, judge_cfg):
    msgs = judge_messages(judge_cfg, [{"role": "user", "content": "Q"}], "a", "b")
    plain = render_judge(tokenizer, msgs, open_verdict=False)
    assert plain == tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert plain.endswith("<|im_start|>assistant\n")
    assert render_judge(tokenizer, msgs, open_verdict=True) == plain + "[["


def test_verdict_token_is_the_letter_after_the_opened_brackets(tokenizer, judge_cfg):
    text = render_judge(
        tokenizer, judge_messages(judge_cfg, [{"role": "user", "content": "Q"}], "a", "b"), open_verdict=True
    )
    enc = encode_for_verdict(tokenizer, text)
    assert enc.context_ids == encode_text(tokenizer, text)
    assert tokenizer.decode([enc.token_a]) == "A" and tokenizer.decode([enc.token_b]) == "B"
    assert enc.with_verdict("B") == [*enc.context_ids, enc.token_b]
    with pytest.raises(PromptError, match="open_verdict=True"):
        encode_for_verdict(tokenizer, text[:-2])


class _RegexTokenizer:
    """Tokens are the matches of a regex, ids given in order of first sight."""

    def __init__(self, pattern: str):
        self.vocab: dict[str, int] = {}
        self.pattern = re.compile(pattern)

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [self.vocab.setdefault(t, len(self.vocab)) for t in self.pattern.findall(text)]}

    def convert_ids_to_tokens(self, ids):
        inverse = {v: k for k, v in self.vocab.items()}
        return [inverse[i] for i in ids]


def test_a_tokenizer_merging_bracket_and_letter_scores_the_merged_token():
    tok = _RegexTokenizer(r"[^\w\s]?[A-Za-z]+|[^\w\s]|\s+|\w+")  # like Llama-3: "[[A" -> "[", "[A"
    enc = encode_for_verdict(tok, "Judge: [[")
    assert tok.convert_ids_to_tokens([enc.token_a, enc.token_b]) == ["[A", "[B"]
    assert tok.convert_ids_to_tokens(enc.context_ids) == ["Judge", ":", " ", "["]


def test_a_verdict_spread_over_two_tokens_is_refused():
    tok = _RegexTokenizer(r"\[A|.")  # "[A" is a token, "[B" is not
    with pytest.raises(PromptError, match=r"not one token after the opened '\[\['.*B -> \['\[', 'B'\]"):
        encode_for_verdict(tok, "J: [[")


def test_judge_config_errors_name_the_key(judge_cfg):
    bad = OmegaConf.merge(judge_cfg, {"user": "{question} {answer_a}"})
    with pytest.raises(PromptError, match=r"judge.user has placeholders \['answer_a', 'question'\]"):
        judge_messages(bad, [{"role": "user", "content": "Q"}], "a", "b")
    with pytest.raises(PromptError, match="judge.style='verbose'"):
        judge_messages(OmegaConf.merge(judge_cfg, {"style": "verbose"}), [{"role": "user", "content": "Q"}], "a", "b")
    with pytest.raises(PromptError, match="unmatched|Single"):
        judge_messages(
            OmegaConf.merge(judge_cfg, {"user": "{question} {answer_a} {answer_b} {"}),
            [{"role": "user", "content": "Q"}],
            "a",
            "b",
        )


def test_overhead_counts_everything_but_the_shown_texts(tokenizer, judge_cfg):
    msgs = judge_messages(judge_cfg, [{"role": "user", "content": ""}], "", "")
    empty = len(encode_text(tokenizer, render_judge(tokenizer, msgs, open_verdict=True)))
    assert judge_overhead(tokenizer, judge_cfg) == empty + 1
    assert empty > 150  # the MT-Bench instructions are long: a budget must leave room for them
