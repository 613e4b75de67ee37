"""The stages of one STaR iteration. Each reads and writes files in iter_<i>/ only, so a rerun can
skip any stage that finished (stages.py) and the stages communicate through those files:

    sample       samples.jsonl        k chains per (pair, order) of part i, by the latest model
                                      (or a bootstrap model / rationales file)
    rationalize  rationalized.jsonl   (STaR-Rationalizer) keys with no right chain, asked again with
                                      the known answer in the prompt
    build        train_set.jsonl      right chains (SFT) or dpo_pairs.jsonl (right vs wrong, DPO)
    train        checkpoint/          LoRA adapter or full model; skipped (and said so) with no rows
    eval         eval/metrics.json    maj@1 / maj@k on every evaluation set, eval/predictions/*.jsonl
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from genrm_exp import distributed
from genrm_exp.atomic import write_jsonl_atomic
from genrm_exp.orders import orders_for
from genrm_exp.prompts import render_pair
from genrm_exp.sampling.closing import close_verdicts
from genrm_exp.star import filtering, policy
from genrm_exp.star.rationales import read_rationales
from genrm_exp.star.sampling import Item, sample_items
from genrm_exp.star.stages import fresh_dir, read_jsonl, replace_dir

ROWS_FILE = {"sft": "train_set.jsonl", "dpo": "dpo_pairs.jsonl"}


def stage_seed(seed: int, iteration: int, stage: str) -> int:
    """The sampling seed of one stage of one iteration (generation.Generator derives each sample's
    own seed from it and the prompt text)."""
    digest = hashlib.sha256(f"star\0{seed}\0{iteration}\0{stage}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def render(judge_cfg, tokenizer, pair, order: str, hint_label: str | None = None, hint: str = "") -> str:
    """The CoT judge prompt for a pair shown in `order` (prompts.render_pair, the renderer every
    judge uses); with `hint_label`, the rationalizer's known answer appended."""
    instruction = filtering.hint_text(hint, hint_label) if hint_label is not None else None
    return render_pair(
        tokenizer,
        judge_cfg,
        pair.prompt_messages(),
        pair.chosen,
        pair.rejected,
        order,
        open_verdict=False,
        instruction=instruction,
    )


class Sampler:
    """The sampling model of a stage, loaded on first use (a fully resumed stage never loads it).
    Called with (items, seed): k texts per item, verdict-less chains closed when star.close_verdict
    is set (genrm_exp/sampling/closing.py)."""

    def __init__(self, ctx, checkpoint: Path | None, *, bootstrap: bool, k: int):
        self.ctx, self.checkpoint, self.bootstrap, self.k = ctx, checkpoint, bootstrap, k
        self._model = self._generator = None
        self.tokenizer = ctx.tokenizer
        if bootstrap:
            from genrm_exp.modeling import load_tokenizer

            self.tokenizer = load_tokenizer(policy.bootstrap_model_cfg(ctx.cfg), cache=ctx.cfg.paths.cache)

    def _load(self) -> None:
        from genrm_exp.judges.factory import judge_dtype
        from genrm_exp.sampling.generation import Generator

        cfg = self.ctx.cfg
        if self.bootstrap:
            model, self.tokenizer = policy.load_bootstrap(cfg)
            model_cfg = policy.bootstrap_model_cfg(cfg)
        else:
            model, model_cfg = policy.latest_model(cfg, self.ctx.tokenizer, self.checkpoint), cfg.model
        self._model = model.to(judge_dtype(cfg.judge, model_cfg, next(model.parameters()).device))
        # judge.backend=vllm: the merged checkpoint is saved once beside it (iter_<i>/vllm_model) for
        # every stage that samples from it; the engine stops when this stage's sampler goes away.
        merged = None if self.bootstrap or self.checkpoint is None else self.checkpoint.parent / "vllm_model"
        self._generator = Generator.from_judge(
            self._model,
            self.tokenizer,
            cfg.judge,
            batch_size=int(cfg.star.batch_size),
            model_dir=merged,
            workdir=self.ctx.run_dir / "vllm",
        )

    def __call__(self, items, seed: int) -> list[dict]:
        from genrm_exp.sampling.generation import SamplingParams

        star = self.ctx.cfg.star
        if self._generator is None:
            self._load()
        params = SamplingParams(
            k=self.k,
            temperature=float(star.temperature),
            top_p=float(star.top_p),
            max_new_tokens=int(star.max_new_tokens),
            seed=seed,
            stop_at_verdict=True,
        )
        prompts = [it.prompt for it in items]
        texts = self._generator.sample(prompts, params, desc="star sample")
        if star.close_verdict is None:
            return [{"texts": t} for t in texts]
        from genrm_exp.judges.direct import DirectJudge

        scorer = DirectJudge(self._model, self.tokenizer, self.ctx.cfg.judge, seed=seed)
        texts, closed = close_verdicts(
            scorer, prompts, texts, close=str(star.close_verdict), temperature=float(star.temperature), seed=seed
        )
        return [{"texts": t, "closed": c} for t, c in zip(texts, closed)]


@dataclass
class Iteration:
    """Iteration `index` on its `part` of the training data. `sampler_checkpoint` is the latest
    model before it (None: the base model); `start_checkpoint` where training starts."""

    ctx: object
    index: int
    part: list
    folder: Path
    sampler_checkpoint: Path | None
    start_checkpoint: Path | None

    @property
    def star(self):
        return self.ctx.cfg.star

    def bootstrapped(self) -> bool:
        b = self.star.bootstrap  # star.bootstrap.iterations: first or all (genrm_exp/validate.py)
        return (b.model is not None or b.rationales_file is not None) and (self.index == 1 or b.iterations == "all")

    def plan(self) -> list[tuple[object, str]]:
        """(pair, order) for every key of this iteration, in part order."""
        seed = int(self.ctx.cfg.seed)
        return [(p, o) for p in self.part for o in orders_for(p.id, seed, str(self.star.order), "star.order")]

    def _fault(self) -> int | None:
        n = self.star.fault.kill_after_chunks
        return None if n is None else int(n)

    def sample(self) -> dict:
        cfg, star = self.ctx.cfg, self.star
        judge = cfg.judge
        seed = stage_seed(int(cfg.seed), self.index, "sample")
        if self.bootstrapped() and star.bootstrap.rationales_file is not None:
            texts = read_rationales(star.bootstrap.rationales_file)
            items = [Item.make(p.id, s, render(judge, self.ctx.tokenizer, p, s)) for p, s in self.plan()]
            info = sample_items(
                self.folder / "samples.jsonl",
                items,
                lambda chunk, _: [texts.get(i.key, []) for i in chunk],
                chunk_size=int(star.chunk_size),
                seed=seed,
            )
            return {
                **info,
                "source": "rationales_file",
                "keys_without_rationales": sum(i.key not in texts for i in items),
            }
        bootstrap = self.bootstrapped()
        sampler = Sampler(self.ctx, self.sampler_checkpoint, bootstrap=bootstrap, k=int(star.k))
        items = [
            Item.make(p.id, s, render(judge, sampler.tokenizer, p, s), render(judge, self.ctx.tokenizer, p, s))
            for p, s in self.plan()
        ]
        info = sample_items(
            self.folder / "samples.jsonl",
            items,
            sampler,
            chunk_size=int(star.chunk_size),
            seed=seed,
            kill_after_chunks=self._fault(),
        )
        return {
            **info,
            "source": "bootstrap_model" if bootstrap else "latest_model",
            "model": self._model_name(bootstrap),
        }

    def _model_name(self, bootstrap: bool) -> str:
        if bootstrap:
            return str(policy.bootstrap_model_cfg(self.ctx.cfg).name)
        return str(self.sampler_checkpoint.relative_to(self.ctx.run_dir)) if self.sampler_checkpoint else "base"

    def rationalize(self) -> dict:
        """Ask again, with the known answer, for the keys where no sampled chain was right. The
        latest model answers (or the bootstrap model, when it sampled this iteration)."""
        star = self.star
        samples = read_jsonl(self.folder / "samples.jsonl")
        wanted = set(filtering.keys_without_right(samples))
        by_id = {p.id: p for p in self.part}
        bootstrap = self.bootstrapped() and star.bootstrap.model is not None
        sampler = Sampler(self.ctx, self.sampler_checkpoint, bootstrap=bootstrap, k=int(star.rationalizer.k))
        items = [
            Item.make(
                row["id"],
                row["order"],
                render(
                    self.ctx.cfg.judge,
                    sampler.tokenizer,
                    by_id[row["id"]],
                    row["order"],
                    hint_label=row["label"],
                    hint=str(star.rationalizer.hint),
                ),
                train_prompt=row["prompt"],
            )
            for row in samples
            if row["key"] in wanted
        ]
        info = sample_items(
            self.folder / "rationalized.jsonl",
            items,
            sampler,
            chunk_size=int(star.chunk_size),
            seed=stage_seed(int(self.ctx.cfg.seed), self.index, "rationalize"),
            kill_after_chunks=self._fault(),
        )
        return {
            **info,
            "rationalized_right_keys": len(items)
            - len(filtering.keys_without_right(read_jsonl(self.folder / "rationalized.jsonl"))),
        }

    def build(self, kind: str) -> dict:
        """The training set from the samples (and rationalized chains): SFT rows or DPO pairs."""
        if kind not in ROWS_FILE:
            raise ValueError(f"STaR training set kind {kind!r}: expected one of {sorted(ROWS_FILE)}")
        samples = read_jsonl(self.folder / "samples.jsonl")
        extra_file = self.folder / "rationalized.jsonl"
        rationalized = read_jsonl(extra_file) if extra_file.is_file() else None
        builder = filtering.sft_rows if kind == "sft" else filtering.dpo_rows
        field = "completion" if kind == "sft" else "chosen"  # the kept chain of a row
        rows, stats = builder(samples, int(self.star.keep_per_pair), rationalized)
        if self.star.balance_verdicts:
            seed = stage_seed(int(self.ctx.cfg.seed), self.index, "balance")
            rows, stats = filtering.balance_verdicts(rows, stats, text=field, seed=seed)
        write_jsonl_atomic(self.folder / ROWS_FILE[kind], rows)
        texts = [r[field] for r in rows]
        tok = self.ctx.tokenizer
        tokens = [len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts]
        return {
            **filtering.sample_stats(samples),
            **stats,
            "file": ROWS_FILE[kind],
            "rationale_tokens_mean": sum(tokens) / len(tokens) if tokens else 0.0,
        }

    def train(self, kind: str, make_trainer: Callable) -> dict:
        """Train from `start_checkpoint` on the built rows; save to checkpoint/ (via a temporary
        folder renamed into place). A kill before that starts the stage over (same rows and seed:
        the same result), or resumes from the trainer's own checkpoints when it saves any."""
        rows = read_jsonl(self.folder / ROWS_FILE[kind])
        if not rows:
            return {
                "skipped": "no training rows (no right chain, or no right/wrong pair, was sampled)",
                "checkpoint": None,
            }
        model, peft_config = policy.start_model(self.ctx.cfg, self.ctx.tokenizer, self.start_checkpoint)
        trainer = make_trainer(
            self.ctx, model, peft_config, rows, stage=self.folder.name, start_checkpoint=self.start_checkpoint
        )
        # With trainer.args.save_strategy=steps, a train stage killed half-way goes on from the
        # trainer's last checkpoint (iter_<i>/trainer/checkpoint-N) instead of starting over.
        resume = any(Path(trainer.args.output_dir).glob("checkpoint-*"))
        result = trainer.train(resume_from_checkpoint=True if resume else None)
        tmp = self.folder / ".checkpoint.tmp"
        if distributed.is_main():
            fresh_dir(tmp)
        distributed.barrier()
        trainer.save_model(str(tmp))  # every rank (ZeRO-3 gathers the weights); rank 0 writes
        distributed.barrier()
        if distributed.is_main():
            replace_dir(tmp, self.folder / "checkpoint")
        return {
            "rows": len(rows),
            "steps": int(trainer.state.global_step),
            "train_loss": float(result.training_loss),
            "started_from": str(self.start_checkpoint.relative_to(self.ctx.run_dir))
            if self.start_checkpoint
            else "base",
            "checkpoint": "checkpoint",
        }
