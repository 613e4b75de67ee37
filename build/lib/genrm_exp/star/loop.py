"""The STaR loop: iterations of sample -> (rationalize) -> build -> train -> eval, resumable.

    python -m genrm_exp objective=star_dpo              # kill it at any point, run it again: it resumes
    python -m genrm_exp experiment=star_demo objective=star_sft

The run folder is fixed by the command line (conf/config.yaml: hydra.run.dir), so rerunning the same
command finds the finished stages (stages.py) and skips them; a sweep (-m) resumes when rerun with the
same hydra.sweep.dir (its job folders are numbered in sweep order). Under several ranks (torchrun,
submitit) sampling and evaluation are sharded over them and training is data-parallel (DDP or
DeepSpeed); rank 0 writes every file (stages.py). What it writes:

    <run>/star_config.json         the settings the stages were made with; a rerun with other
                                   settings stops with the keys that differ (use a new run folder)
    <run>/iter_0/eval/             the base model's evaluation (star.eval_base)
    <run>/iter_<i>/...             see iteration.py
    <run>/iterations.json          per iteration: yield, kept / dropped, rationale length, training,
                                   accuracy (maj@k, and maj@1 when the judge reports it) per set

The objective's judge (judges.replay.ReplayJudge) replays iter_<n>/eval/predictions, so the pipeline's final evaluation (the
run's metrics.json and predictions/) is the last iteration's, without judging it a second time.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from genrm_exp import distributed, resume
from genrm_exp.atomic import write_json_atomic
from genrm_exp.data.splits import fresh_parts
from genrm_exp.errors import ConfigError
from genrm_exp.evaluation import evaluate_run, set_entries
from genrm_exp.judges.replay import ReplayJudge
from genrm_exp.star import policy
from genrm_exp.star.iteration import Iteration
from genrm_exp.star.stages import Stages


@dataclass(frozen=True)
class Recipe:
    """What a STaR objective adds to the loop: the kind of training rows ("sft": right chains;
    "dpo": right vs wrong) and `make_trainer(ctx, model, peft_config, rows, *, stage, start_checkpoint)`."""

    rows: str
    make_trainer: Callable


def cot_judge(ctx, checkpoint: Path | None):
    """The judge of `judge=cot` (k rationales, majority vote) on the model of `checkpoint`, built by
    the factory every generative judge comes from."""
    from genrm_exp.judges.factory import generative

    return generative(policy.latest_model(ctx.cfg, ctx.tokenizer, checkpoint), ctx.tokenizer, ctx.cfg)


def eval_stage(ctx, folder: Path, checkpoint: Path | None) -> dict:
    """Evaluate the model of `checkpoint` on every set into folder/eval; sets already written are
    replayed (a stage killed half-way resumes at the next set). Returns per set the accuracy of the
    majority vote over judge.k chains (maj@k) and of the first chain alone (maj@1)."""
    out = folder / "eval"
    judge = ReplayJudge(out / "predictions", lambda: cot_judge(ctx, checkpoint))
    results = evaluate_run(
        ctx.cfg, judge, ctx.eval_sets, out, device_type=distributed.device().type, fits=ctx.fits, code=ctx.code
    )
    distributed.barrier()  # rank 0 has written every set's predictions, which the summary replays
    if distributed.is_main():
        write_json_atomic(out / "metrics.json", results)
    summary = {}
    for name, m in set_entries(results):
        records = judge.predict(ctx.eval_sets[name], name)  # replayed from the file just written
        maj1 = [r["score_maj1"] for r in records if "score_maj1" in r]
        summary[name] = {
            "accuracy": m["accuracy"],
            "maj1_accuracy": sum(maj1) / len(maj1) if maj1 else None,
            "k": int(ctx.cfg.judge.k),
            **{k: v for k, v in m.items() if k in ("n", "invalid", "ece")},
        }
    benchmarks = results.get("_benchmarks", {})
    if benchmarks:
        summary["_benchmarks"] = {name: {"score": b["score"]} for name, b in benchmarks.items()}
    return summary


def guard(ctx) -> None:
    """Record the settings, the sampling engine and the code on the first run; on a resumption stop
    if the settings or the engine changed (its stages would mix engines), and follow
    `on_code_change` if the code did (stop; rerun: the stages are removed and run again; reuse)."""
    from genrm_exp import code_version

    path = ctx.run_dir / "star_config.json"
    engine = ctx.cfg.judge.engine
    now = {
        **resume.settings(ctx.cfg),
        "_engine": None if engine is None else OmegaConf.to_container(engine),
        "_code": ctx.code,
    }
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        changed = resume.changed(
            {k: v for k, v in saved.items() if k not in ("_engine", "_code")},
            {k: v for k, v in now.items() if k not in ("_engine", "_code")},
        )
        if changed:
            raise ConfigError(
                f"{ctx.run_dir} holds a STaR run made with other settings ({', '.join(changed[:8])}); "
                "rerun with the original settings, or choose another folder (hydra.run.dir=...)"
            )
        before, after = saved.get("_engine"), now["_engine"]
        if before is not None and after is not None and before["backend"] != after["backend"]:
            raise ConfigError(
                f"{ctx.run_dir}: its STaR stages sampled with judge.backend resolved to {before['backend']} "
                f"({before['reason']}), here it resolves to {after['backend']} ({after['reason']}); set "
                f"judge.backend={before['backend']} to go on as it began, or choose another folder"
            )
        if code_version.decide(str(ctx.cfg.on_code_change), saved.get("_code"), f"the STaR run in {ctx.run_dir}"):
            return
        if distributed.is_main():  # on_code_change=rerun: its stages are computed again
            for folder in ctx.run_dir.glob("iter_*"):
                shutil.rmtree(folder)
        distributed.barrier()
    if distributed.is_main():
        write_json_atomic(path, now)


def check(cfg, n_train: int) -> None:
    """What only the data can tell (the settings were checked before it loaded: genrm_exp/validate.py)."""
    star = cfg.star
    if n_train < int(star.iterations):
        raise ConfigError(f"star.iterations={star.iterations} needs at least that many training pairs (have {n_train})")


def run_star(ctx, recipe: Recipe):
    """Run (or resume) every iteration; return the judge that replays the last evaluation."""
    cfg, star = ctx.cfg, ctx.cfg.star
    check(cfg, len(ctx.train))
    guard(ctx)
    n = int(star.iterations)
    parts = fresh_parts(ctx.train, n, int(cfg.seed))
    fault = star.fault.kill_after_stage
    history: list[dict] = []
    if star.eval_base:
        stages = Stages(ctx.run_dir / "iter_0", fault_after=fault)
        history.append({"iteration": 0, "eval": stages.run("eval", lambda: eval_stage(ctx, stages.folder, None))})
        _publish(ctx, history)
    latest: Path | None = None
    for i in range(1, n + 1):
        it = Iteration(
            ctx, i, parts[i - 1], ctx.run_dir / f"iter_{i}", latest, latest if star.init == "latest" else None
        )
        entry, latest = _iteration(ctx, recipe, it, Stages(it.folder, fault_after=fault))
        history.append(entry)
        _publish(ctx, history)
    return ReplayJudge(ctx.run_dir / f"iter_{n}" / "eval" / "predictions")


def _iteration(ctx, recipe: Recipe, it: Iteration, stages: Stages) -> tuple[dict, Path | None]:
    """One iteration's stages; returns its history entry and the latest checkpoint after it."""
    entry: dict = {"iteration": it.index, "pairs": len(it.part), "sample": stages.run("sample", it.sample)}
    if ctx.cfg.objective.rationalize:
        entry["rationalize"] = stages.run("rationalize", it.rationalize)
    entry["build"] = stages.run("build", lambda: it.build(recipe.rows), collective=False)
    entry["train"] = stages.run("train", lambda: it.train(recipe.rows, recipe.make_trainer))
    latest = it.folder / "checkpoint" if entry["train"]["checkpoint"] else it.sampler_checkpoint
    entry["eval"] = stages.run("eval", lambda: eval_stage(ctx, it.folder, latest))
    return entry, latest


def _publish(ctx, history: list[dict]) -> None:
    if distributed.is_main():
        write_json_atomic(ctx.run_dir / "iterations.json", history)
    entry = history[-1]
    values = {"star/iteration": entry["iteration"]}
    for name, m in entry["eval"].items():
        if name.startswith("_"):
            continue
        values.update({f"star/{name}/{k}": v for k, v in m.items() if k not in ("n", "k") and v is not None})
    if "build" in entry:
        values.update({f"star/{k}": entry["build"][k] for k in ("yield", "kept", "rationale_tokens_mean")})
    ctx.tracker.log(values)
