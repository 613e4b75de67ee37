"""Fit training and evaluation pairs to their token budgets, and count what was cut.

    train, counts = fit_train(pairs, tokenizer, cfg.data, overhead=42, n_responses=2)
    eval_set, counts = fit_eval(pairs, tokenizer, cfg.eval)          # the same text for every method
    fitted = fit_each(pairs, tokenizer, cfg.eval)                    # each pair alone (the API, the server)
    train, eval_sets, fits = fit_sets(cfg, tokenizer, train, eval_sets, report, train_overhead=42)

Training data is fitted per objective: `overhead` is what the objective's template around the texts
takes (the chat template, or the judge prompt), so the formatted sequence stays within
`data.max_length`. An evaluation set is fitted once by a rule that does not depend on the objective
(`eval.fit`, budget.RULES): every method of a grid then scores the same pairs with the same text (the
fingerprints in metrics.json say so), adds its own template around them and cuts nothing more.

- `eval.fit=shared` (ours): the prompt and both responses together within `eval.max_length` tokens
  of text;
- `eval.fit=per_response_left` / `per_response_right`: each prompt + response within
  `eval.max_length` minus the tokens of the model's chat template around one turn, cut as the
  benchmarks' official scalar runners cut it (RewardBench and RM-Bench from the start, RewardBench 2
  from the end; genrm_exp/data/budget.py).

A best-of-N item (pairs of a benchmark sharing a group) is fitted as one: each of its responses is
cut once, the same in every pair, and under `eval.truncation=drop` the item goes whole when any of
its pairs would be cut.
"""

from __future__ import annotations

from collections.abc import Sequence

from genrm_exp.data.budget import RULES, Budget, TruncationCounter, fit_item_text, fit_pair_text
from genrm_exp.data.schema import Pair
from genrm_exp.errors import ConfigError

# Re-encoding cut text can shift a count by a token or two at each cut.
TEMPLATE_MARGIN = 8
MIN_TEXT_TOKENS = 16


def chat_overhead(tokenizer) -> int:
    """Tokens the chat template puts around one user turn and one assistant reply."""
    empty = [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}]
    return len(tokenizer.apply_chat_template(empty, tokenize=True, return_dict=False))


def fit_train(
    pairs: Sequence[Pair], tokenizer, data_cfg, *, overhead: int, n_responses: int, setting: str = "data.max_length"
) -> tuple[list[Pair], dict[str, int]]:
    """Training pairs within `data.max_length` tokens per formatted sequence, `overhead` tokens of it
    taken by the objective's template (plus a small margin); one sequence holds one response
    (`n_responses=1`, BT) or both. Truncated, or with `data.truncation=drop` dropped, and counted."""
    overhead += TEMPLATE_MARGIN
    if int(data_cfg.max_length) - overhead < MIN_TEXT_TOKENS:
        raise ConfigError(
            f"{setting}={data_cfg.max_length} leaves no room for the texts: the objective's template "
            f"takes {overhead} tokens of it; raise {setting}"
        )
    budget = Budget(int(data_cfg.max_length), str(data_cfg.truncation))
    counter, kept = TruncationCounter(), []
    for pair in pairs:
        fitted, result = fit_pair_text(tokenizer, pair, budget, n_responses, overhead)
        counter.add(result)
        if fitted is not None:
            kept.append(fitted)
    return kept, counter.to_dict()


def _items(pairs: Sequence[Pair]) -> list[list[int]]:
    """Indices of the pairs scored together: a benchmark's best-of-N item (a group of a benchmark
    source sharing one prompt), else a pair alone; in order of first appearance."""
    from genrm_exp.benchmarks import BENCHMARKS

    groups: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        key = f"item\0{p.group}" if p.group is not None and p.source in BENCHMARKS else f"pair\0{i}"
        groups.setdefault(key, []).append(i)
    out = []
    for members in groups.values():
        if len({pairs[i].prompt for i in members}) > 1:  # not one prompt: fitted pair by pair
            out += [[i] for i in members]
        else:
            out.append(members)
    return out


def eval_budget(tokenizer, eval_cfg) -> tuple[Budget, str]:
    """The token budget of text and the rule (`eval.fit`) evaluation fits a pair by."""
    rule = str(eval_cfg.fit)
    if rule not in RULES:
        raise ConfigError(f"eval.fit={rule!r}: expected one of {list(RULES)}")
    max_tokens = int(eval_cfg.max_length) - (0 if rule == "shared" else chat_overhead(tokenizer))
    if max_tokens < MIN_TEXT_TOKENS:
        raise ConfigError(f"eval.max_length={eval_cfg.max_length} leaves no room for the texts under eval.fit={rule}")
    return Budget(max_tokens, str(eval_cfg.truncation)), rule


def fit_each(pairs: Sequence[Pair], tokenizer, eval_cfg) -> list[Pair | None]:
    """Each pair fitted alone as evaluation fits a lone pair (fit_eval's rule and budget), in
    input order; None where `eval.truncation=drop` drops it. The API and the server fit what they
    judge with this, so a pair reads the same text as in an evaluation set."""
    budget, rule = eval_budget(tokenizer, eval_cfg)
    return [fit_item_text(tokenizer, [pair], budget, rule)[0][0] for pair in pairs]


def fit_eval(pairs: Sequence[Pair], tokenizer, eval_cfg) -> tuple[list[Pair], dict[str, int]]:
    """An evaluation set fitted by `eval.fit` within `eval.max_length` (module docstring), in input
    order, and the counts of what was cut or dropped (`dropped_with_their_item`: pairs of an item
    dropped because another of its pairs was)."""
    budget, rule = eval_budget(tokenizer, eval_cfg)
    counter = TruncationCounter()
    fitted: list[Pair | None] = [None] * len(pairs)
    with_item = 0
    for members in _items(pairs):
        results = fit_item_text(tokenizer, [pairs[i] for i in members], budget, rule)
        for _, result in results:
            counter.add(result)
        if any(pair is None for pair, _ in results):  # drop: the item goes whole
            with_item += sum(pair is not None for pair, _ in results)
            continue
        for i, (pair, _) in zip(members, results):
            fitted[i] = pair
    counts = counter.to_dict()
    if with_item:
        counts["dropped_with_their_item"] = with_item
    return [p for p in fitted if p is not None], counts


def fit_sets(cfg, tokenizer, train: list, eval_sets: dict[str, list], report: dict, *, train_overhead: int):
    """Fit the training pairs (a run that trains; `train_overhead`: the tokens its objective's
    template takes per sequence) and every evaluation set; `report` (data.json) gets what was cut
    and each set's fingerprint. Returns the fitted data and, per set, its fit as the protocol
    records it (rule, budget and counts)."""
    from genrm_exp.data.fingerprint import fingerprint

    if cfg.objective.trains:
        train, report["truncated_train"] = fit_train(
            train, tokenizer, cfg.data, overhead=train_overhead, n_responses=int(cfg.objective.responses_per_sequence)
        )
    report["truncated_eval"], report["eval_fingerprints"] = {}, {}
    fits = {}
    rule = {"rule": str(cfg.eval.fit), "max_length": int(cfg.eval.max_length), "truncation": str(cfg.eval.truncation)}
    for name in list(eval_sets):
        eval_sets[name], report["truncated_eval"][name] = fit_eval(eval_sets[name], tokenizer, cfg.eval)
        report["eval_fingerprints"][name] = fingerprint(eval_sets[name])
        fits[name] = {**rule, **report["truncated_eval"][name]}
    return train, eval_sets, fits
