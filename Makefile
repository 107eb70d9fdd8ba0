# Two commands a newcomer needs:  `make app`  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
RAG := $(VENV)/bin/rag
STAMP := $(VENV)/.installed
EXTRAS ?= app,eval,test,llm,postgres
# llama-cpp-python (the llm extra) has no PyPI wheel: pip compiles it, about 10
# CPU-minutes (~5 min on 2 free cores).  Its multimodal library is not needed here;
# skipping it saves ~10%.  pip caches the built wheel, so only the first setup pays.
# GGML_NATIVE=OFF: a portable build.  Which build crashes depends on the host: a native
# build segfaulted at the first token on a host with AMX, a portable one in llama_decode on
# a CI host.  scripts/llama_check.py generates two tokens in a child process after install
# and, if that crashes, rebuilds with the other setting (see the README's llamacpp notes).
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: app test setup index lint clean

## make app: set up everything, build the index if missing, launch the Gradio app
app: setup index
	$(PY) app.py

## make test: set up everything, then run the full test suite and the eval gate
test: setup
	bash scripts/ci_deps.sh
	$(VENV)/bin/lint-imports
	$(RAG) build --quiet
	$(PY) -m pytest -q -rs
	$(RAG) eval --gate
	$(RAG) eval --gate --dataset evals/interview.jsonl --split heldout --configs hybrid \
		--no-ragas --thresholds evals/thresholds_interview.toml
	$(RAG) eval --grading --gate

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	$(PY) scripts/llama_check.py
	touch $(STAMP)

index: setup
	$(RAG) build

lint: setup
	$(VENV)/bin/ruff check rag app.py tests benchmarks
	$(VENV)/bin/lint-imports

## make bench: every benchmark (run it on an idle machine: timings are load-sensitive),
## then docs/benchmarks.md and docs/benchmarks_scale.png are rewritten from the results
.PHONY: bench
bench: setup index
	$(PY) benchmarks/bench_latency.py
	$(PY) benchmarks/bench_embed.py
	$(PY) benchmarks/bench_cold.py
	$(PY) benchmarks/bench_serving.py
	$(PY) benchmarks/bench_quality.py
	$(PY) benchmarks/bench_incremental.py
	$(PY) benchmarks/bench_scale.py
	$(PY) benchmarks/bench_pdf_libraries.py
	$(PY) benchmarks/bench_documents.py
	$(PY) benchmarks/report.py

clean:
	rm -rf index .pytest_cache
