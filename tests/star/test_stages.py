"""The stage runner and the resumable sampler, with a counting fake sampler (no model)."""

from __future__ import annotations

import json

import pytest

from genrm_exp.star.sampling import Item, partial_path, read_partial, sample_items
from genrm_exp.star.stages import Stages


def test_a_stage_runs_once_and_its_record_is_reused(tmp_path):
    calls = []
    stages = Stages(tmp_path / "iter_1", log=lambda *_: None)
    assert not stages.is_done("build")
    assert stages.run("build", lambda: calls.append(1) or {"kept": 3}) == {"kept": 3}
    assert stages.run("build", lambda: calls.append(1) or {"kept": 99}) == {"kept": 3}
    assert calls == [1] and stages.record("build")["stage"] == "build"


def test_a_failing_stage_is_not_marked_done(tmp_path):
    stages = Stages(tmp_path / "iter_1", log=lambda *_: None)

    def boom():
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        stages.run("train", boom)
    assert not stages.is_done("train")
    assert stages.run("train", lambda: {"ok": True}) == {"ok": True}


class FakeSampler:
    """k=2 texts per prompt, a pure function of (seed, prompt): like generation.Generator."""

    def __init__(self):
        self.calls: list[list[str]] = []

    def __call__(self, items, seed):
        self.calls.append([it.key for it in items])
        return [[f"{seed}:{it.prompt}:{j} [[A]]" for j in range(2)] for it in items]


def plan(n: int) -> list[Item]:
    return [Item.make(f"p{i}", order, f"prompt {i}{order}") for i in range(n) for order in ("AB", "BA")]


def test_sampling_writes_plan_order_and_removes_the_partial_file(tmp_path):
    path, fake = tmp_path / "samples.jsonl", FakeSampler()
    info = sample_items(path, plan(3), fake, chunk_size=4, seed=7, log=lambda *_: None)
    assert info == {"keys": 6, "chunks": 2, "chunks_reused": 0, "chunks_sampled": 2}
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["key"] for r in rows] == ["p0|AB", "p0|BA", "p1|AB", "p1|BA", "p2|AB", "p2|BA"]
    assert (
        rows[1]["label"] == "B" and rows[1]["verdicts"] == ["A", "A"] and rows[1]["texts"][0] == "7:prompt 0BA:0 [[A]]"
    )
    assert not partial_path(path).exists()


def test_resume_samples_only_missing_chunks_and_gives_the_same_file(tmp_path):
    whole, fake = tmp_path / "a" / "samples.jsonl", FakeSampler()
    sample_items(whole, plan(5), fake, chunk_size=3, seed=1, log=lambda *_: None)
    # A run that wrote chunks 1 and 2, then died in the middle of writing chunk 3.
    path = tmp_path / "b" / "samples.jsonl"
    lines = whole.read_text().splitlines(keepends=True)
    path.parent.mkdir()
    partial_path(path).write_text("".join(lines[:6]) + lines[6][:20])
    assert len(read_partial(partial_path(path))) == 6
    assert partial_path(path).read_text() == "".join(lines[:6])  # the torn line was cut off
    fake = FakeSampler()
    info = sample_items(path, plan(5), fake, chunk_size=3, seed=1, log=lambda *_: None)
    assert info["chunks_reused"] == 2 and info["chunks_sampled"] == 2
    assert fake.calls == [["p3|AB", "p3|BA", "p4|AB"], ["p4|BA"]]
    assert path.read_bytes() == whole.read_bytes()


def test_a_chunk_with_some_keys_written_is_resampled_whole_but_only_missing_rows_added(tmp_path):
    path = tmp_path / "samples.jsonl"
    first = Item.make("p0", "AB", "prompt 0AB").row(["kept [[B]]"])
    partial_path(path).write_text(json.dumps(first) + "\n")
    fake = FakeSampler()
    sample_items(path, plan(1), fake, chunk_size=2, seed=0, log=lambda *_: None)
    assert fake.calls == [["p0|AB", "p0|BA"]]  # same inputs as an uninterrupted chunk
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows[0]["texts"] == ["kept [[B]]"] and len(rows) == 2


def test_a_corrupt_partial_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "samples.jsonl"
    partial_path(path).write_text('{"key": "p0|AB"}\nnot json\n')
    with pytest.raises(ValueError, match=r"samples.jsonl.partial line 2"):
        sample_items(path, plan(1), FakeSampler(), chunk_size=2, seed=0, log=lambda *_: None)
