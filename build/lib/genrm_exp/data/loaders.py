"""Load preference pairs from a data spec: ``load_pairs(spec) -> (pairs, report)``.

    pairs, report = load_pairs({"format": "llmbar", "subset": "llmbar-natural",
                                "path": "../shared/data/rewardbench_llmbar/LLMBar_Natural.json"})
    pairs, report = load_pairs({"format": "rewardbench", "hub": "allenai/reward-bench",
                                "split": "filtered"})

Spec keys (a plain mapping, e.g. ``OmegaConf.to_container(cfg.data)``; ``None`` values count as
absent, any other key is an error):

- ``format``: a key of ``formats.FORMATS``;
- ``path`` (``.json`` list, ``.jsonl``, ``.jsonl.gz``, ``.parquet``) or ``hub`` + ``split``
  (+ ``hub_config``), exactly one of them;
- ``source``: source name stamped on pairs (default: ``formats.DEFAULT_SOURCES`` or the format);
- ``subset``: subset stamped on pairs; a subset carried by the row itself (RewardBench) wins;
  default: the source name;
- ``limit``: stop reading once N valid pairs are kept (the pairs of one row, a best-of-N item,
  are kept together, so the last row may take the count past N);
- ``columns``: formats ``local`` and ``labelled`` only, canonical field -> column name (``local``:
  ``prompt``, ``chosen``, ``rejected``; ``labelled``: ``prompt``, ``a``, ``b``, ``label``; both:
  optionally ``id``, ``subset``);
- ``labels``: format ``labelled`` only (required), label value -> ``a``, ``b`` or ``tie``, or a list
  of ``[value, target]`` pairs (Hydra's command line writes only names and numbers as keys:
  ``labels:[['A>B',a],['B>A',b]]``);
- ``ties``: format ``labelled`` only, ``drop`` (default: dropped, counted as ``tie``) or ``half``
  (kept, scored 0.5: ``formats.is_tie``);
- ``on_bad_row``: ``"error"`` (default) or ``"skip"``.

Bad rows (missing key, wrong type, empty response, identical responses, malformed JSONL line,
duplicate id, format-specific checks) raise ``DataError`` naming the file, the row, the key and
what was expected, or with ``on_bad_row="skip"`` are dropped and counted by reason in the
``LoadReport``. The keyword ``on_bad_row`` of ``load_pairs`` wins over the spec key when it is not
None. Documented policies (``pandalm_tie``) drop and count rows in both modes.

Pair ids are ``"<subset>:<upstream id>"`` when the format has an id field, else
``"<subset>:<row index>"`` (0-based, counting every row read); a row of several pairs (best-of-N)
adds ``/<cell>`` and is their group, ``"<subset>:<row id>"``.

A labelled-pair file (any column names, any label values)::

    pairs, report = load_pairs({"format": "labelled", "path": "votes.jsonl",
                                "columns": {"prompt": "question", "a": "answer1", "b": "answer2",
                                            "label": "winner"},
                                "labels": {1: "a", 2: "b", 0: "tie"}})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genrm_exp.data.fields import BadRow, DropRow, kind
from genrm_exp.data.formats import COLUMNS, DEFAULT_SOURCES, FORMATS, LABEL_TARGETS, TIE_POLICIES, TIE_SUFFIX, Parsed
from genrm_exp.data.schema import DataError, LoadReport, Pair
from genrm_exp.data.sources import describe, read_rows

SPEC_KEYS = (
    "format",
    "path",
    "hub",
    "split",
    "hub_config",
    "source",
    "subset",
    "limit",
    "columns",
    "labels",
    "ties",
    "on_bad_row",
)
BAD_ROW_MODES = ("error", "skip")


def load_pairs(spec: Mapping[str, Any], *, on_bad_row: str | None = None) -> tuple[list[Pair], LoadReport]:
    """Pairs of the spec's file or Hub split, in input order, and what loading did."""
    spec = {k: v for k, v in spec.items() if v is not None}
    name = describe(_check_spec(spec))
    mode = on_bad_row if on_bad_row is not None else spec.get("on_bad_row", "error")
    if mode not in BAD_ROW_MODES:
        raise DataError(f"{name}: on_bad_row is {mode!r} (expected one of {list(BAD_ROW_MODES)})")
    parse = FORMATS[spec["format"]]
    source = spec.get("source", DEFAULT_SOURCES.get(spec["format"], spec["format"]))
    limit = spec.get("limit")
    report, pairs, seen = LoadReport(source), [], set()
    for index, (where, row) in enumerate(read_rows(spec)):
        if limit is not None and len(pairs) >= limit:
            break
        report.rows_read += 1
        try:
            if isinstance(row, BadRow):
                raise row
            if not isinstance(row, Mapping):
                raise BadRow("wrong_type", f"row is {kind(row)} (expected an object)")
            parsed = parse(row, spec)
            row_pairs = [
                _pair(p, index, source, spec.get("subset", source))
                for p in ([parsed] if isinstance(parsed, Parsed) else parsed)
            ]
            if not row_pairs:
                raise BadRow("empty_item", "the row gives no pair (expected at least one chosen and one rejected)")
            ids = [pair.id for pair in row_pairs]
            again = next((i for n, i in enumerate(ids) if i in seen or i in ids[:n]), None)
            if again is not None:
                id_key = parsed.id_key if isinstance(parsed, Parsed) else parsed[0].id_key
                raise BadRow(
                    "duplicate_id",
                    f"key {id_key!r} gives id {again!r} again (expected ids unique within the file)",
                )
        except DropRow as drop:
            report.skip(drop.reason)
            continue
        except BadRow as bad:
            if mode == "error":
                raise DataError(f"{where}: {bad}") from None
            report.skip(bad.reason)
            continue
        seen.update(ids)
        pairs.extend(row_pairs)
    report.kept = len(pairs)
    return pairs, report


def _pair(parsed: Parsed, index: int, source: str, subset: str) -> Pair:
    if parsed.chosen == parsed.rejected:
        raise BadRow(
            "identical_responses",
            f"keys {parsed.keys[0]!r} and {parsed.keys[1]!r} are identical (expected two different responses)",
        )
    subset = parsed.subset if parsed.subset is not None else subset
    key = parsed.id if parsed.id is not None else str(index)
    group = parsed.group
    if parsed.part is not None:  # one cell of a best-of-N item: the row is the group
        group = key if group is None else group
        key = f"{key}/{parsed.part}"
    group = f"{subset}:{group}" if group is not None else None
    key = key + TIE_SUFFIX if parsed.tie else key
    return Pair(f"{subset}:{key}", parsed.prompt, parsed.chosen, parsed.rejected, source, subset, group)


def _check_spec(spec: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise DataError(f"data spec has unknown keys {unknown} (expected some of {list(SPEC_KEYS)})")
    if spec.get("format") not in FORMATS:
        raise DataError(f"data spec format is {spec.get('format')!r} (expected one of {sorted(FORMATS)})")
    limit = spec.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise DataError(f"data spec limit is {limit!r} (expected a non-negative integer)")
    for key in ("source", "subset"):
        if key in spec and (not isinstance(spec[key], str) or not spec[key]):
            raise DataError(f"data spec {key} is {spec[key]!r} (expected a non-empty string)")
    columns = spec.get("columns")
    if (spec["format"] in COLUMNS) != (columns is not None):
        raise DataError(
            f"data spec 'columns' is required by formats {list(COLUMNS)} and used by no other "
            f"(format {spec['format']!r}, columns {columns!r})"
        )
    if columns is not None:
        required, optional = COLUMNS[spec["format"]]
        missing = [k for k in required if k not in columns]
        extra = [k for k in columns if k not in required + optional]
        if missing or extra or not all(isinstance(v, str) and v for v in columns.values()):
            raise DataError(
                f"data spec columns {dict(columns)!r}: expected column names (strings) for "
                f"{list(required)} and optionally {list(optional)}"
            )
    _check_labels(spec)
    return spec


def _check_labels(spec: dict[str, Any]) -> None:
    labelled = spec["format"] == "labelled"
    for key in ("labels", "ties"):
        if key in spec and not labelled:
            raise DataError(f"data spec {key!r} is used by format 'labelled' only (format {spec['format']!r})")
    if not labelled:
        return
    labels = spec.get("labels")
    if isinstance(labels, list) and all(isinstance(kv, list) and len(kv) == 2 for kv in labels):
        labels = spec["labels"] = {k: v for k, v in labels}  # [[value, target], ...]: any value from the CLI
    if not isinstance(labels, dict) or not labels or any(v not in LABEL_TARGETS for v in labels.values()):
        raise DataError(
            f"data spec labels is {labels!r} (expected a mapping from each label value to one of "
            f"{list(LABEL_TARGETS)}, e.g. {{1: a, 2: b}}, or a list of [value, target] pairs)"
        )
    if len({str(k) for k in labels}) != len(labels):
        raise DataError(f"data spec labels {labels!r}: two label values read the same as text")
    if spec.get("ties", "drop") not in TIE_POLICIES:
        raise DataError(f"data spec ties is {spec['ties']!r} (expected one of {list(TIE_POLICIES)})")
