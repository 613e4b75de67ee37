"""Evaluate a finished run, or a zero-shot model, on any evaluation option, without training.

    python -m genrm_exp.evaluate outputs/runs/genrm/default eval=rewardbench2
    python -m genrm_exp.evaluate RUN_DIR "+eval.sets.votes={format:labelled,path:votes.jsonl,source:votes}"
    python -m genrm_exp.evaluate RUN_DIR eval=judgebench checkpoint=iter_1/checkpoint name=judgebench-iter1
    python -m genrm_exp.evaluate model=smollm2_135m_instruct objective=zero_shot_direct eval=rmbench
    python -m genrm_exp.evaluate pretrained=HuggingFaceTB/SmolLM2-1.7B-Instruct eval=judgebench

The config is the run's own command (metrics.json `_run.overrides`) composed again with the
overrides given here after it, so the judge, its order policy, the fit and the scoring rules are the
run's: a set the run already scored gives the same numbers and fingerprint. The weights are the
run's last checkpoint (genrm_exp.checkpoints.latest), or `checkpoint=` (relative to RUN_DIR, or a
path). Without a RUN_DIR the overrides alone make the config, and the objective must be one that
does not train; `pretrained=ID` takes a Hub id or a local folder as the model.

Everything goes under RUN_DIR/evals/<name>/ (without a RUN_DIR: paths.outputs/evals/<name>/):
config.yaml, data.json, metrics.json (the same schema as a run's: genrm_exp/run_files.py; `_run`
says what was evaluated), predictions/ and each benchmark's own results file. The run's own files
are never touched. <name> is `name=`, else the overrides joined (genrm_exp/run_dirs.py); an
evaluation already finished with the same config is reused unless rerun=true. `python -m
genrm_exp.report RUN_DIR` lists each evaluation as a row of its own.

Test: python -m pytest tests/test_evaluate.py -q
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from genrm_exp.errors import ConfigError, UserError
from genrm_exp.run_files import CONFIG_FILE, DATA_FILE, METRICS_FILE, RUN_KEY, read_metrics

OWN_KEYS = ("name", "checkpoint", "pretrained", "rerun")  # this command's, not the config's


def split_args(argv: list[str]) -> tuple[Path | None, dict[str, str], list[str]]:
    """(RUN_DIR or None, this command's own keys, config overrides)."""
    run_dir = None
    if argv and "=" not in argv[0]:
        run_dir = Path(argv[0])
        argv = argv[1:]
    own: dict[str, str] = {}
    overrides: list[str] = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep:
            raise ConfigError(f"{arg!r}: expected KEY=VALUE (the run folder comes first)")
        if key in OWN_KEYS:
            own[key] = value
        else:
            overrides.append(arg)
    return run_dir, own, overrides


def compose(run_dir: Path | None, own: dict[str, str], overrides: list[str]):
    """The config to evaluate with, and the command's overrides as recorded."""
    from genrm_exp.api import CONF, compose_config

    base: list[str] = []
    if run_dir is not None:
        if not (run_dir / METRICS_FILE).is_file():
            raise ConfigError(f"{run_dir}: no {METRICS_FILE} (expected a finished run folder of `python -m genrm_exp`)")
        base = list(read_metrics(run_dir).get(RUN_KEY, {}).get("overrides") or [])
    if "pretrained" in own:
        path = own["pretrained"]
        base += [f"model.name={path}", "model.source=hub", f"model.path={path}"]
    given = [*base, *overrides]
    cfg = compose_config([f"paths.root={CONF.parent}", *given])
    if run_dir is None and cfg.objective.trains:
        raise ConfigError(
            f"objective={cfg.objective.name} trains: give the run folder it wrote "
            "(python -m genrm_exp.evaluate RUN_DIR ...), or a zero-shot objective"
        )
    return cfg, given


def out_dir(cfg, run_dir: Path | None, own: dict[str, str], overrides: list[str]) -> Path:
    from genrm_exp.run_dirs import run_id

    name = own.get("name") or run_id(",".join(sorted(overrides)))
    if "/" in name or name in ("", ".", ".."):
        raise ConfigError(f"name={name!r}: expected a folder name")
    root = run_dir / "evals" if run_dir is not None else Path(str(cfg.paths.outputs)) / "evals"
    return root / name


def load_judge(cfg, run_dir: Path | None, checkpoint: str | None, device_type: str):
    """(judge, tokenizer): the run's weights (its last checkpoint, or `checkpoint`), or the base model."""
    from genrm_exp import checkpoints
    from genrm_exp.judges.factory import HEAD, for_model, scorer_of
    from genrm_exp.modeling import load_tokenizer

    tokenizer = load_tokenizer(cfg.model, cache=cfg.paths.cache)
    ckpt = None
    if checkpoint is not None:
        ckpt = Path(checkpoint)
        if not ckpt.is_absolute() and run_dir is not None:
            ckpt = run_dir / ckpt
        ckpt = checkpoints.check(ckpt)
    elif run_dir is not None:
        ckpt = checkpoints.latest(run_dir)
        if ckpt is None and cfg.objective.trains and not any(run_dir.glob("iter_*")):
            raise checkpoints.CheckpointError(
                f"{run_dir}: objective={cfg.objective.name} trains, but the run has no checkpoint/"
            )
    model = checkpoints.load(cfg, tokenizer, ckpt, head=HEAD[scorer_of(cfg)])
    if device_type != "cpu":
        model = model.to(device_type)
    return for_model(model, tokenizer, cfg), tokenizer, ckpt


def run(argv: list[str]) -> Path:
    """The command; returns the folder it wrote (or reused)."""
    from omegaconf import OmegaConf, open_dict

    from genrm_exp import code_version, costs, distributed, resume, validate
    from genrm_exp.atomic import write_json_atomic
    from genrm_exp.evaluation import evaluate_run
    from genrm_exp.pipeline import fit, load_data, resolve_engine
    from genrm_exp.report.tables import print_metrics

    started = time.time()
    run_dir, own, overrides = split_args(argv)
    cfg, given = compose(run_dir, own, overrides)
    with open_dict(cfg):
        cfg.rerun = own.get("rerun", "false").lower() in ("1", "true", "yes")
    validate.check(cfg)
    device_type = distributed.device().type
    resolve_engine(cfg, device_type)
    folder = out_dir(cfg, run_dir, own, overrides)
    if resume.finished(cfg, folder):
        print_metrics(read_metrics(folder), title=f"{folder}: evaluated earlier, reused (rerun=true evaluates again)")
        return folder
    costs.reset()
    judge, tokenizer, ckpt = load_judge(cfg, run_dir, own.get("checkpoint"), device_type)
    data_cfg = cfg.copy()
    with open_dict(data_cfg):
        data_cfg.objective.trains = False  # the evaluation sets alone: nothing is trained here
    _, eval_sets, report = load_data(data_cfg)
    _, eval_sets, fits = fit(data_cfg, tokenizer, [], eval_sets, report)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg, resolve=True))
    (folder / DATA_FILE).write_text(json.dumps(report, indent=2, default=str))
    code = code_version.current()
    t_eval = time.time()
    results = evaluate_run(
        cfg, judge, eval_sets, folder, device_type=device_type, fits=fits, code=code, model_name=str(cfg.model.name)
    )
    seconds = time.time() - started
    results[RUN_KEY] = {
        "objective": str(cfg.objective.name),
        "model": str(cfg.model.name),
        "run_name": f"{cfg.objective.name} {folder.name}",
        "overrides": given,
        "evaluated": str(run_dir) if run_dir is not None else None,
        "checkpoint": str(ckpt) if ckpt is not None else None,
        "engine": OmegaConf.to_container(cfg.judge.engine),
        "code": code,
        "seconds_total": round(seconds, 1),
        "seconds_eval": round(time.time() - t_eval, 1),
        **costs.run_cost(seconds, 1),
    }
    write_json_atomic(folder / METRICS_FILE, results)
    print_metrics(results, title=f"{folder.name}  ({folder})")
    return folder


def main(argv: list[str] | None = None) -> int:
    from genrm_exp import runtime_env

    runtime_env.apply()
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    from hydra.errors import HydraException

    try:
        run(argv)
    except (UserError, FileNotFoundError, HydraException) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
