"""On CPU, TRL's fused LM head projects only the positions that carry a label, as it does on GPUs.

    from genrm_exp.objectives import fused_head
    fused_head.compact_on_cpu(True)      # before trainer.train(); process-wide, idempotent

TRL 1.16's SFT and DPO trainers compute per-token log-probabilities through a chunked, fused LM
head (`trl.trainer.utils.add_fused_lm_head`). On Triton devices (CUDA, XPU) it projects only the
positions whose label is not -100. Elsewhere it projects every position, because on compiled
devices such as Neuron a varying number of positions would recompile the tiles on every batch. A
CPU runs the same torch code eagerly, where that reason does not hold; projecting every position
there costs the output layer over every prompt token. For GenRM (one verdict token per row) on the
benchmark's small CPU shape an SFT step went from 2.1 s to 0.17 s. The log-probabilities and
gradients are the same (tests/objectives/test_fused_head.py); with no TRL fused head (another TRL
version) this does nothing.
"""

from __future__ import annotations

_ORIGINAL = None


def compact_on_cpu(on: bool) -> bool:
    """Turn the CPU projection of labelled positions only on or off; True when TRL has the hook."""
    global _ORIGINAL
    try:
        from trl.trainer import utils
    except ImportError:
        return False
    current = getattr(utils, "_use_triton", None)
    if current is None:
        return False
    if _ORIGINAL is None:
        _ORIGINAL = current
    original = _ORIGINAL
    if on:
        utils._use_triton = lambda device: device.type == "cpu" or original(device)
    else:
        utils._use_triton = original
    return True
