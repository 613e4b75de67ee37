"""Reward scoring: batched template tokenization equals the one-by-one chat template, and the
left / right padding helper keeps every token."""

from __future__ import annotations

from genrm_exp.judges.reward import chat_ids, pad_batch


def test_batched_chat_ids_equal_the_chat_template(tokenizer):
    items = [
        ([{"role": "user", "content": "Hi there"}], "Hello!"),
        ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q?"}], "A."),
    ]
    one_by_one = [
        list(tokenizer.apply_chat_template([*m, {"role": "assistant", "content": r}], tokenize=True, return_dict=False))
        for m, r in items
    ]
    assert chat_ids(tokenizer, items) == one_by_one  # no cut: the data layer fitted the texts


def test_pad_batch_left_and_right():
    right = pad_batch([[1, 2, 3], [4]], pad_id=0)
    assert right["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert right["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    left = pad_batch([[1, 2, 3], [4]], pad_id=0, left=True)
    assert left["input_ids"].tolist() == [[1, 2, 3], [0, 0, 4]]
    assert left["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]


def test_a_trained_run_without_its_checkpoint_is_refused(tmp_path):
    """Serving a BT run whose checkpoint is gone would score with a random head: refused, named."""
    import pytest
    from omegaconf import OmegaConf
    from support import compose

    from genrm_exp.checkpoints import CheckpointError
    from genrm_exp.judges.factory import for_run

    OmegaConf.save(compose(["objective=bt", "model=tiny_random"], tmp_path), tmp_path / "config.yaml", resolve=True)
    with pytest.raises(CheckpointError, match="objective=bt trains, but the run has no checkpoint"):
        for_run(tmp_path)
