"""Records a scalar reward model would write for best-of-N cells (pair ids `<item>/c<i>r<j>`)."""

from __future__ import annotations


def reward_records(pairs, rewards: dict) -> list[dict]:
    """`rewards[item id] = (rewards of the chosen responses, rewards of the rejected ones)`."""
    records = []
    for p in pairs:
        good, bad = rewards[p.group.split(":", 1)[1]]
        i, j = (int(x) for x in p.id.rsplit("/c", 1)[1].split("r"))
        records.append(
            {
                "id": p.id,
                "subset": p.subset,
                "r_chosen": good[i],
                "r_rejected": bad[j],
                "score": 1.0 if good[i] > bad[j] else 0.0 if good[i] < bad[j] else 0.5,
                "p_chosen": None,
            }
        )
    return records
