# Every target sets up .venv itself; a fresh machine needs only Python 3.11 with pip.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench demo clean package package-check setup-target setup-postgres

# Cortex-M targets: the Arm cross-compiler, newlib, QEMU and a host C compiler (for the QEMU
# plugin that counts instructions). Installed here when running as root (CI does); otherwise the
# command to run is printed, and the app says the same when a target is used.
TARGET_PKGS := gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm gcc

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The window, with the reference CNN (trained on first use, then cached) and the default sequence.
run: $(STAMP) setup-target
	$(VENV)/bin/tinyopt

demo: $(STAMP)
	$(VENV)/bin/tinyopt run --demo --out out/demo

test: $(STAMP) setup-target setup-postgres
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

# A PostgreSQL server on 127.0.0.1 for the test of two search workers sharing one study.
setup-postgres:
	@bash tests/setup_postgres.sh

setup-target:
	@if dpkg -s $(TARGET_PKGS) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing $(TARGET_PKGS)"; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(TARGET_PKGS) >/dev/null; \
	else echo "Cortex-M targets need: sudo apt-get install $(TARGET_PKGS)"; fi

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
