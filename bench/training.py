"""Training throughput: stock TRL trainers against the settings genrm-exp runs them with.

Stock = the TRL config's defaults (gradient checkpointing on, random batches, a live DPO reference
forward every step). Ours = the speed settings of conf/trainer/paper.yaml (checkpointing off unless
memory needs it, length-grouped batches) plus STaR-DPO's precomputed reference log-probabilities
(conf/objective/star_dpo.yaml; their precompute time is counted, and no reference copy is kept, as
in the product), Liger kernels where Triton runs, and on CPU TRL's fused LM head over the labelled
positions only (genrm_exp/objectives/fused_head.py). Same model, data, batch and dtype.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import torch
import yaml
from datasets import Dataset
from transformers import TrainerCallback

from bench.shapes import build_model, non_embedding_params, sync
from genrm_exp.objectives import fused_head
from genrm_exp.objectives.lengths import group_by_length

OURS_KEYS = ("activation_checkpointing", "train_sampling_strategy")
CONF = Path(__file__).resolve().parents[1] / "conf"


def our_settings() -> dict:
    args = yaml.safe_load((CONF / "trainer" / "paper.yaml").read_text())["args"]
    return {k: args[k] for k in OURS_KEYS}


def our_dpo_settings() -> dict:
    """What STaR-DPO sets on DPOConfig for speed (conf/objective/star_dpo.yaml): the precomputed reference."""
    args = yaml.safe_load((CONF / "objective" / "star_dpo.yaml").read_text())["args"]
    return {"precompute_ref_log_probs": args["precompute_ref_log_probs"]}


class CountingCollator:
    """Wraps a collator; counts real (attention-mask) and padded tokens of every batch it makes."""

    def __init__(self, inner):
        self.inner, self.real, self.padded = inner, [], []

    def __call__(self, examples):
        batch = self.inner(examples)
        masks = [v for k, v in batch.items() if k.endswith("attention_mask") and torch.is_tensor(v)]
        self.real.append(int(sum(m.sum() for m in masks)))
        self.padded.append(int(sum(m.numel() for m in masks)))
        return batch


class StepTimer(TrainerCallback):
    def __init__(self, device: str):
        self.device, self.times = device, []

    def on_step_begin(self, args, state, control, **kw):
        sync(self.device)
        self._t = time.perf_counter()

    def on_step_end(self, args, state, control, **kw):
        sync(self.device)
        self.times.append(time.perf_counter() - self._t)


def rows(kind: str, texts: list[dict]) -> Dataset:
    if kind == "sft":  # GenRM: judge prompt holding both responses -> verdict token
        data = [
            {
                "prompt": f"Question: {t['prompt']}\n[A] {t['chosen']}\n[B] {t['rejected']}\nWhich is better?",
                "completion": " [[A]]" if i % 2 == 0 else " [[B]]",
            }
            for i, t in enumerate(texts)
        ]
    else:
        data = [dict(t) for t in texts]
    return Dataset.from_list(data)


def run(
    kind: str,
    variant: str,
    *,
    shape: str,
    tokenizer,
    texts: list[dict],
    work,
    device: str,
    warm: int,
    steps: int,
    ceiling: float,
) -> dict:
    from trl import DPOConfig, DPOTrainer, RewardConfig, RewardTrainer, SFTConfig, SFTTrainer

    head = "reward" if kind == "bt" else "causal_lm"
    model = build_model(shape, tokenizer, head=head, device=device)
    n_params = non_embedding_params(model) + (0 if head == "reward" else model.get_output_embeddings().weight.numel())
    common = dict(
        output_dir="/tmp/bench-out",
        per_device_train_batch_size=work.pairs_per_step,
        max_steps=warm + steps,
        learning_rate=1e-6,
        report_to=[],
        save_strategy="no",
        logging_steps=10_000,
        bf16=device == "cuda",
        max_length=work.max_length,
        disable_tqdm=True,
        seed=0,
        dataloader_num_workers=0,
        use_cpu=device == "cpu",
    )
    if variant == "ours":
        common.update(our_settings())
        common["use_liger_kernel"] = device == "cuda" and kind == "sft"
    cls, trainer_cls, extra = {
        "bt": (RewardConfig, RewardTrainer, {}),
        "sft": (SFTConfig, SFTTrainer, {}),
        "dpo": (DPOConfig, DPOTrainer, {"beta": 1.0}),
    }[kind]
    if kind == "dpo" and variant == "ours":
        extra.update(our_dpo_settings())
    args = cls(**common, **extra)
    kwargs = {}
    if kind == "dpo" and not args.precompute_ref_log_probs:  # precomputed: the policy before training is it
        kwargs["ref_model"] = copy.deepcopy(model).eval()
    trainer = trainer_cls(model=model, args=args, train_dataset=rows(kind, texts), processing_class=tokenizer, **kwargs)
    group_by_length(trainer)
    counter = CountingCollator(trainer.data_collator)
    trainer.data_collator = counter
    timer = StepTimer(device)
    trainer.add_callback(timer)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    fused_head.compact_on_cpu(variant == "ours")  # TRL does this on GPUs already; on CPU it is ours
    t0 = time.perf_counter()
    try:
        trainer.train()
    finally:
        fused_head.compact_on_cpu(False)
    setup_s = time.perf_counter() - t0 - sum(timer.times)
    # Precomputing reference log-probs is work the stock path does inside its steps: charge it.
    precompute_s = setup_s if kind == "dpo" and variant == "ours" else 0.0
    measured = timer.times[warm:]
    real = sum(counter.real[-steps:])
    padded = sum(counter.padded[-steps:])
    seconds = sum(measured) + precompute_s * steps / (warm + steps)
    flops_per_token = 6 * n_params + (2 * n_params if kind == "dpo" else 0)  # + reference forward
    tps = real / seconds
    return {
        "objective": kind,
        "variant": variant,
        "tokens_per_s": tps,
        "padding_share": 1 - real / max(padded, 1),
        "mfu": tps * flops_per_token / ceiling,
        "step_s": seconds / steps,
        "peak_mem_gb": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
    }
