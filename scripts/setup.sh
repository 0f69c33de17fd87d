#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine: the system packages Manim and
# LaTeX need, then a virtual environment at .venv with the pinned Python dependencies.
# Safe to run again: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libcairo2-dev libpango1.0-dev pkg-config      # build deps of manim's cairo/pango bindings
  texlive-latex-base texlive-latex-extra texlive-fonts-recommended dvisvgm  # MathTex
  graphviz                                      # `dot` lays out computational graphs
  fonts-nanum                                   # Korean captions
  chromium                                      # the gallery's browser test
  espeak-ng                                     # draft voices for lectures (render.py lecture --voice draft)
  poppler-utils                                 # the handout's tests read its PDF (pdftotext, pdfimages)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
stamp=.venv/.requirements.sha
want=$(cat requirements.lock requirements.txt pyproject.toml 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python dependencies into .venv"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.lock
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi

# reveal.js for HTML slides (manim-slides inlines it into one offline file), from the npm registry once
if ! command -v npm >/dev/null; then
  echo "setup: installing npm (reveal.js for HTML slides comes from the npm registry)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
.venv/bin/python -c "from pipeline.slides import fetch_reveal; fetch_reveal()" \
  || echo "setup: could not fetch reveal.js with npm: HTML slides will try again when they are made"
