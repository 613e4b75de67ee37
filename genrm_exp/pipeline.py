"""One run, as a list of steps: data -> tokenizer -> objective (train) -> evaluation -> outputs.

    python -m genrm_exp                         # the defaults (see conf/config.yaml)
    python -m genrm_exp model=tiny_random trainer=debug

Each step communicates through the run folder: config.yaml, data.json (what loading kept and
dropped, what fitting cut, the fingerprint of each evaluation set as scored),
predictions/<set>.jsonl, metrics.json (written last). Evaluation sets are fitted once by a rule that
ignores the objective (fit_eval), so every method of a grid scores the same text. Returns the held-out accuracy for
sweepers. A folder that already holds a finished run of the same settings is reused (resume.py).
"""

from __future__ import annotations

import json
import time
import traceback
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from genrm_exp.data.budget import Budget, TruncationCounter, fit_pair_text
from genrm_exp.data.fingerprint import fingerprint
from genrm_exp.data.loaders import load_pairs
from genrm_exp.data.splits import cap_whole_items, split_heldout

# Written into the run folder when the job raises; genrm_exp.report shows its last line.
ERROR_FILE = "error.txt"
# Re-encoding cut text can shift a count by a token or two at each cut.
TEMPLATE_MARGIN = 8


def _spec(node) -> dict[str, Any]:
    return OmegaConf.to_container(node, resolve=True)


def load_data(cfg) -> tuple[list, dict[str, list], dict[str, Any]]:
    """Training pairs, evaluation sets by name, and a report of what loading kept and skipped."""
    report: dict[str, Any] = {}
    train, rep = load_pairs(_spec(cfg.data.train), on_bad_row=cfg.data.on_bad_row)
    report["train"] = rep.__dict__
    eval_sets: dict[str, list] = {}
    if cfg.data.test is not None:
        heldout, rep = load_pairs(_spec(cfg.data.test), on_bad_row=cfg.data.on_bad_row)
        report["heldout"] = rep.__dict__
    else:
        train, heldout = split_heldout(train, float(cfg.data.heldout_fraction), int(cfg.seed))
    if cfg.data.max_train_pairs is not None:
        train = train[: int(cfg.data.max_train_pairs)]
    if cfg.eval.heldout and heldout:
        eval_sets["heldout"] = heldout
    for name, spec in cfg.eval.sets.items():
        eval_sets[name], rep = load_pairs(_spec(spec), on_bad_row=cfg.data.on_bad_row)
        report[name] = rep.__dict__
    if cfg.eval.max_pairs_per_set is not None:  # whole best-of-N items only
        eval_sets = {k: cap_whole_items(v, int(cfg.eval.max_pairs_per_set)) for k, v in eval_sets.items()}
    report["sizes"] = {"train": len(train), **{k: len(v) for k, v in eval_sets.items()}}
    return train, eval_sets, report


def fit_train(pairs: list, tokenizer, cfg) -> tuple[list, dict[str, int]]:
    """The training pairs fitted to data.max_length tokens per formatted training sequence (truncated,
    or with data.truncation=drop dropped, and counted). What the sequence holds is the objective's
    business: the chat template's tokens come off the budget, and for objectives that train on the
    judge prompt (objective.uses_judge_prompt) the judge's; `objective.responses_per_sequence` says
    whether one sequence holds one response (BT) or both."""
    if cfg.objective.uses_judge_prompt:
        from genrm_exp.prompts import judge_overhead

        overhead = judge_overhead(tokenizer, cfg.judge) + TEMPLATE_MARGIN
    else:
        empty = [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}]
        overhead = len(tokenizer.apply_chat_template(empty, tokenize=True, return_dict=False)) + TEMPLATE_MARGIN
    if int(cfg.data.max_length) - overhead < 16:
        from genrm_exp.errors import ConfigError

        raise ConfigError(f"data.max_length={cfg.data.max_length} leaves no room for the texts: objective={cfg.objective.name} "
                          f"trains on sequences whose template takes {overhead} tokens; raise data.max_length")
    return _fit(pairs, tokenizer, Budget(int(cfg.data.max_length), str(cfg.data.truncation)),
                int(cfg.objective.responses_per_sequence), overhead)


def fit_eval(pairs: list, tokenizer, eval_cfg) -> tuple[list, dict[str, int]]:
    """An evaluation set fitted once, by a rule that does not depend on the objective: the prompt and
    both responses together within eval.max_length tokens of text (no template or judge tokens
    counted; budget.py's policy), truncated or (eval.truncation=drop) dropped, and counted. Every
    method of a grid then scores the same pairs with the same text (the fingerprints in metrics.json
    say so); each adds its own template around them and cuts nothing more. Under truncation=drop a
    benchmark's item (pairs sharing a group, scored together: genrm_exp/benchmarks) goes whole when
    any of its pairs is dropped."""
    from genrm_exp.benchmarks import BENCHMARKS

    kept, counts = _fit(pairs, tokenizer, Budget(int(eval_cfg.max_length), str(eval_cfg.truncation)), 2, 0)
    kept_ids = {p.id for p in kept}
    broken = {p.group for p in pairs if p.group is not None and p.source in BENCHMARKS and p.id not in kept_ids}
    if broken:
        before = len(kept)
        kept = [p for p in kept if p.group not in broken]
        counts["dropped_with_their_item"] = before - len(kept)
    return kept, counts


def _fit(pairs, tokenizer, budget: Budget, n_responses: int, overhead: int) -> tuple[list, dict[str, int]]:
    counter = TruncationCounter()
    kept = []
    for pair in pairs:
        fitted, result = fit_pair_text(tokenizer, pair, budget, n_responses, overhead)
        counter.add(result)
        if fitted is not None:
            kept.append(fitted)
    return kept, counter.to_dict()


def run(cfg, run_dir: Path, overrides: list[str]) -> float:
    """The job. Under several ranks every rank runs it; only rank 0 writes files, prints and logs
    (genrm_exp.distributed), and every rank returns the same metric."""
    from genrm_exp import costs, distributed, resume
    from genrm_exp.context import RunContext
    from genrm_exp.evaluation import evaluate, write_json_atomic
    from genrm_exp.modeling import load_tokenizer
    from genrm_exp.objectives import build
    from genrm_exp.report.tables import print_metrics
    from genrm_exp.tracking import Tracker, run_name_from

    started = time.time()
    ranks = distributed.setup(deepspeed=cfg.deepspeed.config is not None)
    main = distributed.is_main()
    # Each rank's Hydra named its own folder (a timestamp); rank 0's is the run's.
    run_dir = Path(distributed.broadcast(str(run_dir)))
    if resume.finished(cfg, run_dir, log=print if main else lambda _: None):
        return _reuse(run_dir, main)
    costs.reset()
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
        (run_dir / ERROR_FILE).unlink(missing_ok=True)
    tracker = Tracker.start(cfg, run_dir, run_name_from(cfg, overrides), job_type=str(cfg.objective.name))
    exit_code = 1
    try:
        train, eval_sets, data_report = load_data(cfg)
        tokenizer = load_tokenizer(cfg.model, cache=cfg.paths.cache)
        train, data_report["truncated_train"] = fit_train(train, tokenizer, cfg)
        data_report["truncated_eval"], data_report["eval_fingerprints"] = {}, {}
        for name in list(eval_sets):
            eval_sets[name], data_report["truncated_eval"][name] = fit_eval(eval_sets[name], tokenizer, cfg.eval)
            data_report["eval_fingerprints"][name] = fingerprint(eval_sets[name])
        if main:
            (run_dir / "data.json").write_text(json.dumps(data_report, indent=2, default=str))
        ctx = RunContext(cfg, run_dir, tokenizer, train, eval_sets, tracker, data_report)
        t_train = time.time()
        judge = build(cfg.objective.name, ctx)
        t_eval = time.time()
        results = evaluate(judge, eval_sets, run_dir, bootstrap_samples=int(cfg.eval.bootstrap_samples), seed=int(cfg.seed), tracker=tracker,
                           model_name=str(cfg.model.name))
        seconds = time.time() - started
        results["_run"] = {
            "objective": cfg.objective.name,
            "model": cfg.model.name,
            "run_name": tracker.run_name,
            "overrides": list(overrides),
            "train_pairs": len(train),
            "seconds_total": round(seconds, 1),
            "seconds_train": round(t_eval - t_train, 1),
            "seconds_eval": round(time.time() - t_eval, 1),
            **costs.run_cost(seconds, ranks.world_size),
        }
        if main:
            write_json_atomic(run_dir / "metrics.json", results)
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


def _reuse(run_dir: Path, main: bool) -> float:
    """The finished run's metric, its table printed again; nothing is computed or logged."""
    from genrm_exp import distributed
    from genrm_exp.report.tables import print_metrics

    results = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    if main:
        print_metrics(results, title=f"{run_dir}: finished earlier, reused (rerun=true runs it again)")
    distributed.teardown()
    heldout = results.get("heldout")
    return float(heldout["accuracy"]) if heldout else float("nan")


def _flat(results: dict) -> dict:
    """W&B summary keys: <set>/<metric> and <benchmark>/<section>."""
    from genrm_exp.evaluation import BENCHMARKS_KEY, set_entries

    out = {f"{name}/{key}": value for name, entry in set_entries(results) for key, value in entry.items()
           if isinstance(value, (int, float, str, bool))}
    for bench, entry in results.get(BENCHMARKS_KEY, {}).items():
        if entry.get("score") is not None:
            out[f"{bench}/score"] = entry["score"]
        out.update({f"{bench}/{k}": v for k, v in entry.get("sections", {}).items()})
    return out
