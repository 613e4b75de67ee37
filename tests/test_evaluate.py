"""`python -m genrm_exp.evaluate`: a finished tiny GenRM run scored on a new set and on its own
held-out split, without training, under RUN_DIR/evals/<name>/; the run's own files untouched; the
report lists the evaluation as a row."""

from __future__ import annotations

import json
import sys

import pytest
from support import ENV, REPO, TINY, genrm, run_group


def evaluate(*args: str, timeout: int = 300):
    return run_group([sys.executable, "-m", "genrm_exp.evaluate", *args], env=ENV, timeout=timeout)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evaluate")
    run = tmp / "run"
    out = genrm(
        *TINY, "objective=genrm", "eval=heldout", f"paths.outputs={tmp}", f"hydra.run.dir={run}", "logger.mode=disabled"
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return tmp, run


@pytest.mark.slow  # ~20 s; rescoring a set the run scored stays in the suite
def test_a_finished_run_is_scored_on_a_new_set_without_training(finished):
    tmp, run = finished
    votes = tmp / "votes.jsonl"
    rows = [
        {"q": f"What is {n} + {n}?", "x": f"{2 * n}", "y": f"{2 * n + 1}", "w": 1 if n % 2 else 2} for n in range(6)
    ]
    votes.write_text("".join(json.dumps(r) + "\n" for r in rows))
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    spec = f"{{format:labelled,path:'{votes}',source:votes,columns:{{prompt:q,a:x,b:y,label:w}},labels:{{1:a,2:b}}}}"
    out = evaluate(str(run), f"+eval.sets.votes={spec}", "eval.heldout=false", "name=votes")
    assert out.returncode == 0, out.stderr[-3000:]
    where = run / "evals" / "votes"
    metrics = json.loads((where / "metrics.json").read_text())
    assert metrics["votes"]["n"] == 6 and "heldout" not in metrics
    assert metrics["_run"]["evaluated"] == str(run) and metrics["_run"]["checkpoint"] == str(run / "checkpoint")
    assert metrics["votes"]["protocol"]["orders"]["policy"] == "both"  # the run's order policy
    assert len((where / "predictions" / "votes.jsonl").read_text().splitlines()) == 6
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before  # the run's files untouched
    assert "train" not in json.loads((where / "data.json").read_text())  # no training data was read

    again = evaluate(str(run), f"+eval.sets.votes={spec}", "eval.heldout=false", "name=votes")
    assert again.returncode == 0 and "evaluated earlier, reused" in again.stdout, again.stderr[-2000:]


def test_a_set_the_run_scored_gives_the_same_numbers(finished):
    _, run = finished
    out = evaluate(str(run), "name=again")
    assert out.returncode == 0, out.stderr[-3000:]
    own = json.loads((run / "metrics.json").read_text())["heldout"]
    again = json.loads((run / "evals" / "again" / "metrics.json").read_text())["heldout"]
    assert again["fingerprint"] == own["fingerprint"] and again["accuracy"] == own["accuracy"]
    own_preds = (run / "predictions" / "heldout.jsonl").read_text()
    assert (run / "evals" / "again" / "predictions" / "heldout.jsonl").read_text() == own_preds
    rep = run_group([sys.executable, "-m", "genrm_exp.report", str(run)], env=ENV, timeout=120)
    assert rep.returncode == 0, rep.stderr[-2000:]
    assert "| genrm [evaluate again] |" in (run / "report.md").read_text()


def test_bad_use_is_one_line(tmp_path):
    out = evaluate(str(tmp_path))
    assert out.returncode == 2 and out.stderr.startswith(f"error: {tmp_path}: no metrics.json"), out.stderr
    out = evaluate(f"paths.root={REPO}", "model=tiny_random", "objective=bt")
    assert out.returncode == 2 and "objective=bt trains: give the run folder" in out.stderr, out.stderr
