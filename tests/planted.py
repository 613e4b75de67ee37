"""A planted preference a reader can check by eye, written as a JSONL file that `data=local` reads.

Every pair holds two responses identical but for one word: the chosen one says a word of WORDS'
first column where the rejected one says its partner ("The answer is kind ..." against "The answer
is rude ..."). Partners have the same number of characters and are one token each, so the responses
are of equal length (both length baselines sit at 50%) and of equal token count; the slot's place
and the filler around it vary from pair to pair, and so does the prompt, so no two pairs are the
same sequence.

    path = write_planted(tmp_path / "planted.jsonl", n=500, seed=0)
    python -m genrm_exp data=local data.train.path=planted.jsonl data.heldout_fraction=0.2 ...
"""

from __future__ import annotations

import json
import random
from pathlib import Path

# (better, worse): the same length in characters, one token each in the SmolLM2 tokenizer.
WORDS = [("good", "poor"), ("kind", "rude"), ("true", "fake"), ("calm", "mean")]
FILLER = (
    "the a this that river stone garden window table paper morning evening city road house bridge "
    "light water small large old new blue green quiet busy near far open round soft plain early late"
).split()
TOPICS = "cat tree boat lamp song town cup door hill coat map bell ship farm cake desk".split()


def planted_rows(n: int, seed: int) -> list[dict]:
    """`n` rows {id, prompt, chosen, rejected, better, worse}: prompt / chosen / rejected as the
    `local` format reads them, and the two words for a reader."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        better, worse = WORDS[rng.randrange(len(WORDS))]
        words = [rng.choice(FILLER) for _ in range(rng.randint(5, 10))]
        slot = rng.randint(1, len(words))  # after a word, so the slot is always " good" (one token)

        def say(word: str, words=words, slot=slot) -> str:
            return " ".join([*words[:slot], word, *words[slot:]]) + "."

        rows.append(
            {
                "id": f"p{i}",
                "prompt": f"Say something about the {rng.choice(TOPICS)} (note {i}).",
                "chosen": say(better),
                "rejected": say(worse),
                "better": better,
                "worse": worse,
            }
        )
    return rows


def write_planted(path: Path, *, n: int, seed: int = 0, shuffle_labels: bool = False) -> Path:
    """The rows as JSONL; `shuffle_labels` swaps chosen and rejected in a random half of the pairs
    (the control: the word no longer says which response was chosen)."""
    rows = planted_rows(n, seed)
    if shuffle_labels:
        coin = random.Random(seed + 1)
        rows = [{**r, "chosen": r["rejected"], "rejected": r["chosen"]} if coin.random() < 0.5 else r for r in rows]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path
