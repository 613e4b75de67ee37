"""Zero-shot judging end to end on tiny_random: chain of thought with k=2 in both orders through the
command line (predictions, judge metrics, RewardBench JSON), and direct scoring through build()."""

from __future__ import annotations

import json

import pytest
import torch
from support import TINY, compose, genrm, make_ctx

from genrm_exp.judges.direct import DirectJudge
from genrm_exp.judges.factory import judge_dtype
from genrm_exp.objectives import zero_shot


@pytest.mark.slow  # ~20 s; CoT judging with k chains is in tests/judges/
def test_cot_evaluation_end_to_end_with_k_2(tmp_path):
    run = tmp_path / "run"
    out = genrm(
        *TINY,
        "objective=zero_shot_cot",
        "judge.k=2",
        "judge.max_new_tokens=8",
        "judge.order=both",
        "eval.max_pairs_per_set=3",
        f"paths.outputs={tmp_path}",
        f"hydra.run.dir={run}",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    for name in ("heldout", "llmbar-natural"):
        m = metrics[name]
        assert m["n"] == 3 and m["k"] == 2
        assert {"accuracy", "accuracy_maj1", "invalid", "invalid_rate", "position_consistency", "ece"} <= set(m)
        records = [json.loads(line) for line in (run / "predictions" / f"{name}.jsonl").read_text().splitlines()]
        for r in records:
            assert r["orders"] == ["AB", "BA"] and [len(t) for t in r["texts"]] == [2, 2]
            assert len(r["verdicts"]) == r["n_verdicts"] == 4
            assert r["votes"]["counts_a"] + r["votes"]["counts_b"] + r["votes"]["invalid"] == 4
            assert r["score"] in (0.0, 0.5, 1.0) and 0.0 <= r["p_chosen"] <= 1.0
        assert m["invalid"] == sum(r["invalid"] for r in records)
    from genrm_exp.api import RewardModel

    rm = RewardModel.from_run(run, device="cpu")  # the same CoT judge from Python: vote share of 2 orders x k=2
    assert rm.preference("Say hi.", "Hi!", "No.") in (0.0, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 3 / 4, 1.0)
    rb = json.loads((run / "rewardbench_results.json").read_text())
    assert rb["model"] == "tiny-random-llama" and rb["model_type"] == "Generative RM"
    assert rb["llmbar-natural"] == pytest.approx(metrics["llmbar-natural"]["accuracy"])


def test_direct_zero_shot_judge_without_training(tmp_path):
    ctx = make_ctx(["objective=zero_shot_direct"], tmp_path)
    judge = zero_shot.build(ctx)
    assert isinstance(judge, DirectJudge)
    records = judge.predict(ctx.eval_sets["heldout"], "heldout")
    assert len(records) == len(ctx.eval_sets["heldout"]) and all(
        r["orders"] == ["AB", "BA"] for r in records
    )  # judge.order=both
    assert not (ctx.run_dir / "checkpoint").exists()


def test_judge_dtype_auto_decodes_cot_in_float32_on_cpu():
    model = compose(["model=smollm2_135m_instruct"]).model
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert judge_dtype(compose(["judge=cot"]).judge, model, cpu) == torch.float32
    assert judge_dtype(compose(["judge=cot"]).judge, model, gpu) == torch.bfloat16
    assert judge_dtype(compose(["judge=direct"]).judge, model, gpu) == torch.bfloat16
    assert judge_dtype(compose(["judge=direct"]).judge, model, cpu) == torch.float32  # model.cpu_dtype
    native = compose(["model=smollm2_135m_instruct", "model.cpu_dtype=bfloat16"]).model
    assert judge_dtype(compose(["judge=direct"]).judge, native, cpu) == torch.bfloat16
    assert judge_dtype(compose(["judge=cot"]).judge, native, cpu) == torch.float32
    with pytest.raises(ValueError, match="judge.dtype='fp8'"):
        judge_dtype(compose(["judge=direct", "judge.dtype=fp8"]).judge, model, cpu)


def test_a_model_folder_from_pretrained_judges_as_the_embedded_model_does():
    """RewardModel.from_pretrained (a Hub id or folder) and RewardModel.zero_shot (a conf/model entry,
    what the server loads) build the same judge: the converted SmolLM2 folder read as a plain folder
    gives the embedded model's probability."""
    from omegaconf import OmegaConf
    from support import CACHE

    from genrm_exp.api import RewardModel
    from genrm_exp.modeling import converted_folder

    model_cfg = OmegaConf.to_container(compose(["model=smollm2_135m_instruct"]).model)
    model_cfg["dtype"] = "float32"
    folder = converted_folder(model_cfg["path"], CACHE)
    embedded = RewardModel.zero_shot(model_cfg, judge="direct", order="both", device="cpu")
    from_folder = RewardModel.from_pretrained(str(folder), judge="direct", dtype="float32", device="cpu")
    args = ("What is 2+2?", "4", "Five.")
    assert from_folder.info()["judge"]["order"] == "both"
    assert from_folder.preference(*args) == pytest.approx(embedded.preference(*args), abs=1e-6)
