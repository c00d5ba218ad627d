# The README's commands. Every target creates .venv with the pinned dependencies first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export NO_MKDOCS_2_WARNING := 1
# One BLAS/OpenMP thread: on 2 cores, threads fighting over small matrix products made
# scikit-learn fits 20-100x slower; results are identical either way.
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
# One OpenBLAS kernel on every x86-64 machine: kernels for newer CPUs fuse operations
# differently, and a last-bit difference can flip one test image in a miniature and move
# a printed third decimal. The pages' outputs were produced with this kernel.
export OPENBLAS_CORETYPE ?= Haswell
# Keep compiled bytecode (and pytest's rewritten test modules) between runs, even where
# the environment turns it off: re-rewriting every test's asserts cost each worker a
# second of the warm loop.
unexport PYTHONDONTWRITEBYTECODE

FONTS := docs/assets/fonts/.made
# pytest-xdist workers: one per core (2 on the reference machine), or PYTEST_WORKERS.
PYTEST_WORKERS ?= auto
# loadgroup: tests marked xdist_group (the PDF's) stay on one worker; the rest balance.
PYTEST := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

.PHONY: serve build check test outputs lint format pdf cards epub bench lock clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The diagrams' font, subset from the files mermaidx measures labels with.
$(FONTS): $(STAMP) mlsd_docs/fonts.py
	$(BIN)/python -m mlsd_docs.fonts
	touch $(FONTS)

serve: $(STAMP) $(FONTS)  ## live-reloading site at http://127.0.0.1:8000
	$(BIN)/mkdocs serve --livereload --dev-addr 127.0.0.1:8000

build: $(STAMP) $(FONTS)  ## strict build into site/
	$(BIN)/mkdocs build --strict

lint: $(STAMP)
	$(BIN)/ruff check snippets tests mlsd_docs bench
	$(BIN)/ruff format --check snippets tests mlsd_docs bench

format: $(STAMP)
	$(BIN)/ruff check --fix snippets tests mlsd_docs bench
	$(BIN)/ruff format snippets tests mlsd_docs bench

# The fast loop reuses a program's output while its code, the code it imports, the lock
# file and the numeric environment are unchanged (tests/guide.py, output_key); `make
# test`, `make outputs` and CI run every program.
check: lint $(FONTS)  ## the fast loop: lint, snippets, page contract, strict build; no browser
	MLSD_OUTPUT_CACHE=$(CURDIR)/.cache/outputs $(PYTEST) -m "not browser and not artifact"

outputs: $(STAMP)  ## rewrite every page's output block from what its program prints
	$(BIN)/python -m pytest -q tests/site/test_pages.py -k output_shown --update-outputs
	$(BIN)/python -m mlsd_docs.figures  # the SVGs, from the programs that print their data
	$(BIN)/python -m snippets.framework.interview_plan --json > docs/assets/practice/plan.json

test: lint node_modules $(FONTS)  ## lint, then every test (snippets, pages, build, browser, PDF)
	$(PYTEST)

pdf: build  ## the book and the interview edition as PDFs in site/ (needs chromium, pdftotext)
	$(BIN)/python -m mlsd_docs.pdf site/mlsd-guide.pdf \
	  --edition site/mlsd-interview-edition.pdf --web-site site

cards: build  ## Anki deck and CSV, one card per self-check: site/mlsd-cards.apkg and .csv
	$(BIN)/python -m mlsd_docs.cards --site site --out-dir site

epub: build  ## the guide as an EPUB 3, validated (fails on any problem): site/mlsd-guide.epub
	$(BIN)/python -m mlsd_docs.epub --site site --out site/mlsd-guide.epub

bench: $(STAMP) node_modules  ## measure build, page weight, search, Lighthouse: bench/results.md
	$(BIN)/python bench/run.py

node_modules: package.json package-lock.json  ## axe-core (tests) and Lighthouse (bench)
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --loglevel=error && touch node_modules; \
	else echo "npm not found: the accessibility tests will skip (apt-get install npm)"; fi

lock:  ## re-resolve pyproject.toml into requirements.lock (uv, with hashes)
	rm -rf /tmp/mlsd-lock && $(PYTHON) -m venv /tmp/mlsd-lock
	/tmp/mlsd-lock/bin/python -m pip install --quiet "uv>=0.13,<0.14"
	/tmp/mlsd-lock/bin/uv pip compile pyproject.toml --extra docs --extra test \
	  --python-version 3.11.5 --generate-hashes --no-header --quiet \
	  --output-file requirements.lock

clean:
	rm -rf $(VENV) site .cache .pytest_cache
