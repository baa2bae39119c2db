# Every target sets up .venv itself; a fresh machine needs only Python 3.11 with pip.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench demo clean package package-check setup-target setup-postgres setup-gui setup-test-display

# Cortex-M targets: the Arm cross-compiler, newlib, QEMU and a host C compiler (for the QEMU
# plugin that counts instructions). Installed here when running as root (CI does); otherwise the
# command to run is printed, and the app says the same when a target is used.
TARGET_PKGS := gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm gcc
# The window: every library PySide6 6.11.3's xcb platform plugin, its GL integrations and QtWebEngine
# link against (found with ldd on them; app/qt_platform.py names the same ones when one is missing
# at start), and a font with the CJK angle brackets Netron writes tensor shapes in (U+3008/U+3009:
# DejaVu has none, and Chromium then draws empty boxes).
GUI_PKGS := libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0 libxcb-render-util0 \
	libxcb-render0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1 libxcb1 \
	libxcb-glx0 libxcb-dri3-0 libx11-6 libx11-xcb1 libxkbcommon0 libxkbcommon-x11-0 libegl1 libgl1 \
	libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0 libnss3 libnspr4 libasound2 libxcomposite1 \
	libxdamage1 libxrandr2 libxtst6 libxkbfile1 libgbm1 libdrm2 libxext6 libxfixes3 libxrender1 \
	fonts-dejavu-core fonts-wqy-microhei
# The test that starts the real window on a virtual X server.
DISPLAY_PKGS := xvfb xauth x11-utils

# $(call apt_need,WHAT,PACKAGES): install the missing PACKAGES as root, else print the command.
define apt_need
	@if dpkg -s $(2) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing $(2)"; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(2) >/dev/null; \
	else echo "$(1) need: sudo apt-get install $(2)"; fi
endef

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# onnx2tf 1.29.24 is the last release for Python 3.11; its exact pins (tensorflow 2.19, numpy
	# 1.26, onnx 1.19) cannot sit beside TF 2.21, so it goes in without them: its runtime deps are
	# pinned in pyproject.toml.
	$(PY) -m pip install --quiet --no-deps onnx2tf==1.29.24
	# tf2onnx (tests only: an NHWC model exported from Keras) pins protobuf 3.20, which TF 2.21
	# cannot use; its converter runs on what is already here.
	$(PY) -m pip install --quiet --no-deps tf2onnx==1.17.0
	touch $(STAMP)

# The window, with the reference CNN (trained on first use, then cached) and the default sequence.
run: $(STAMP) setup-target setup-gui
	$(VENV)/bin/tinyopt

demo: $(STAMP)
	$(VENV)/bin/tinyopt run --demo --out out/demo

test: $(STAMP) setup-target setup-postgres setup-gui setup-test-display
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

# A PostgreSQL server on 127.0.0.1 for the test of two search workers sharing one study.
setup-postgres:
	@bash tests/setup_postgres.sh

setup-target:
	$(call apt_need,Cortex-M targets,$(TARGET_PKGS))

setup-gui:
	$(call apt_need,The window's Qt platform and web view,$(GUI_PKGS))

setup-test-display:
	$(call apt_need,The real-window test,$(DISPLAY_PKGS))

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
