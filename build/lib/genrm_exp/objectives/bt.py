"""Bradley-Terry reward model: a scalar head on the LM, loss -log sigmoid(r_chosen - r_rejected),
trained by TRL's RewardTrainer on chat-formatted (prompt, response).

    python -m genrm_exp objective=bt
"""

from __future__ import annotations

from datasets import Dataset
from trl import RewardConfig, RewardTrainer

from genrm_exp import checkpoints
from genrm_exp.modeling import lora_config
from genrm_exp.objectives.lengths import group_by_length
from genrm_exp.objectives.steps import train_and_wrap
from genrm_exp.objectives.trl_args import trl_config


def preference_rows(pairs) -> Dataset:
    """TRL's conversational preference format: prompt messages, chosen / rejected assistant turns."""
    return Dataset.from_list(
        [
            {
                "prompt": p.prompt_messages(),
                "chosen": [{"role": "assistant", "content": p.chosen}],
                "rejected": [{"role": "assistant", "content": p.rejected}],
            }
            for p in pairs
        ]
    )


def make_trainer(ctx) -> RewardTrainer:
    cfg = ctx.cfg
    model = checkpoints.base_model(cfg, ctx.tokenizer, head="reward")
    trainer = RewardTrainer(
        model=model,
        args=trl_config(RewardConfig, ctx),
        train_dataset=preference_rows(ctx.train),
        processing_class=ctx.tokenizer,
        peft_config=lora_config(cfg.peft, cfg.model.lora_targets, head="reward"),
    )
    return group_by_length(trainer)


def build(ctx):
    return train_and_wrap(ctx, make_trainer(ctx))
