"""From sampled chains to training rows: the STaR-SFT filter, the STaR-DPO pair builder, and the
rationalizer's hinted prompt. Pure functions of sample rows (see sampling.py); standard library and
the one verdict parser only.

    rows, stats = sft_rows(samples, keep=1)                 # right chains only (the paper's Eq. 8)
    rows, stats = dpo_rows(samples, keep=1)                 # (right, wrong) per key (Eq. 9)
    rows, stats = balance_verdicts(rows, stats, text="completion", seed=0)  # as many A as B
    text = hint_text(cfg.star.rationalizer.hint, label="B")  # prompts.render_pair(..., instruction=text)

A chain is *right* when its parsed verdict is the row's label, *wrong* when it is the other letter,
*invalid* when it has no verdict. Identical texts count once. `keep` bounds what one key (a pair in
one presentation order) contributes: at most `keep` right chains (SFT) or `keep` (right, wrong)
pairs (DPO). Rationalized rows (from the hinted prompt) add right chains to their key; their
training prompt is the plain one, without the hint. `kept_verdicts` counts the kept chains' verdicts
as shown (A, B): a base model that says A whatever the order keeps mostly A (every AB key, few BA
keys), and training on that set teaches the bias as much as the preference; balance_verdicts evens
them out.

Test: python -m pytest tests/star/test_filtering.py -q
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from genrm_exp.errors import ConfigError
from genrm_exp.verdicts import INVALID, A, B, parse_verdict


def split_chains(row: Mapping) -> tuple[list[str], list[str], int]:
    """(right texts, wrong texts, invalid count) of one sample row, identical texts once, in order."""
    right: list[str] = []
    wrong: list[str] = []
    invalid = 0
    seen: set[str] = set()
    for text in row["texts"]:
        if text in seen:
            continue
        seen.add(text)
        verdict = parse_verdict(text)
        if verdict == INVALID:
            invalid += 1
        elif verdict == row["label"]:
            right.append(text)
        else:
            wrong.append(text)
    return right, wrong, invalid


def _by_key(rows: Iterable[Mapping] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in rows or []:
        out.setdefault(row["key"], []).extend(split_chains(row)[0])
    return out


def sample_stats(samples: Sequence[Mapping]) -> dict:
    """STaR yield (share of pairs, and of keys, with at least one right chain) and chain counts
    (`closed`: chains whose verdict was appended by star.close_verdict, see genrm_exp/sampling/closing.py)."""
    pairs: dict[str, bool] = {}
    right_keys = chains = right = wrong = invalid = duplicates = closed = 0
    for row in samples:
        closed += sum(row.get("closed", []))
        r, w, i = split_chains(row)
        chains += len(row["texts"])
        duplicates += len(row["texts"]) - len(r) - len(w) - i
        right, wrong, invalid = right + len(r), wrong + len(w), invalid + i
        right_keys += bool(r)
        pairs[row["id"]] = pairs.get(row["id"], False) or bool(r)
    return {
        "pairs": len(pairs),
        "keys": len(samples),
        "yield": sum(pairs.values()) / len(pairs) if pairs else 0.0,
        "yield_keys": right_keys / len(samples) if samples else 0.0,
        "chains": chains,
        "right": right,
        "wrong": wrong,
        "invalid": invalid,
        "duplicates": duplicates,
        "closed": closed,
    }


def _verdict_counts(texts: Sequence[str]) -> dict:
    verdicts = [parse_verdict(t) for t in texts]
    return {v: verdicts.count(v) for v in (A, B)}


def _length_stats(texts: Sequence[str]) -> dict:
    words = [len(t.split()) for t in texts]
    return {
        "rationale_words_mean": sum(words) / len(words) if words else 0.0,
        "rationale_chars_mean": sum(map(len, texts)) / len(texts) if texts else 0.0,
    }


def sft_rows(
    samples: Sequence[Mapping], keep: int, rationalized: Sequence[Mapping] | None = None
) -> tuple[list[dict], dict]:
    """Prompt/completion rows from the right chains (sampled first, then rationalized), at most
    `keep` per key; keys with none are dropped and counted."""
    if keep < 1:
        raise ConfigError(f"star.keep_per_pair={keep}: expected a positive integer")
    extra = _by_key(rationalized)
    rows: list[dict] = []
    dropped = from_rationalizer = 0
    for row in samples:
        right = split_chains(row)[0]
        own = len(right)
        right += [t for t in extra.get(row["key"], []) if t not in right]
        if not right:
            dropped += 1
            continue
        for n, text in enumerate(right[:keep]):
            source = "sampled" if n < own else "rationalized"
            from_rationalizer += source == "rationalized"
            rows.append({"key": row["key"], "prompt": row["prompt"], "completion": text, "source": source})
    stats = {
        "kept": len(rows),
        "kept_keys": len(samples) - dropped,
        "dropped_keys_no_right": dropped,
        "kept_rationalized": from_rationalizer,
        "kept_verdicts": _verdict_counts([r["completion"] for r in rows]),
        **_length_stats([r["completion"] for r in rows]),
    }
    return rows, stats


def dpo_rows(
    samples: Sequence[Mapping], keep: int, rationalized: Sequence[Mapping] | None = None
) -> tuple[list[dict], dict]:
    """Prompt/chosen/rejected rows: the i-th right chain against the i-th wrong chain of a key, at
    most `keep` per key. Keys with no right chain, no wrong chain, or neither are dropped and counted
    (an invalid chain, with no verdict, is neither right nor wrong)."""
    if keep < 1:
        raise ConfigError(f"star.keep_per_pair={keep}: expected a positive integer")
    extra = _by_key(rationalized)
    rows: list[dict] = []
    dropped = {"dropped_keys_only_right": 0, "dropped_keys_only_wrong": 0, "dropped_keys_neither": 0}
    for row in samples:
        right, wrong, _ = split_chains(row)
        right += [t for t in extra.get(row["key"], []) if t not in right]
        if not right or not wrong:
            reason = "only_right" if right else "only_wrong" if wrong else "neither"
            dropped[f"dropped_keys_{reason}"] += 1
            continue
        for chosen, rejected in list(zip(right, wrong))[:keep]:
            rows.append({"key": row["key"], "prompt": row["prompt"], "chosen": chosen, "rejected": rejected})
    stats = {
        "kept": len(rows),
        "kept_keys": len(samples) - sum(dropped.values()),
        **dropped,
        "kept_verdicts": _verdict_counts([r["chosen"] for r in rows]),
        **_length_stats([r["chosen"] for r in rows]),
    }
    return rows, stats


def balance_verdicts(rows: Sequence[dict], stats: Mapping, *, text: str, seed: int) -> tuple[list[dict], dict]:
    """`star.balance_verdicts` (beyond the paper): as many kept rows with verdict A as with B, as
    shown in the field `text` (SFT's completion, DPO's chosen); the majority letter's rows are drawn
    by a hash of (seed, key, text), so a rerun keeps the same ones, and the rest keep their order.
    `stats` (sft_rows' or dpo_rows') is updated: kept, kept_keys, kept_verdicts, and balanced_away
    (rows dropped)."""
    by_letter: dict[str, list[int]] = {A: [], B: []}
    for i, row in enumerate(rows):
        by_letter[parse_verdict(row[text])].append(i)
    n = min(len(v) for v in by_letter.values())

    def draw(i: int) -> bytes:
        return hashlib.sha256(f"balance\0{seed}\0{rows[i]['key']}\0{rows[i][text]}".encode()).digest()

    keep = {i for v in by_letter.values() for i in sorted(v, key=draw)[:n]}
    out = [row for i, row in enumerate(rows) if i in keep]
    return out, {
        **stats,
        "kept": len(out),
        "kept_keys": len({r["key"] for r in out}),
        "kept_verdicts": {A: n, B: n},
        "balanced_away": len(rows) - len(out),
    }


def keys_without_right(samples: Sequence[Mapping]) -> list[str]:
    """Keys the rationalizer is asked about: no sampled chain reached the right verdict."""
    return [row["key"] for row in samples if not split_chains(row)[0]]


def hint_text(hint: str, label: str) -> str:
    """The rationalizer's hint for a key whose right verdict (as shown) is `label`: `hint` is a
    template with {winner} and {loser} (`star.rationalizer.hint`), e.g. "Explain why response
    {winner} is better than response {loser}."; prompts.render_pair appends it to the user message."""
    if label not in ("A", "B"):
        raise ValueError(f"label {label!r}: expected 'A' or 'B'")
    return hint.format(winner=label, loser="B" if label == "A" else "A")
