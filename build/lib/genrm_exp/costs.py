"""What a run cost: wall time, GPU-hours and generated tokens, kept in metrics.json["_run"] and
shown by `python -m genrm_exp.report` beside each cell.

    costs.add("generated_tokens", n)       # where tokens are sampled (the generation engine)
    costs.run_cost(seconds, world_size)    # the pipeline, once per run: counts summed over ranks

A count nobody added is reported as None ("-"), not 0: a judge that generates but does not count
must not look free.
"""

from __future__ import annotations

from collections import Counter

_COUNTS: Counter = Counter()


def reset() -> None:
    _COUNTS.clear()


def add(key: str, n: int) -> None:
    _COUNTS[key] += int(n)


def counts() -> dict[str, int]:
    return dict(_COUNTS)


def run_cost(seconds: float, world_size: int) -> dict:
    """Cost fields for metrics.json; a collective under several ranks (every rank calls it)."""
    import torch

    from genrm_exp import distributed

    totals: Counter = Counter()
    for part in distributed.gather([counts()]):
        totals.update(part)
    gpus = world_size if torch.cuda.is_available() else 0
    return {
        "world_size": world_size,
        "gpus": gpus,
        "gpu_hours": round(gpus * seconds / 3600, 4),
        "generated_tokens": totals.get("generated_tokens"),
    }
