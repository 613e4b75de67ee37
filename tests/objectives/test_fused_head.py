"""On CPU, TRL's fused LM head scoring only the labelled positions gives the log-probabilities,
entropies and gradients of scoring every position (genrm_exp/objectives/fused_head.py)."""

from __future__ import annotations

import pytest
import torch
from support import CACHE, compose
from trl.trainer.utils import add_fused_lm_head

from genrm_exp.modeling import load_model
from genrm_exp.objectives import fused_head


@pytest.fixture
def restore():
    yield
    fused_head.compact_on_cpu(False)


def _pass(model, ids, labels):
    model.zero_grad()
    out = model(input_ids=ids, labels=labels, fused_lm_head=True)
    out.loss.backward()
    grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    return out, grads


def test_labelled_positions_only_equal_every_position(tokenizer, restore):
    torch.manual_seed(0)
    model = load_model(compose(["model=tiny_random"]).model, tokenizer, head="causal_lm", cache=CACHE)
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    ids = torch.randint(100, 5000, (3, 40), generator=torch.Generator().manual_seed(1))
    labels = torch.full_like(ids, -100)
    labels[0, -1], labels[1, 20:25], labels[2, -3:] = ids[0, -1], ids[1, 20:25], ids[2, -3:]  # completions only
    assert fused_head.compact_on_cpu(False)
    every, g_every = _pass(model, ids, labels)
    assert fused_head.compact_on_cpu(True)
    from trl.trainer import utils

    assert utils._use_triton(torch.device("cpu"))  # the compact path is the one taken now
    compact, g_compact = _pass(model, ids, labels)
    assert torch.allclose(compact.loss, every.loss, atol=1e-6)
    for field in ("log_probs", "entropy", "is_top1"):
        assert torch.allclose(getattr(compact, field).float(), getattr(every, field).float(), atol=1e-5), field
    assert len(g_every) == len(g_compact) > 0
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(g_every, g_compact))
