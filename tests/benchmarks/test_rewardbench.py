"""RewardBench section weights and scores on hand-computed numbers."""

import json

import pytest

from genrm_exp.benchmarks.rewardbench import (
    MATH_PRM_ROWS,
    SECTIONS,
    section_scores,
    to_rewardbench_json,
)

LLMBAR = {
    "llmbar-natural": 0.8,
    "llmbar-adver-neighbor": 0.5,
    "llmbar-adver-GPTInst": 0.6,
    "llmbar-adver-GPTOut": 0.7,
    "llmbar-adver-manual": 0.4,
}


def test_sections_match_the_filtered_split():
    """Counts add up to the 2,985 rows of `filtered` once math-prm's 984 is replaced by 447."""
    assert list(SECTIONS) == ["Chat", "Chat Hard", "Safety", "Reasoning"]
    assert [len(s) for s in SECTIONS.values()] == [5, 6, 5, 7]
    total = sum(n for counts in SECTIONS.values() for n in counts.values())
    assert total - SECTIONS["Reasoning"]["math-prm"] + MATH_PRM_ROWS == 2985
    assert SECTIONS["Safety"]["xstest-should-refuse"] == 154
    assert SECTIONS["Safety"]["xstest-should-respond"] == 250


def test_chat_hard_from_llmbar_only():
    """Weights 100/134/92/47/46 (sum 419), accuracies 0.8/0.5/0.6/0.7/0.4:
    80 + 67 + 55.2 + 32.9 + 18.4 = 253.5; 253.5 / 419 = 0.6050119...
    (the unweighted mean would be 0.6). Only Chat Hard is present, so score = that."""
    out = section_scores(LLMBAR)
    assert out["sections"] == {"Chat Hard": pytest.approx(253.5 / 419, abs=1e-12)}
    assert out["sections"]["Chat Hard"] == pytest.approx(0.6050119, abs=1e-7)
    assert out["score"] == out["sections"]["Chat Hard"]
    assert out["partial"] is True
    assert out["missing_sections"] == ["Chat", "Safety", "Reasoning"]
    assert "mt-bench-hard" in out["missing_subsets"]
    assert len(out["missing_subsets"]) == 23 - 5
    assert out["unknown_subsets"] == []


def test_math_prm_weighs_as_much_as_all_code():
    """math-prm 1.0 at weight 984, six hep subsets 0.0 at 164 each (984 in all):
    984 / 1968 = 0.5. With its row count 447 it would be 447 / 1431 = 0.312."""
    accs = {s: 0.0 for s in SECTIONS["Reasoning"]} | {"math-prm": 1.0}
    assert section_scores(accs)["sections"]["Reasoning"] == pytest.approx(0.5)


def test_xstest_weights():
    """should-refuse 1.0 (154), should-respond 0.0 (250): 154 / 404 = 0.38119."""
    out = section_scores({"xstest-should-refuse": 1.0, "xstest-should-respond": 0.0})
    assert out["sections"]["Safety"] == pytest.approx(154 / 404)


def test_full_score_is_plain_mean_of_sections():
    """Sections at 1.0, 0.5, 0.8, 0.2 (every subset equal within a section):
    (1.0 + 0.5 + 0.8 + 0.2) / 4 = 0.625, not weighted by section size."""
    level = {"Chat": 1.0, "Chat Hard": 0.5, "Safety": 0.8, "Reasoning": 0.2}
    accs = {s: level[sec] for sec, counts in SECTIONS.items() for s in counts}
    out = section_scores(accs | {"anthropic_helpful": 0.9})
    assert out["sections"] == pytest.approx(level)
    assert out["score"] == pytest.approx(0.625)
    assert out["partial"] is False
    assert out["missing_sections"] == [] and out["missing_subsets"] == []
    assert out["unknown_subsets"] == ["anthropic_helpful"]


def test_one_missing_subset_makes_the_score_partial():
    """Every section present but mt-bench-hard missing: still partial, and Chat Hard is the
    LLMBar-only 253.5 / 419 of the test above."""
    accs = {s: 1.0 for counts in SECTIONS.values() for s in counts} | LLMBAR
    del accs["mt-bench-hard"]
    out = section_scores(accs)
    assert out["partial"] is True
    assert out["missing_sections"] == []
    assert out["missing_subsets"] == ["mt-bench-hard"]
    assert out["score"] == pytest.approx((3 + 253.5 / 419) / 4)


def test_nothing_known_gives_no_score():
    out = section_scores({"shp": 0.7})
    assert out["score"] is None and out["sections"] == {}
    assert out["partial"] is True
    assert out["missing_sections"] == list(SECTIONS)
    assert out["unknown_subsets"] == ["shp"]


def test_percentages_are_rejected():
    with pytest.raises(
        ValueError,
        match=r"accuracy of 'hep-go' must be a fraction in \[0, 1\], got 87.5",
    ):
        section_scores({"hep-go": 87.5})


def test_rewardbench_json_shape():
    out = to_rewardbench_json("org/judge-7b", {"llmbar-natural": 0.75, "hep-go": 1})
    assert out == {
        "model": "org/judge-7b",
        "model_type": "Generative RM",
        "chat_template": None,
        "llmbar-natural": 0.75,
        "hep-go": 1.0,
    }
    assert json.loads(json.dumps(out)) == out
    with pytest.raises(ValueError, match=r"subset names clash with metadata keys: \['model'\]"):
        to_rewardbench_json("m", {"model": 0.5})
