"""The run's data from its config: training pairs, evaluation sets by name, and what loading kept.

    train, eval_sets, report = load_data(cfg)      # report goes into data.json

The held-out split comes from the training file (data/splits.py: whole prompt groups) unless
data.test names one; eval.max_pairs_per_set takes a seeded sample of whole items over each set's
subsets. A run that does not train (objective.trains false) reads the training file only for its
held-out split and keeps no training pairs; a tie in training data is refused.

Test: python -m pytest tests/data -q
"""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from genrm_exp.data.formats import is_tie
from genrm_exp.data.loaders import load_pairs
from genrm_exp.data.schema import DataError
from genrm_exp.data.splits import sample_whole_items, split_heldout


def _spec(node) -> dict[str, Any]:
    return OmegaConf.to_container(node, resolve=True)


def _load(key: str, node, on_bad_row: str):
    """load_pairs for the config node at `key`; a file that gives no pair at all is a DataError."""
    pairs, rep = load_pairs(_spec(node), on_bad_row=on_bad_row)
    if not pairs:
        skipped = f", skipped {rep.skipped}" if rep.skipped else ""
        raise DataError(
            f"{key}: {node.path if node.get('path') is not None else node.get('hub')}: no pairs "
            f"({rep.rows_read} rows read{skipped}); expected rows with a prompt, a chosen and a "
            f"rejected response in format {node.format!r}"
        )
    return pairs, rep


def load_data(cfg) -> tuple[list, dict[str, list], dict[str, Any]]:
    """Training pairs, evaluation sets by name, and a report of what loading kept and skipped. A run
    that does not train (objective.trains false) reads the training file only for its held-out
    split, and keeps no training pairs."""
    report: dict[str, Any] = {}
    needs_train = bool(cfg.objective.trains) or (cfg.eval.heldout and cfg.data.test is None)
    train: list = []
    if needs_train:
        train, rep = _load("data.train", cfg.data.train, cfg.data.on_bad_row)
        report["train"] = rep.__dict__
        tie = next((p for p in train if is_tie(p)), None)
        if tie is not None:
            raise DataError(
                f"data.train: pair {tie.id!r} is a tie, which has no preferred response to train on "
                "(ties: half keeps ties for evaluation only; use ties: drop)"
            )
    eval_sets: dict[str, list] = {}
    heldout: list = []
    if cfg.data.test is not None:
        if cfg.eval.heldout:
            heldout, rep = _load("data.test", cfg.data.test, cfg.data.on_bad_row)
            report["heldout"] = rep.__dict__
    elif train:
        train, heldout = split_heldout(train, float(cfg.data.heldout_fraction), int(cfg.seed))
    if not cfg.objective.trains:
        train = []
    if cfg.data.max_train_pairs is not None:
        train = train[: int(cfg.data.max_train_pairs)]
    if cfg.eval.heldout and heldout:
        eval_sets["heldout"] = heldout
    for name, spec in cfg.eval.sets.items():
        eval_sets[name], rep = _load(f"eval.sets.{name}", spec, cfg.data.on_bad_row)
        report[name] = rep.__dict__
    if cfg.eval.max_pairs_per_set is not None:  # a seeded sample of whole items over every subset
        eval_sets = {
            k: sample_whole_items(v, int(cfg.eval.max_pairs_per_set), int(cfg.seed)) for k, v in eval_sets.items()
        }
    report["sizes"] = {"train": len(train), **{k: len(v) for k, v in eval_sets.items()}}
    return train, eval_sets, report
