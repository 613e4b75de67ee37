"""Evaluate a judge on every evaluation set and write what it said.

Writes <run_dir>/predictions/<set>.jsonl (one line per pair) and returns metrics per set:
{"accuracy", "ci95", "n", "fingerprint", "protocol", "baseline_longer", "baseline_shorter"} plus
extras (ECE, judge-specific counts). `fingerprint` hashes the pairs as scored
(genrm_exp/data/fingerprint.py) and `protocol` says how they were scored (the judge, the orders
shown, k and the vote, the sampling engine, the fit, the code: genrm_exp/scoring_protocol.py), so
cells of a grid can be checked to have scored the same inputs the same way; the baselines are the
accuracy of picking the longer (shorter) response, in characters. A pair labelled a tie (labelled
files, `ties: half`) scores 0.5 in every accuracy (maj@k and maj@1 alike) and is left out of
calibration, which needs a winner. Benchmark scores go under `_benchmarks`
(`_benchmarks.rewardbench`: RewardBench's section scores when its subsets were evaluated, marked
partial when sections are missing), never beside the sets, so a set may be named after a benchmark.
Other benchmarks (genrm_exp/benchmarks: RewardBench 2, RM-Bench, JudgeBench, PPE) are scored from
the records of every set with their source, pooled over sets, into `_benchmarks.<source>`, and each
writes `<source>_results.json` in its own leaderboard layout. Under several ranks the pairs are
sharded over them and gathered back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from genrm_exp import benchmarks, distributed, metrics, scoring_protocol
from genrm_exp.atomic import write_json_atomic, write_jsonl_atomic
from genrm_exp.data.fingerprint import fingerprint
from genrm_exp.data.formats import is_tie
from genrm_exp.data.schema import Pair
from genrm_exp.errors import ConfigError
from genrm_exp.run_files import BENCHMARKS_KEY, PREDICTIONS_DIR, set_entries

__all__ = [
    "BENCHMARKS_KEY",
    "evaluate",
    "evaluate_run",
    "set_entries",
    "set_metrics",
    "write_json_atomic",
    "write_jsonl_atomic",
]


def set_metrics(
    records: Sequence[dict], *, bootstrap_samples: int, seed: int, pairs: Sequence[Pair] | None = None
) -> dict:
    """Accuracy with a bootstrap interval, plus extras the records allow; with `pairs` (the set as
    scored) also its fingerprint and the length baselines."""
    scores = [r["score"] for r in records]
    out = metrics.summarize(scores, seed=seed, n_boot=bootstrap_samples)
    if pairs is not None:  # a tie (labelled files, ties: half) has neither side longer on purpose: 0.5
        lengths = [(1, 1) if is_tie(p) else (len(p.chosen), len(p.rejected)) for p in pairs]
        base = metrics.length_baseline([c for c, _ in lengths], [r for _, r in lengths])
        out.update(fingerprint=fingerprint(pairs), baseline_longer=base["longer"], baseline_shorter=base["shorter"])
    probs = [r["p_chosen"] for r in records if r.get("p_chosen") is not None and not r.get("tie")]
    if probs:
        out["ece"] = metrics.expected_calibration_error(probs)
    if any("invalid" in r for r in records):
        out["invalid"] = sum(int(r["invalid"]) for r in records)
    out.update(judge_metrics(records))
    return out


def judge_metrics(records: Sequence[dict]) -> dict:
    """Extras of generative and pairwise judges (genrm_exp/judges/records.py): the invalid-verdict
    rate, the A-rate (share of valid verdicts naming the response shown first), position
    consistency (pairs judged in both orders), the share of chains whose verdict was appended
    (judge.close_verdict), maj@1 next to the maj@k accuracy, mean verdict mass."""
    out: dict = {}
    n_verdicts = sum(int(r.get("n_verdicts", 0)) for r in records)
    if n_verdicts:
        out["invalid_rate"] = sum(int(r["invalid"]) for r in records) / n_verdicts
    shown = [v for r in records for v in r.get("verdicts_shown", [])]
    if shown:
        out["a_rate"] = metrics.a_rate(shown)
    both = [tuple(r["order_verdicts"]) for r in records if len(r.get("order_verdicts", [])) == 2]
    if both:
        out["position_consistency"] = metrics.position_consistency(both)
    if n_verdicts and any("closed" in r for r in records):
        out["closed_rate"] = sum(int(r.get("closed", 0)) for r in records) / n_verdicts
    if records and all("score_maj1" in r for r in records):
        out["k"] = max(int(r["n_verdicts"]) // len(r["orders"]) for r in records)
        out["accuracy_maj1"] = metrics.pair_accuracy([r["score_maj1"] for r in records])
    mass = [m for r in records for m in r.get("verdict_mass", [])]
    if mass:
        out["verdict_mass"] = sum(mass) / len(mass)
    return out


def evaluate(
    judge,
    eval_sets: Mapping[str, Sequence[Pair]],
    run_dir: Path,
    *,
    bootstrap_samples: int,
    seed: int,
    tracker=None,
    model_name: str | None = None,
    protocol: Mapping | None = None,
    fits: Mapping[str, Mapping] | None = None,
    code: Mapping | None = None,
) -> dict:
    """Also writes rewardbench_results.json (RewardBench's per-subset JSON shape, for its tooling)
    when RewardBench subsets were evaluated; `model_name` goes into it (default: the run folder's name).
    `protocol` (scoring_protocol.judge_protocol), `fits` (per set: the rule and what it cut) and
    `code` (code_version.current()) make each set's `protocol` entry; without `protocol` none is written."""
    results: dict[str, dict] = {}
    pooled: dict[str, tuple[list, list]] = {}
    model_type = getattr(judge, "rewardbench_model_type", "Seq. Classifier")  # set by every judge class
    name_in_files = model_name or run_dir.name
    for name, pairs in eval_sets.items():
        if name.startswith("_"):
            raise ConfigError(f"eval.sets.{name}: set names starting with '_' are reserved for metrics.json's own keys")
        # Each rank judges a strided share (equal lengths, so ZeRO-3 forwards stay in lockstep);
        # every rank gets all records back in input order, and rank 0 writes them.
        mine = distributed.shard(pairs, even=True)
        records = score_ties(pairs, distributed.gather(judge.predict(mine, name), total=len(pairs)))
        if distributed.is_main():
            write_jsonl_atomic(run_dir / PREDICTIONS_DIR / f"{name}.jsonl", records)
        results[name] = set_metrics(records, bootstrap_samples=bootstrap_samples, seed=seed, pairs=pairs)
        if protocol is not None:
            results[name]["protocol"] = scoring_protocol.set_protocol(
                protocol, records, fit=(fits or {}).get(name), code=code
            )
        for p, r in zip(pairs, records):
            if p.source in benchmarks.BENCHMARKS:  # pooled over sets: RewardBench's subsets, PPE's correctness sets
                pooled.setdefault(p.source, ([], []))
                pooled[p.source][0].append(p)
                pooled[p.source][1].append(r)
        if tracker is not None:
            tracker.table(f"predictions/{name}", records[:200])
    scores: dict[str, dict] = {}
    for source, (bench_pairs, bench_records) in pooled.items():
        scores[source] = benchmarks.score(source, bench_pairs, bench_records)
        if distributed.is_main():
            write_json_atomic(
                run_dir / f"{source}_results.json",
                benchmarks.leaderboard_json(source, name_in_files, model_type, bench_pairs, bench_records),
            )
    if scores:
        results[BENCHMARKS_KEY] = scores
    return results


def score_ties(pairs: Sequence[Pair], records: list[dict]) -> list[dict]:
    """A pair labelled a tie (data/formats.py `is_tie`) scores 0.5 whatever the judge said, by its
    first chain (maj@1) too; its record says so (`tie`)."""
    for pair, record in zip(pairs, records, strict=True):
        if is_tie(pair):
            record.update(score=0.5, correct=False, tie=True)
            if "score_maj1" in record:
                record["score_maj1"] = 0.5
    return records


def evaluate_run(
    cfg,
    judge,
    eval_sets: Mapping[str, Sequence[Pair]],
    run_dir: Path,
    *,
    device_type: str,
    fits: Mapping[str, Mapping] | None,
    code: Mapping | None,
    tracker=None,
    model_name: str | None = None,
):
    """`evaluate` with a run's settings (eval.bootstrap_samples, seed) and its judge's protocol: the
    pipeline, STaR's evaluation stages and genrm_exp.evaluate all score through here."""
    return evaluate(
        judge,
        eval_sets,
        run_dir,
        bootstrap_samples=int(cfg.eval.bootstrap_samples),
        seed=int(cfg.seed),
        tracker=tracker,
        model_name=model_name,
        protocol=scoring_protocol.judge_protocol(cfg, device_type),
        fits=fits,
        code=code,
    )
