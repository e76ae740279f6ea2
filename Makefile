# Two commands do everything: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint browser speech clean-var

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first: the pinned CPU build, so nothing pulls gigabytes of CUDA packages.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	# The voice encoder without its sdist dependency on webrtcvad (pyproject lists the rest).
	$(BIN)/pip install --quiet --no-deps resemblyzer==0.1.4
	# The invisible-mark figure of bench/provenance_watermark.py (measured, not shipped): without its
	# declared opencv-python (it clashes with the headless build), onnx and onnxruntime.
	$(BIN)/pip install --quiet --no-deps invisible-watermark==0.2.0
	$(BIN)/pip install --quiet PyWavelets==1.9.0
	# The recommender bench's plots (bench/recommender.py; measured, not shipped).
	$(BIN)/pip install --quiet matplotlib==3.11.2
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m config.run

test: $(STAMP) browser speech
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# The beta pages and the share page (it plays H.264, which Debian's build does) are tested in
# headless Chromium from Debian; install it when we can.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not installed: the browser tests will be skipped (apt-get install chromium)"; fi; }

# Cameo registration's tests speak the verification digits with espeak-ng (resampled by sox);
# install them when we can, otherwise those tests skip and say why.
speech:
	@command -v espeak-ng >/dev/null 2>&1 && command -v sox >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq espeak-ng sox >/dev/null; \
	  else echo "espeak-ng or sox not installed: the cameo registration tests will be skipped (apt-get install espeak-ng sox)"; fi; }

clean-var:
	rm -rf var
