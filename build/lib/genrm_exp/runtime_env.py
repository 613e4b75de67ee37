"""Process-wide defaults set before torch / transformers / wandb are imported.

Each is a default: a value already in the environment wins. On a 2-core machine torch's default
thread count made runs intermittently ~10x slower, so one OpenMP thread is the default there.
"""

import os

DEFAULTS = {
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "WANDB_SILENT": "true",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


def apply() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    if (os.cpu_count() or 1) <= 2:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch.cuda  # noqa: F401  (cheap once torch is importable; avoids DeepSpeed's warning)

        if not torch.cuda.is_available():
            os.environ.setdefault("DS_ACCELERATOR", "cpu")
    except ImportError:
        pass
