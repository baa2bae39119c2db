# Every target sets up .venv itself; a fresh machine needs only Python 3.11 with pip.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench demo clean package package-check

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The window, with the reference CNN (trained on first use, then cached) and the default sequence.
run: $(STAMP)
	$(VENV)/bin/tinyopt

demo: $(STAMP)
	$(VENV)/bin/tinyopt run --demo --out out/demo

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/run_all.py

# The one-folder desktop build (not part of `make test`): dist/tinyopt-studio/tinyopt-studio
package: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,package]'
	packaging/build.sh $(PY)

package-check:
	packaging/check.sh

clean:
	rm -rf $(VENV) out build dist *.egg-info
