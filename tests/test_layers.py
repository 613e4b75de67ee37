"""Data flows one way: a module imports only modules of its own layer or lower ones, at module level
or inside a function. Layers, lowest first:

    0 foundation   errors, verdicts, metrics, benchmarks, orders, atomic, costs, runtime_env,
                   resume, run_dirs, run_files, distributed, data, code_version
    1 model        prompts, modeling, sampling (generation, decoding, vllm_backend, vllm_worker, closing)
    2 checkpoints  checkpoints
    3 judges       judges
    4 evaluation   evaluation, context, tracking, scoring_protocol
    5 star         star
    6 objectives   objectives
    7 entry        pipeline, validate, api, evaluate, report, serve, __main__

    python -m pytest tests/test_layers.py -q
"""

from __future__ import annotations

import ast

from support import REPO

LAYERS = [
    {
        "errors",
        "verdicts",
        "metrics",
        "benchmarks",
        "orders",
        "atomic",
        "costs",
        "runtime_env",
        "resume",
        "run_dirs",
        "distributed",
        "data",
        "code_version",
        "run_files",
        "__init__",
    },
    {"prompts", "modeling", "sampling"},
    {"checkpoints"},
    {"judges"},
    {"evaluation", "context", "tracking", "scoring_protocol"},
    {"star"},
    {"objectives"},
    {"pipeline", "validate", "api", "evaluate", "report", "serve", "__main__"},
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}
PACKAGE = REPO / "genrm_exp"


def _top(module: str) -> str | None:
    """genrm_exp.judges.direct -> judges; genrm_exp -> __init__; other packages -> None."""
    parts = module.split(".")
    if parts[0] != "genrm_exp":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "genrm_exp" else [f"genrm_exp.{a.name}" for a in node.names]
            found += [(node.lineno, n) for n in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return found


def test_every_module_has_a_layer():
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.rglob("*.py")}
    assert not tops - set(RANK), f"modules without a layer in tests/test_layers.py: {sorted(tops - set(RANK))}"


def test_lower_layers_never_import_upper_ones():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for line, module in _imports(path):
            there = _top(module)
            if there is not None and there != here and RANK[there] > RANK[here]:
                upward.append(f"{path.relative_to(REPO)}:{line} imports {module} ({there} is above {here})")
    assert not upward, "\n".join(upward)
