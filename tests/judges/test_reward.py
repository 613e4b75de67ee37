"""Reward scoring: batched template tokenization equals the one-by-one chat template, and the
left / right padding helper keeps every token."""

from __future__ import annotations

from genrm_exp.judges.reward import chat_ids, pad_batch


def test_batched_chat_ids_equal_the_chat_template(tokenizer):
    items = [([{"role": "user", "content": "Hi there"}], "Hello!"),
             ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q?"}], "A.")]
    one_by_one = [list(tokenizer.apply_chat_template([*m, {"role": "assistant", "content": r}], tokenize=True,
                                                     return_dict=False)) for m, r in items]
    assert chat_ids(tokenizer, items) == one_by_one  # no cut: the data layer fitted the texts


def test_pad_batch_left_and_right():
    right = pad_batch([[1, 2, 3], [4]], pad_id=0)
    assert right["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert right["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    left = pad_batch([[1, 2, 3], [4]], pad_id=0, left=True)
    assert left["input_ids"].tolist() == [[1, 2, 3], [0, 0, 4]]
    assert left["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]
