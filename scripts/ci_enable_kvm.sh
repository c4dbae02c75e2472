#!/usr/bin/env bash
# The Android emulator cibuildwheel tests x86_64 Android wheels on needs /dev/kvm, which
# GitHub's Linux runners have but keep root-only: open it to the runner's user.
#   usage: scripts/ci_enable_kvm.sh
set -euo pipefail
echo 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"' |
  sudo tee /etc/udev/rules.d/99-kvm-for-the-android-emulator.rules > /dev/null
sudo udevadm control --reload-rules
sudo udevadm trigger --name-match=kvm
