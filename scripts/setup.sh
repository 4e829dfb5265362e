#!/usr/bin/env bash
# Installs what building MemNotebook needs on a fresh Debian machine (the .NET SDK 10 is
# expected on PATH). Idempotent: does nothing when everything is there.
set -euo pipefail

packages=(cmake g++ make pkg-config libzstd-dev libunwind-dev libgtest-dev)
# elfutils' libdw (libdw.so.1, P/Invoked by Recorder): file:line and inlined frames of native frames.
packages+=(libdw1)
# Debian's chromium (/usr/bin/chromium) runs the headless flame-graph test (tests/browser); no browser is downloaded.
packages+=(chromium)
# heaptrack is the reference the native benchmark compares with (bench/MemNotebook.Bench native).
packages+=(heaptrack)
# node and npm read the Arrow tables in the interop test (tests/interop-js); any install will do.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
# Jupyter runs the notebooks in notebooks/ end to end (nbconvert with the .net-csharp-memprofile kernel).
packages+=(jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }
# The .NET Interactive kernel (a dotnet tool) that the notebooks run in.
if ! dotnet tool list -g | grep -qi '^microsoft.dotnet-interactive '; then
  echo "setup: installing the dotnet-interactive tool"
  dotnet tool install -g Microsoft.dotnet-interactive --version 1.0.712001 >/dev/null
fi
# The plain C# kernel (".net-csharp"), where #!memprofile runs in sampled mode (tests/Kernel.SampledTests).
if ! jupyter kernelspec list 2>/dev/null | grep -q '^ *\.net-csharp '; then
  echo "setup: installing the .NET Interactive Jupyter kernels"
  PATH="$PATH:$HOME/.dotnet/tools" "$HOME/.dotnet/tools/dotnet-interactive" jupyter install >/dev/null
fi
