"""Run one job, or a sweep with -m.

    python -m genrm_exp                                  # embedded SmolLM2 + LoRA, GenRM, UltraFeedback sample
    python -m genrm_exp model=tiny_random trainer=debug  # a smoke run in under a minute
    python -m genrm_exp -m objective=bt peft=none,lora   # a sweep; then python -m genrm_exp.report multirun/...
"""

from genrm_exp import runtime_env

runtime_env.apply()  # threads and offline defaults must be set before torch is imported

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402

from genrm_exp import run_dirs  # noqa: E402

run_dirs.register()  # the run folder's name (conf/config.yaml hydra.run.dir)


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg) -> float:
    from genrm_exp.pipeline import run

    hc = HydraConfig.get()
    return run(cfg, Path(hc.runtime.output_dir), list(hc.overrides.task))


if __name__ == "__main__":
    sys.exit(main())
