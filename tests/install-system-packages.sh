#!/usr/bin/env bash
# System packages the integration tests drive for real: OBS Studio headless under Xvfb (the OBS tests),
# Chromium (the poser page tests), the libraries OpenCV's wheel links, and for the lip sync tests: PortAudio
# (sounddevice), espeak-ng (speech made on the machine), sox, and PulseAudio with its ALSA plugin (a real
# capture device: a null sink's monitor). Debian/Ubuntu; elsewhere it
# says what to install and carries on (those tests then skip or fail with a message naming the package).
set -euo pipefail
packages=(obs-studio xvfb chromium libgl1 libglib2.0-0 libportaudio2 espeak-ng sox pulseaudio pulseaudio-utils
          libasound2-plugins)
if ! command -v apt-get >/dev/null; then
  echo "no apt-get here: install ${packages[*]} with your package manager for the OBS and browser tests" >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing ${missing[*]} (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
