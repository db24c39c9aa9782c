# Set-up and everyday commands. Needs only python3 (>= 3.11) with venv, and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= demo

.PHONY: install demo test test-fast fuzz lab clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dask]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (emailtrack)" >/dev/null
	touch $(STAMP)

install: $(STAMP)

# A sample workspace in ./demo: 12 months of a 24-agency network, ingested, and a real report.
demo: $(STAMP)
	rm -rf $(DEMO)
	$(BIN)/emailtrack init $(DEMO) --sample
	$(BIN)/emailtrack --workspace $(DEMO) ingest $(DEMO)/data/sample
	$(BIN)/emailtrack --workspace $(DEMO) status
	$(BIN)/emailtrack --workspace $(DEMO) report monthly --month last

# Unit, integration, browser (when Chromium is installed) and notebook (nbval) tests.
test: $(STAMP)
	$(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env --nbval-kernel-name python3

test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -m "not chromium" -x -q

# Hostile input, the long run: property tests with thousands of examples each (hypothesis profile
# "long"), then 2 GB hostile files ingested with their peak memory. Ends with a RESULT line.
fuzz: $(STAMP)
	$(BIN)/python benchmarks/fuzz.py

# JupyterLab on notebooks/ with the project's kernel, reading the demo workspace.
lab: $(STAMP)
	$(BIN)/python -m pip install --quiet jupyterlab
	EMAILTRACK_WORKSPACE=$(abspath $(DEMO)) $(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
