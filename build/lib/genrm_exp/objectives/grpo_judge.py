"""GRPO judge (J1, Whitehouse et al. 2025, arXiv 2505.10320): the chain-of-thought judge trained on
its own samples by TRL's GRPOTrainer, rewarded for verdict correctness. Beyond the paper.

    python -m genrm_exp experiment=smoke objective=grpo_judge          # a CPU smoke run, < 1 minute
    python -m genrm_exp objective=grpo_judge objective.args.beta=0.0   # no KL term

Each training pair becomes two rows, adjacent: its CoT judge prompt (prompts.render_pair, the text
the judge is evaluated on) in order AB, then in order BA, with the right verdict as shown (`answer`),
`pair_id`, `order` and `closing`. TRL samples `num_generations` chains per row; the rewards of
objective.rewards (judge_rewards.py, weights = GRPOConfig.reward_weights) score each through the one
verdict parser, and TRL logs each reward by name at every step (trainer_state.json log_history:
rewards/<name>/mean).

A chain of no thought (`judge.max_new_tokens=0` with `judge.close_verdict`, as STaR and the CoT
judge allow): each prompt ends in the closing text (e.g. " Final verdict: [["), the completion is the
verdict after it (max_completion_length: the tokens of "A]]" or "B]]", whichever is longer) and the
rewards read closing + completion, the text the CoT judge is evaluated on (its letter drawn by the
model's odds after the same closing). This is RL on the verdict token alone; with thought, the
rewards read only what the judge wrote: a chain that ends without a verdict scores 0, though
evaluation would close it.

How a batch holds both orders of a pair (both_orders_correct needs them in one call): TRL scores one
generation batch per process at a time, per_device_train_batch_size x steps_per_generation
completions (steps_per_generation defaults to gradient_accumulation_steps). PairSampler replaces
TRL's RepeatSampler: it shuffles pairs, not rows, and emits each pair as 2 x num_generations
consecutive indices (AB's num_generations copies, then BA's). validate.py requires the generation
batch to be a multiple of 2 x num_generations, so every process's batch starts on a pair and holds
whole pairs; accelerate hands each process whole consecutive batches.

The model trains with LoRA (the reference model is the adapter switched off) or in full (the
reference is a second copy; a model built in memory is first saved to train/reference/, because TRL
loads the reference by the policy's name). A run killed mid-training resumes from TRL's last
train/trainer/checkpoint-N (objective.args.save_strategy=steps); train/trainer_state.json holds
the whole run's log_history. The trained judge is evaluated by
the CoT judge of conf/judge/cot.yaml, like STaR's (maj@1, maj@k, judge.order).
"""

from __future__ import annotations

from pathlib import Path

import torch
from datasets import Dataset
from torch.utils.data import Sampler
from trl import GRPOConfig, GRPOTrainer

from genrm_exp import checkpoints, distributed
from genrm_exp.errors import ConfigError
from genrm_exp.modeling import lora_config
from genrm_exp.objectives import fused_head
from genrm_exp.objectives.judge_rewards import REWARDS
from genrm_exp.objectives.steps import train_and_wrap
from genrm_exp.objectives.trl_args import trl_config
from genrm_exp.orders import ORDERS, label_as_shown
from genrm_exp.prompts import VERDICT_CLOSE, encode_text, render_pair
from genrm_exp.verdicts import A, B


def closing(judge_cfg) -> str:
    """The text each prompt ends in and the rewards read before the completion: the closing for a
    chain of no thought (judge.max_new_tokens=0), else nothing."""
    if int(judge_cfg.max_new_tokens) != 0:
        return ""
    if judge_cfg.close_verdict is None:  # validate.no_thought refuses this before a run
        raise ConfigError("judge.max_new_tokens=0 with no judge.close_verdict: the completion has no verdict to open")
    return str(judge_cfg.close_verdict)


def verdict_length(tokenizer) -> int:
    """Tokens a verdict takes after the closing's "[[": the longer of "A]]" and "B]]"."""
    return max(len(encode_text(tokenizer, f"{v}{VERDICT_CLOSE}")) for v in (A, B))


def judge_rows(pairs, tokenizer, judge_cfg) -> Dataset:
    """Rows 2i and 2i+1 are pair i shown AB and BA: prompt text (ending in the closing, if any),
    answer as shown, pair_id, order, closing."""
    close = closing(judge_cfg)
    return Dataset.from_list(
        [
            {
                "prompt": render_pair(
                    tokenizer, judge_cfg, p.prompt_messages(), p.chosen, p.rejected, order, open_verdict=False
                )
                + close,
                "answer": label_as_shown(order),
                "pair_id": p.id,
                "order": order,
                "closing": close,
            }
            for p in pairs
            for order in ORDERS
        ]
    )


class PairSampler(Sampler):
    """TRL's RepeatSampler over pairs (rows 2i, 2i+1): each chunk of `batch_size` rows (whole pairs)
    is yielded `repeat_count` times, every row `mini_repeat_count` times in a row, so a pair's two
    orders and all their generations are adjacent. Pairs are shuffled under `seed`; a last chunk
    that is not whole is dropped, as RepeatSampler does."""

    def __init__(self, num_rows: int, mini_repeat_count: int, batch_size: int, repeat_count: int, seed: int):
        if num_rows % 2 or batch_size % 2:
            raise ValueError(f"PairSampler: rows ({num_rows}) and rows per chunk ({batch_size}) must be even")
        self.num_pairs, self.mini, self.pairs_per_chunk, self.repeat = (
            num_rows // 2,
            mini_repeat_count,
            batch_size // 2,
            repeat_count,
        )
        self.generator = torch.Generator().manual_seed(int(seed))

    def __iter__(self):
        pairs = torch.randperm(self.num_pairs, generator=self.generator).tolist()
        for start in range(0, len(pairs) - self.pairs_per_chunk + 1, self.pairs_per_chunk):
            chunk = pairs[start : start + self.pairs_per_chunk]
            for _ in range(self.repeat):
                for pair in chunk:
                    for row in (2 * pair, 2 * pair + 1):
                        yield from [row] * self.mini

    def __len__(self) -> int:
        return (self.num_pairs // self.pairs_per_chunk) * self.pairs_per_chunk * 2 * self.mini * self.repeat


class JudgeGRPOTrainer(GRPOTrainer):
    """GRPOTrainer with two changes: PairSampler (both orders of a pair in one generation batch), and
    prompts tokenized as rendered (render_pair's text already holds the chat template's special
    tokens; TRL's plain-text path would add a second BOS on tokenizers that add one)."""

    def _get_train_sampler(self, dataset=None) -> Sampler:
        return PairSampler(
            len(dataset if dataset is not None else self.train_dataset),
            mini_repeat_count=self.num_generations,
            batch_size=self.args.generation_batch_size // self.num_generations,
            repeat_count=self.num_iterations * self.args.steps_per_generation,
            seed=self.args.seed,
        )

    def _tokenize_prompts(self, prompts: list):
        if not isinstance(prompts[0], str):
            return super()._tokenize_prompts(prompts)
        return self.processing_class(text=prompts, add_special_tokens=False)["input_ids"], None, {}


def rewards(objective_cfg) -> tuple[list, list[float]]:
    """The reward functions of objective.rewards (name -> weight) and their weights, in that order."""
    names = list(objective_cfg.rewards)
    return [REWARDS[n] for n in names], [float(objective_cfg.rewards[n]) for n in names]


def _reference_folder(ctx, model, args) -> None:
    """Full fine-tuning with a KL term: TRL loads the reference model by the policy's name, which a
    model built in memory (tiny_random, the embedded GGUF) does not have; save the starting weights
    to train/reference/ and name them."""
    if args.beta == 0.0 or ctx.cfg.peft.enabled or str(ctx.cfg.model.source) == "hub":
        return
    folder = ctx.path("train", "reference")
    if distributed.is_main():
        model.save_pretrained(str(folder))
    distributed.barrier()
    model.config._name_or_path = str(folder)


def make_trainer(ctx) -> JudgeGRPOTrainer:
    cfg = ctx.cfg  # judge.style is cot and the batch holds whole pairs (genrm_exp/validate.py)
    funcs, weights = rewards(cfg.objective)
    model = checkpoints.base_model(cfg, ctx.tokenizer, head="causal_lm")
    # GRPOConfig has no max_length: prompts are fitted by the data layer, completions by max_completion_length.
    no_thought = {"max_completion_length": verdict_length(ctx.tokenizer)} if closing(cfg.judge) else {}
    args = trl_config(GRPOConfig, ctx, max_length=None, reward_weights=weights, **no_thought)
    _reference_folder(ctx, model, args)
    fused_head.compact_on_cpu(True)  # log-probabilities of completion tokens only, on CPU too
    return JudgeGRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=args,
        train_dataset=judge_rows(ctx.train, ctx.tokenizer, cfg.judge),
        processing_class=ctx.tokenizer,
        peft_config=lora_config(cfg.peft, cfg.model.lora_targets, head="causal_lm"),
    )


def build(ctx):
    trainer = make_trainer(ctx)
    resume = any(Path(trainer.args.output_dir).glob("checkpoint-*"))
    judge = train_and_wrap(ctx, trainer, resume=resume)
    if distributed.is_main():  # every step's rewards by name, whatever save_steps kept
        trainer.state.save_to_json(str(ctx.path("train", "trainer_state.json")))
    return judge
