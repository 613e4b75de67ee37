"""Run one job, or a sweep with -m.

    python -m genrm_exp                                  # embedded SmolLM2 + LoRA, GenRM, UltraFeedback sample
    python -m genrm_exp model=tiny_random trainer=debug  # a smoke run in under a minute
    python -m genrm_exp -m objective=bt peft=none,lora   # a sweep; then python -m genrm_exp.report multirun/...

A mistake the user can fix (genrm_exp.errors.UserError: bad data, a wrong setting; or a missing
file) ends a run with one line, ``error: <message>``, the place of the traceback (the run folder's
error.txt, written by genrm_exp.pipeline) and exit status 2; GENRM_TRACEBACK=1 prints the traceback
too. In a sweep (-m) the cell fails as any failed cell does, the others still run, and Hydra names
the failed cell's overrides before the same line at the end (exit status 1). Hydra's own errors (a
misspelt key) read as Hydra writes them.
"""

from genrm_exp import runtime_env

runtime_env.apply()  # threads and offline defaults must be set before torch is imported

import os  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from hydra.errors import CompactHydraException  # noqa: E402
from hydra.types import RunMode  # noqa: E402

from genrm_exp import run_dirs  # noqa: E402
from genrm_exp.errors import UserError  # noqa: E402
from genrm_exp.run_files import ERROR_FILE  # noqa: E402  (written by genrm_exp.pipeline.run on any exception)

run_dirs.register()  # the run folder's name (conf/config.yaml hydra.run.dir)

TRACEBACK_ENV = "GENRM_TRACEBACK"
USER_ERROR_EXIT = 2


class Refusal(CompactHydraException):
    """A user's mistake in one cell of a sweep: Hydra records the cell as FAILED, runs the others,
    and at the end prints a CompactHydraException's message without a traceback."""


def refusal(error: BaseException, run_dir: Path) -> str:
    """What the user reads for `error` raised in the run kept in `run_dir`."""
    kept = run_dir / ERROR_FILE
    if kept.is_file():
        where = f"traceback in {kept}"
    else:  # stopped before the run began: nothing in its folder was written or changed
        where = f"{run_dir} left as it was" if run_dir.is_dir() else "no run folder was written"
    return f"error: {error}\n  ({where}; {TRACEBACK_ENV}=1 prints it)"


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg) -> float:
    from genrm_exp.pipeline import run

    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    try:
        return run(cfg, run_dir, list(hc.overrides.task))
    except (UserError, FileNotFoundError) as e:
        if os.environ.get(TRACEBACK_ENV, "") not in ("", "0"):
            traceback.print_exc()
        if hc.mode == RunMode.MULTIRUN:
            raise Refusal(refusal(e, run_dir)) from e
        # A single run: SystemExit passes Hydra's handler, which would add its own lines.
        print(refusal(e, run_dir), file=sys.stderr)
        raise SystemExit(USER_ERROR_EXIT) from None


if __name__ == "__main__":
    sys.exit(main())
