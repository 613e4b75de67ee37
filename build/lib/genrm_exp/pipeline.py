"""One run, as a list of steps: check -> data -> tokenizer -> fit -> objective (train) -> evaluation -> outputs.

    python -m genrm_exp                         # the defaults (see conf/config.yaml)
    python -m genrm_exp model=tiny_random trainer=debug

The composed config is checked whole before anything loads (genrm_exp/validate.py), the sampling
engine is resolved once (judge.engine) and the code version taken (genrm_exp/code_version.py). Each
step communicates through the run folder: config.yaml (resolved, judge.engine included), data.json
(what loading kept and dropped, what fitting cut, the fingerprint of each evaluation set as scored),
predictions/<set>.jsonl, metrics.json (written last: per set its accuracy, fingerprint and protocol;
genrm_exp/run_files.py). The data come from data/sets.py and are fitted by data/fitting.py given the
objective's template overhead; evaluation sets by a rule that ignores the objective, so every
method of a grid scores the same text. Returns the held-out accuracy for sweepers. A folder that
already holds a finished run of the same settings is reused (resume.py).
"""

from __future__ import annotations

import json
import time
import traceback
from pathlib import Path

from omegaconf import OmegaConf

from genrm_exp.data.fitting import chat_overhead, fit_eval, fit_sets
from genrm_exp.data.sets import load_data
from genrm_exp.run_files import BENCHMARKS_KEY, CONFIG_FILE, DATA_FILE, ERROR_FILE, METRICS_FILE, RUN_KEY, set_entries

__all__ = ["fit", "fit_eval", "load_data", "resolve_engine", "run"]  # fit_eval, load_data: from data/


def train_overhead(tokenizer, cfg) -> int:
    """Tokens the objective's template takes around the texts of one training sequence: the judge
    prompt for objectives that train on it (objective.uses_judge_prompt), else the chat template."""
    if cfg.objective.uses_judge_prompt:
        from genrm_exp.prompts import judge_overhead

        return judge_overhead(tokenizer, cfg.judge)
    return chat_overhead(tokenizer)


def fit(cfg, tokenizer, train: list, eval_sets: dict[str, list], report: dict):
    """data/fitting.py's fit_sets with this run's training template overhead (train_overhead)."""
    overhead = train_overhead(tokenizer, cfg) if cfg.objective.trains else 0
    return fit_sets(cfg, tokenizer, train, eval_sets, report, train_overhead=overhead)


def resolve_engine(cfg, device_type: str) -> dict:
    """judge.engine: the engine judge.backend resolves to here (once per run); an `auto` that falls
    back to static says why in one line."""
    from genrm_exp.sampling.generation import head_dim_of
    from genrm_exp.sampling.generation import resolve_engine as resolve

    model_config = cfg.model.get("config")
    engine = resolve(cfg.judge, cfg.model, device_type, head_dim_of(model_config) if model_config else None)
    cfg.judge.engine = engine
    return engine


def run(cfg, run_dir: Path, overrides: list[str]) -> float:
    """The job. Under several ranks every rank runs it; only rank 0 writes files, prints and logs
    (genrm_exp.distributed), and every rank returns the same metric."""
    from genrm_exp import code_version, costs, distributed, resume, validate
    from genrm_exp.context import RunContext
    from genrm_exp.evaluation import evaluate_run, write_json_atomic
    from genrm_exp.modeling import load_tokenizer
    from genrm_exp.objectives import build
    from genrm_exp.report.tables import print_metrics
    from genrm_exp.tracking import Tracker, run_name_from

    started = time.time()
    try:
        validate.check(cfg)  # the whole config, before anything loads
    except BaseException:
        _refused(cfg, run_dir)
        raise
    ranks = distributed.setup(deepspeed=cfg.deepspeed.config is not None)
    main = distributed.is_main()
    say = print if main else (lambda _: None)
    device_type = distributed.device().type
    engine = resolve_engine(cfg, device_type)
    if engine["reason"].startswith("auto: ") and engine["backend"] == "static" and validate.samples(cfg):
        say(
            f"[genrm_exp] warning: judge.backend=auto samples with static here ({engine['reason'].removeprefix('auto: ')})"
        )
    code = code_version.current()
    # Each rank's Hydra named its own folder (a timestamp); rank 0's is the run's.
    run_dir = Path(distributed.broadcast(str(run_dir)))
    if resume.finished(cfg, run_dir, log=say):
        return _reuse(run_dir, main)
    costs.reset()
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg, resolve=True))
        (run_dir / ERROR_FILE).unlink(missing_ok=True)
    tracker = Tracker.start(cfg, run_dir, run_name_from(cfg, overrides), job_type=str(cfg.objective.name))
    exit_code = 1
    try:
        train, eval_sets, data_report = load_data(cfg)
        tokenizer = load_tokenizer(cfg.model, cache=cfg.paths.cache)
        train, eval_sets, fits = fit(cfg, tokenizer, train, eval_sets, data_report)
        if main:
            (run_dir / DATA_FILE).write_text(json.dumps(data_report, indent=2, default=str))
        ctx = RunContext(cfg, run_dir, tokenizer, train, eval_sets, tracker, data_report, fits=fits, code=code)
        t_objective = time.time()
        judge = build(cfg.objective.name, ctx)
        t_eval = time.time()
        results = evaluate_run(
            cfg,
            judge,
            eval_sets,
            run_dir,
            device_type=device_type,
            fits=fits,
            code=code,
            tracker=tracker,
            model_name=str(cfg.model.name),
        )
        seconds = time.time() - started
        results[RUN_KEY] = {
            "objective": cfg.objective.name,
            "model": cfg.model.name,
            "run_name": tracker.run_name,
            "overrides": list(overrides),
            "train_pairs": len(train),
            "learning_rate": _learning_rate(cfg),
            "engine": OmegaConf.to_container(cfg.judge.engine),
            "code": code,
            "seconds_total": round(seconds, 1),
            # The objective's own work: training, and for STaR its sampling and per-iteration evaluations.
            "seconds_objective": round(t_eval - t_objective, 1),
            "seconds_eval": round(time.time() - t_eval, 1),
            **costs.run_cost(seconds, ranks.world_size),
        }
        if main:
            write_json_atomic(run_dir / METRICS_FILE, results)
            tracker.summary(_flat(results))
            print_metrics(results, title=f"{tracker.run_name}  ({run_dir})")
        exit_code = 0
        heldout = results.get("heldout")
        return float(heldout["accuracy"]) if heldout else float("nan")
    except BaseException:
        # The report lists this run as failed with the error's last line; the traceback is kept.
        if main:
            (run_dir / ERROR_FILE).write_text(traceback.format_exc())
        raise
    finally:
        tracker.finish(exit_code)
        if exit_code == 0:  # a failed rank skips the closing barrier, which the others would wait in
            distributed.teardown()


def _refused(cfg, run_dir: Path) -> None:
    """A config the check refused: a folder without a finished run gets config.yaml and error.txt (a
    sweep's report lists the cell as FAILED with the reason); a finished run's folder is left as it was."""
    from genrm_exp import distributed

    if not distributed.is_main() or (run_dir / METRICS_FILE).exists():
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        text = OmegaConf.to_yaml(cfg, resolve=True)
    except Exception:  # an interpolation may be what was refused
        text = OmegaConf.to_yaml(cfg)
    (run_dir / CONFIG_FILE).write_text(text)
    (run_dir / ERROR_FILE).write_text(traceback.format_exc())


def _learning_rate(cfg) -> float | None:
    """The objective's resolved learning rate (trainer.args.learning_rate x objective.lr_scale)."""
    if not cfg.objective.trains:
        return None
    from genrm_exp.objectives.trl_args import learning_rate

    return learning_rate(cfg)


def _reuse(run_dir: Path, main: bool) -> float:
    """The finished run's metric, its table printed again; nothing is computed or logged."""
    from genrm_exp import distributed
    from genrm_exp.report.tables import print_metrics

    results = json.loads((run_dir / METRICS_FILE).read_text(encoding="utf-8"))
    if main:
        print_metrics(results, title=f"{run_dir}: finished earlier, reused (rerun=true runs it again)")
    distributed.teardown()
    heldout = results.get("heldout")
    return float(heldout["accuracy"]) if heldout else float("nan")


def _flat(results: dict) -> dict:
    """W&B summary keys: <set>/<metric> and <benchmark>/<section>."""

    out = {
        f"{name}/{key}": value
        for name, entry in set_entries(results)
        for key, value in entry.items()
        if isinstance(value, (int, float, str, bool))
    }
    for bench, entry in results.get(BENCHMARKS_KEY, {}).items():
        if entry.get("score") is not None:
            out[f"{bench}/score"] = entry["score"]
        out.update({f"{bench}/{k}": v for k, v in entry.get("sections", {}).items()})
    return out
