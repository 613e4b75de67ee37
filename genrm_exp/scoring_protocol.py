"""What decides how an evaluation set was scored, recorded beside its fingerprint: the protocol.

    base = judge_protocol(cfg, device_type="cpu")        # the run's judge, order policy, votes, engine
    entry["protocol"] = set_protocol(base, records, fit=counts, code=code_version.current())
    fields(entry["protocol"])   # {"judge": "direct", "orders": "both", "votes": ..., "fit": ..., "code": ...}

metrics.json holds one per set (`<set>.protocol`):

    judge      what scores a pair: direct (the verdict token's probability), cot (k sampled chains,
               majority vote), classifier (PairRM's two-label head) or reward (a scalar per response)
    orders     the order policy every pairwise judge of the run obeys (judge.order) and the orders
               actually shown, counted ({"AB": n, "BA": m}); a reward model reads no order
    votes      how one pair's decision is made (k and the rule)
    sampling   CoT only: the engine and its dtype (judge.engine, resolved once per run), temperature,
               top-p, new tokens and verdict closing
    dtype      the judge's weights while judging
    fit        the fitting rule (eval.fit, eval.max_length, eval.truncation) and what it cut
    code       the code version (genrm_exp/code_version.py)

`fields` flattens it into the values the report compares down a column: a cell whose field differs
from the most common value of its column (of the cells with the same kind of judge, for the fields
in PER_KIND) is marked, unless a sweep varies the settings behind that field (`FIELD_SETTINGS`). The
kind of judge is what a method is, not how it was scored: it is shown, never compared. A field that
does not apply to a judge (sampling for a direct judge) is absent and compared with nothing.

Test: python -m pytest tests/test_scoring_protocol.py -q
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from genrm_exp.modeling import weights_dtype
from genrm_exp.sampling.generation import judge_dtype_name

# The settings behind each compared field: a sweep over any of them varies the field on purpose.
FIELD_SETTINGS = {
    "orders": ("judge.order",),
    "votes": ("judge.k",),
    "sampling": (
        "judge.backend",
        "judge.vllm.dtype",
        "judge.temperature",
        "judge.top_p",
        "judge.max_new_tokens",
        "judge.close_verdict",
    ),
    "dtype": ("judge.dtype", "model.dtype", "model.cpu_dtype", "model"),
    "fit": ("eval.fit", "eval.max_length", "eval.truncation", "eval"),
    "code": (),
}
# Fields compared only among cells of the same kind of judge (a direct judge has no k, and its dtype
# rule is not a CoT judge's); the others down the whole column (every pairwise judge obeys one order
# policy; every cell is fitted alike and made by the same code).
PER_KIND = ("votes", "sampling", "dtype")
VOTES = {
    "direct": "P(A)/(P(A)+P(B)) of the verdict token, mean over orders",
    "classifier": "two-label head P(A), mean over orders",
    "reward": "sigmoid(r_chosen - r_rejected)",
}


def judge_protocol(cfg, device_type: str) -> dict:
    """The judge part of the protocol, from the run's resolved config (the same for every set)."""
    scorer = str(cfg.objective.scorer)
    kind = str(cfg.judge.style) if scorer == "judge" else scorer
    out: dict = {"judge": kind}
    if kind != "reward":
        out["orders"] = {"policy": str(cfg.judge.order)}
    if kind == "cot":
        engine = cfg.judge.engine
        out["votes"] = f"majority of k={int(cfg.judge.k)} chains per order shown"
        out["sampling"] = {
            "engine": None if engine is None else str(engine["backend"]),
            "dtype": None if engine is None else str(engine["dtype"]),
            "temperature": float(cfg.judge.temperature),
            "top_p": float(cfg.judge.top_p),
            "max_new_tokens": int(cfg.judge.max_new_tokens),
            "close_verdict": cfg.judge.close_verdict,
        }
    else:
        out["votes"] = VOTES[kind]
    judging = scorer == "judge"
    out["dtype"] = (
        judge_dtype_name(cfg.judge, cfg.model, device_type) if judging else weights_dtype(cfg.model, device_type)
    )
    return out


def orders_shown(records: Sequence[Mapping]) -> dict[str, int]:
    """How often each order was shown over a set's records (a reward model's records have none)."""
    counts = Counter(o for r in records for o in r.get("orders", []))
    return {o: counts[o] for o in ("AB", "BA") if counts[o]}


def set_protocol(base: Mapping, records: Sequence[Mapping], *, fit: Mapping | None, code: Mapping | None) -> dict:
    """One set's protocol: the judge's (`base`), the orders its records show, its fit and the code."""
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in base.items()}
    if "orders" in out:
        out["orders"]["shown"] = orders_shown(records)
    out["fit"] = dict(fit) if fit is not None else None
    out["code"] = dict(code) if code is not None else None
    return out


def fields(protocol: Mapping | None) -> dict[str, str]:
    """The compared values of a protocol, as short strings ({} for a set recorded without one)."""
    if not protocol:
        return {}
    out = {"judge": str(protocol["judge"]), "votes": str(protocol["votes"]), "dtype": str(protocol["dtype"])}
    if protocol.get("orders"):
        out["orders"] = str(protocol["orders"]["policy"])
    if protocol.get("sampling"):
        s = protocol["sampling"]
        close = "" if s["close_verdict"] is None else f", closed by {s['close_verdict']!r}"
        out["sampling"] = (
            f"{s['engine']} {s['dtype']}, T={s['temperature']:g}, top-p={s['top_p']:g}, "
            f"{s['max_new_tokens']} new tokens{close}"
        )
    if protocol.get("fit"):
        f = protocol["fit"]
        out["fit"] = f"{f['rule']} {f['max_length']} ({f['truncation']})"
    if protocol.get("code"):
        c = protocol["code"]
        out["code"] = f"{(c.get('commit') or 'no git')[:10]}{'+dirty' if c.get('dirty') else ''} {c['source']}"
    return out


def line(values: Mapping[str, str]) -> str:
    """One protocol as a line of the report: `judge direct; orders both; ...`."""
    return "; ".join(f"{k} {v}" for k, v in values.items())


def differences(cells: Mapping[str, Mapping[str, str]], swept: set[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(the column's protocol, {cell: [the fields where it differs]}) over `cells` ({cell name:
    fields(protocol)}). The column's protocol gives each field's most common value (per kind of judge
    for PER_KIND fields). Fields whose settings a sweep varies (`swept` holds setting keys such as
    "judge.k") are not compared."""
    column: dict[str, str] = {}
    differ: dict[str, list[str]] = {}
    kinds = sorted({c.get("judge", "") for c in cells.values()})
    for field, settings in FIELD_SETTINGS.items():
        scopes = [k for k in kinds] if field in PER_KIND else [None]
        for kind in scopes:
            values = {
                cell: v[field] for cell, v in cells.items() if field in v and (kind is None or v.get("judge") == kind)
            }
            if not values:
                continue
            label = field if kind is None or len(kinds) == 1 else f"{field} ({kind})"
            common = Counter(values.values()).most_common(1)[0][0]
            varied = len(set(values.values())) > 1
            if swept & set(settings):
                column[label] = "varied by the sweep" if varied else common
                continue
            column[label] = f"{common} (most cells)" if varied else common
            for cell, value in values.items():
                if value != common:
                    differ.setdefault(cell, []).append(f"{label}: {value}")
    return column, differ
