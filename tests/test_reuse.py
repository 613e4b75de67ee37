"""Reusing a finished run: the same settings and the same code reuse it; other code follows
on_code_change (stop with one line, rerun, or reuse). Pure file checks, no training."""

from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf
from support import compose

from genrm_exp import code_version, resume
from genrm_exp.errors import ConfigError


def finished_run(tmp_path, cfg, code: dict | None):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    (run / "metrics.json").write_text(json.dumps({"_run": {"code": code} if code else {}}))
    return run


def test_the_code_version_names_the_source_and_the_commit():
    now = code_version.current()
    assert now["source"].startswith("sha256:") and len(now["source"]) == len("sha256:") + 16
    assert set(now) == {"source", "commit", "dirty"}
    assert not code_version.differs(now) and code_version.differs({**now, "source": "sha256:other"})
    assert code_version.differs(None)  # made before versions were recorded


def test_a_finished_run_of_this_code_is_reused(tmp_path):
    cfg = compose(["model=tiny_random"], tmp_path)
    run = finished_run(tmp_path, cfg, code_version.current())
    assert resume.finished(cfg, run, log=lambda _: None)
    cfg.seed = 1
    said = []
    assert not resume.finished(cfg, run, log=said.append) and "other settings (seed)" in said[0]


@pytest.mark.parametrize("policy", ["stop", "rerun", "reuse"])
def test_a_finished_run_of_other_code_follows_on_code_change(tmp_path, policy):
    cfg = compose(["model=tiny_random", f"on_code_change={policy}"], tmp_path)
    old = {"source": "sha256:0000000000000000", "commit": "a" * 40, "dirty": True}
    run = finished_run(tmp_path, cfg, old)
    said = []
    if policy == "stop":
        with pytest.raises(ConfigError) as e:
            resume.finished(cfg, run, log=said.append)
        assert str(e.value).startswith(f"the finished run in {run} was made by other code (aaaaaaaaaaaa (dirty)")
        assert "on_code_change=rerun computes it again, on_code_change=reuse keeps it" in str(e.value)
    elif policy == "rerun":
        assert not resume.finished(cfg, run, log=said.append) and "was made by other code" in said[0]
    else:
        assert resume.finished(cfg, run, log=said.append)


def test_where_it_is_written_is_no_setting_of_the_result(tmp_path):
    cfg = compose(["model=tiny_random", "on_code_change=stop"], tmp_path)
    run = finished_run(tmp_path, cfg, code_version.current())
    other = compose(["model=tiny_random", "on_code_change=reuse", "logger.mode=disabled", "rerun=false"], tmp_path)
    assert resume.finished(other, run, log=lambda _: None)
