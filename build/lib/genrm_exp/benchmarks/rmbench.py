"""RM-Bench (THU-KEG/RM-Bench): three chosen and three rejected responses per prompt, in styles
0 concise, 1 detailed plain, 2 detailed markdown; the loader (format ``rmbench``) gives the nine
pairs, chosen style i against rejected style j.

Upstream's rule (``scripts/utils.py: compute_accuracy``): in each domain, cell (i, j) of a 3 x 3
matrix is the share of prompts whose chosen response i scores strictly above rejected response j;
hard = mean of the cells above the diagonal (a plainer chosen against a fancier rejected), normal
= the diagonal, easy = below it. A domain's score is the mean of its hard, normal and easy; domains
are chat, math, code and safety (safety-refuse and safety-response together, by prefix), and each
of Easy / Normal / Hard and the total is the plain mean over the four domains (so the three
averages and the total agree, as upstream's README says).

Where ours differs: upstream scores responses with a scalar reward model only; a pairwise judge
here fills each cell with its verdict, and a tie or an invalid verdict counts as a loss (upstream's
strict ">"). A cell missing from some items (a capped or truncated set) is averaged over the items
that have it.

    python -m pytest tests/benchmarks/test_rmbench.py -q
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from genrm_exp.benchmarks.items import cell, has_rewards, items, mean, outcome

SOURCE = "rmbench"
DOMAINS = ("chat", "math", "code", "safety")
SIZE = 3
RULE = (
    "3x3 style matrix per domain (cell = share of prompts whose chosen style i strictly beats rejected style j); "
    "hard/normal/easy = upper/diagonal/lower mean; domain = their mean; total = mean of chat, math, code, safety"
)


def domain_of(subset: str) -> str | None:
    return next((d for d in DOMAINS if subset.startswith(d)), None)


def matrix_levels(matrix: Sequence[Sequence[float | None]]) -> dict[str, float | None]:
    """hard / normal / easy of one 3 x 3 accuracy matrix (None cells are left out)."""
    cells = [(i, j, matrix[i][j]) for i in range(SIZE) for j in range(SIZE) if matrix[i][j] is not None]
    return {
        "hard": mean(v for i, j, v in cells if i < j),
        "normal": mean(v for i, j, v in cells if i == j),
        "easy": mean(v for i, j, v in cells if i > j),
    }


def _matrices(pairs: Sequence, records: Sequence[Mapping]) -> tuple[dict, list[str], int]:
    wins: dict[str, list[list[list[int]]]] = {}
    unknown, n_items = set(), 0
    for members in items(pairs, records).values():
        domain = domain_of(members[0][0].subset)
        if domain is None:
            unknown.add(members[0][0].subset)
            continue
        n_items += 1
        grid = wins.setdefault(domain, [[[] for _ in range(SIZE)] for _ in range(SIZE)])
        for pair, record in members:
            i, j = cell(pair.id) or (None, None)
            if i is None or i >= SIZE or j >= SIZE:
                raise ValueError(f"pair {pair.id!r} is not a cell of RM-Bench's 3 x 3 matrix (expected .../c<i>r<j>)")
            grid[i][j].append(int(outcome(record) > 0))
    matrices = {d: [[mean(c) for c in row] for row in grid] for d, grid in wins.items()}
    return matrices, sorted(unknown), n_items


def score(pairs: Sequence, records: Sequence[Mapping]) -> dict:
    matrices, unknown, n_items = _matrices(pairs, records)
    levels = {d: matrix_levels(matrices[d]) for d in DOMAINS if d in matrices}
    domain_scores = {d: mean(v for v in lv.values() if v is not None) for d, lv in levels.items()}
    by_level = {
        lv: mean(levels[d][lv] for d in levels if levels[d][lv] is not None) for lv in ("easy", "normal", "hard")
    }
    missing = [d for d in DOMAINS if d not in levels]
    return {
        "score": mean(domain_scores.values()),
        "sections": {**domain_scores, **{k: v for k, v in by_level.items() if v is not None}},
        "n_items": n_items,
        "matrices": matrices,
        "partial": bool(missing),
        "missing_sections": missing,
        "unknown_subsets": unknown,
        "rule": RULE,
    }


def leaderboard_json(model_name: str, model_type: str, pairs: Sequence, records: Sequence[Mapping]) -> dict:
    """``compute_accuracy``'s result on the whole set (chat, math, code, safety, hard_acc,
    normal_acc, easy_acc, total_avg_acc), and for a scalar reward model the rows as upstream's
    ``scripts/run_rm.py`` saves them (id, domain, score_chosen and score_rejected by style), from
    which upstream's own function recomputes the same numbers."""
    result = score(pairs, records)
    sections = result["sections"]
    out = {
        "model": model_name,
        "model_type": model_type,
        **{d: sections[d] for d in DOMAINS if d in sections},
        **{f"{lv}_acc": sections[lv] for lv in ("hard", "normal", "easy") if lv in sections},
        "total_avg_acc": result["score"],
    }
    if records and all(has_rewards(r) for r in records):
        rows = []
        for group, members in items(pairs, records).items():
            chosen, rejected = [None] * SIZE, [None] * SIZE
            for pair, record in members:
                i, j = cell(pair.id)
                chosen[i], rejected[j] = float(record["r_chosen"]), float(record["r_rejected"])
            pair = members[0][0]
            rows.append(
                {
                    "id": group.split(":", 1)[1],
                    "domain": pair.subset,
                    "score_chosen": chosen,
                    "score_rejected": rejected,
                }
            )
        out["rows"] = rows
    return out
