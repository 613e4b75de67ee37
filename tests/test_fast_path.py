"""The speed settings keep results equal: on the same batch, precomputed DPO reference log-probs and
a live reference model give the same loss, activation checkpointing does not change the loss, and
length-grouped sampling visits every example once."""

from __future__ import annotations

import copy

import pytest
import torch
from datasets import Dataset
from support import CACHE, compose

from genrm_exp.modeling import load_model
from genrm_exp.objectives.lengths import group_by_length

ROWS = [
    {"prompt": "Name a colour.", "chosen": "Blue, like the sky on a clear day.", "rejected": "No."},
    {"prompt": "What is 2 + 2?", "chosen": "4", "rejected": "It is 5, because two and two make five."},
    {"prompt": "Say hello in French.", "chosen": "Bonjour !", "rejected": "Hello."},
    {"prompt": "A prime number below 10?", "chosen": "7 is prime.", "rejected": "9"},
]


@pytest.fixture()
def tiny(tokenizer, tmp_path):
    cfg = compose(["model=tiny_random"], tmp_path)
    torch.manual_seed(0)
    return load_model(cfg.model, tokenizer, head="causal_lm", cache=CACHE)


def losses(trainer) -> list[float]:
    trainer.train()
    return [h["loss"] for h in trainer.state.log_history if "loss" in h]


def dpo(model, tokenizer, tmp_path, **overrides):
    from trl import DPOConfig, DPOTrainer

    values = dict(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        max_steps=1,
        learning_rate=0.0,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        bf16=False,
        use_cpu=True,
        seed=0,
        train_sampling_strategy="sequential",
        disable_tqdm=True,
    )
    args = DPOConfig(**{**values, **overrides})
    return DPOTrainer(
        model=model,
        ref_model=copy.deepcopy(model),
        args=args,
        train_dataset=Dataset.from_list(ROWS),
        processing_class=tokenizer,
    )


def test_precomputed_reference_log_probs_give_the_same_dpo_loss(tiny, tokenizer, tmp_path):
    (live,) = losses(dpo(copy.deepcopy(tiny), tokenizer, tmp_path / "a"))
    (pre,) = losses(dpo(copy.deepcopy(tiny), tokenizer, tmp_path / "b", precompute_ref_log_probs=True))
    assert pre == pytest.approx(live, rel=1e-4)
    # the reference equals the policy at step 0, so the DPO loss is exactly log 2
    assert live == pytest.approx(0.6931, abs=1e-3)


def test_activation_checkpointing_does_not_change_the_loss(tiny, tokenizer, tmp_path):
    """Two steps on the same batch: the second loss follows the first step's gradients."""
    run = dict(learning_rate=1e-2, max_steps=2, per_device_train_batch_size=4)
    off = losses(dpo(copy.deepcopy(tiny), tokenizer, tmp_path / "a", activation_checkpointing=False, **run))
    on = losses(dpo(copy.deepcopy(tiny), tokenizer, tmp_path / "b", activation_checkpointing=True, **run))
    assert len(off) == 2 and off[1] != pytest.approx(off[0], abs=1e-6)  # the step moved the loss
    assert on == pytest.approx(off, rel=1e-4)


def test_length_grouping_visits_every_example_once(tiny, tokenizer, tmp_path):
    trainer = group_by_length(
        dpo(tiny, tokenizer, tmp_path, train_sampling_strategy="group_by_length", per_device_train_batch_size=2)
    )
    ds = trainer.train_dataset
    assert ds["length"] == [len(r["prompt_ids"]) + len(r["chosen_ids"]) + len(r["rejected_ids"]) for r in ds]
    order = list(trainer._get_train_sampler(ds))
    assert sorted(order) == list(range(len(ROWS)))
    batches = [next(iter(trainer.get_train_dataloader()))]
    assert batches[0]["input_ids"].shape[0] == 4  # chosen + rejected of 2 pairs
