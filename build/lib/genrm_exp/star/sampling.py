"""Sample k chains of thought per (pair, presentation order), resumably, into samples.jsonl.

    items = [Item.make(pair_id, order, prompt) for ...]         # one per (pair id, order "AB"/"BA"): a key
    info = sample_items(it_dir / "samples.jsonl", items, fn, chunk_size=32, seed=s)

`fn(items, seed) -> [[text] * k]` (or dicts {"texts": [...], **fields}) is the sampler (generation.Generator on the latest model, or a
file of rationales). Items are cut into fixed chunks of `chunk_size` keys in plan order; each chunk's
rows are appended to ``samples.jsonl.partial`` in one write, then flushed and fsynced. After a crash
the rerun reads the partial file (a torn last line, from a kill in the middle of a write, is cut
off), keeps every key already there, and samples only the chunks with missing keys. When all keys
are present the rows are written to ``samples.jsonl`` in plan order (temporary name, rename) and the
partial file is removed, so a resumed run's file is identical to an uninterrupted one's.

Determinism, precisely: a chunk is sampled from the same inputs (its items and `seed`) whether or
not the run was interrupted, and generation.Generator draws sample j of a prompt from a generator
seeded by (seed, prompt text, j). So a resumed run writes the same samples as an uninterrupted run
on the same machine and thread count; across hardware or batch shapes, logits can differ in the last
bits and flip a near-tie token.

Each row: {"key", "id", "order", "label", "prompt", "texts", "verdicts", ...item.extra}, where
`label` is the right verdict as shown (A when the chosen response is shown first), `prompt` the
rendered prompt that training shows, `sampled_prompt` (only when different) the one the sampler
read (the rationalizer's hinted prompt, a bootstrap model's template), and `verdicts` the parsed
verdict of each text (as shown).

Test: python -m pytest tests/star/test_resume.py -q
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genrm_exp import distributed
from genrm_exp.atomic import write_jsonl_atomic
from genrm_exp.data.schema import DataError
from genrm_exp.errors import ConfigError
from genrm_exp.orders import check_order, label_as_shown
from genrm_exp.verdicts import parse_verdict

# (items, seed) -> per item its k texts, or a dict {"texts": [...], **more fields of the row}.
SampleFn = Callable[[Sequence["Item"], int], list]


def key_of(pair_id: str, order: str) -> str:
    """`<pair id>|AB` (chosen shown as A) or `<pair id>|BA` (shown swapped): genrm_exp/orders.py."""
    return f"{pair_id}|{check_order(order)}"


@dataclass(frozen=True)
class Item:
    """One (pair, order) to sample: `prompt` is what the sampler reads, `train_prompt` what the
    training row shows (they differ for the rationalizer's hinted prompt, or a bootstrap model's
    chat template)."""

    key: str
    pair_id: str
    order: str
    label: str
    prompt: str
    train_prompt: str
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def make(cls, pair_id: str, order: str, prompt: str, train_prompt: str | None = None, **extra) -> Item:
        return cls(
            key_of(pair_id, order),
            pair_id,
            order,
            label_as_shown(order),
            prompt,
            prompt if train_prompt is None else train_prompt,
            dict(extra),
        )

    def row(self, texts: Sequence[str], **fields) -> dict:
        row = {
            "key": self.key,
            "id": self.pair_id,
            "order": self.order,
            "label": self.label,
            "prompt": self.train_prompt,
            "texts": list(texts),
            "verdicts": [parse_verdict(t) for t in texts],
        }
        if self.prompt != self.train_prompt:
            row["sampled_prompt"] = self.prompt
        return {**row, **self.extra, **fields}


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def read_partial(path: Path) -> dict[str, dict]:
    """Rows already written to a partial file, by key. A torn last line is cut off the file."""
    if not path.is_file():
        return {}
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):  # killed in the middle of a write: drop the incomplete line
        with open(path, "r+b") as f:
            f.truncate(end)
    rows: dict[str, dict] = {}
    for n, line in enumerate(data[:end].decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows[row["key"]] = row
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise DataError(
                f"{path} line {n}: not a sample row with a 'key' ({err}); delete the file to resample"
            ) from err
    return rows


def _append(path: Path, rows: Sequence[dict]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        f.flush()
        os.fsync(f.fileno())


def chunks(items: Sequence[Item], size: int) -> list[list[Item]]:
    if size < 1:
        raise ConfigError(f"star.chunk_size={size}: expected a positive integer")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def sample_items(
    path: Path,
    items: Sequence[Item],
    fn: SampleFn,
    *,
    chunk_size: int,
    seed: int,
    kill_after_chunks: int | None = None,
    log=print,
) -> dict:
    """Sample every item not yet in the partial file, chunk by chunk; write `path` when complete.

    Under several ranks the chunks still missing are dealt out in rounds, rank r taking the r-th of
    each round, so a chunk is sampled from the same inputs whatever the number of ranks; rank 0
    appends each round's rows in plan order and writes `path`, which every rank can read on return.

    Returns {"keys", "chunks", "chunks_reused", "chunks_sampled"}. `kill_after_chunks` (test-only,
    `star.fault.kill_after_chunks`) SIGKILLs the process after it sampled that many chunks.
    """
    keys = [it.key for it in items]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{path}: duplicate sample keys in the plan")
    main = distributed.is_main()
    partial = partial_path(path)
    done: dict[str, dict] = {}  # rank 0 only: every row written so far
    if main:
        partial.parent.mkdir(parents=True, exist_ok=True)
        done = read_partial(partial)
    done_keys = set(distributed.broadcast(sorted(done)))
    plan = chunks(items, chunk_size)
    todo = [n for n, chunk in enumerate(plan) if any(it.key not in done_keys for it in chunk)]
    world, rank = distributed.world_size(), distributed.rank()
    sampled_here = 0
    for start in range(0, len(todo), world):
        local = []
        if start + rank < len(todo):
            n = todo[start + rank]
            chunk = plan[n]
            texts = fn(chunk, seed)  # the whole chunk, so its inputs never depend on where a crash fell
            if len(texts) != len(chunk):
                raise RuntimeError(f"sampler returned {len(texts)} results for {len(chunk)} prompts")
            rows = [
                it.row(t) if isinstance(t, list) else it.row(**t)
                for it, t in zip(chunk, texts)
                if it.key not in done_keys
            ]
            local.append((n, rows))
            sampled_here += 1
        for n, rows in distributed.gather(local):  # this round's chunks, in plan order
            if main:
                _append(partial, rows)
                done.update((r["key"], r) for r in rows)
                log(f"[star] {path.parent.name}/{path.name}: chunk {n + 1}/{len(plan)} written")
            done_keys.update(r["key"] for r in rows)
        if kill_after_chunks is not None and sampled_here >= kill_after_chunks:
            os.kill(os.getpid(), signal.SIGKILL)  # test-only: a crash in the middle of sampling
    if main:
        write_jsonl_atomic(path, [done[k] for k in keys])
        partial.unlink(missing_ok=True)
    distributed.barrier()  # `path` exists for every rank once this returns
    return {"keys": len(keys), "chunks": len(plan), "chunks_reused": len(plan) - len(todo), "chunks_sampled": len(todo)}
