#!/usr/bin/env bash
# Sets up, builds, and runs the main job: the quick-start notebook executed by Jupyter in the
# ".NET (C#) — memory tracer" kernel, plus the sample program profiled with `memnb run`:
#   out/quickstart.ipynb        notebooks/quickstart.ipynb executed: flame graphs and tables under its cells
#   out/quickstart.html         the same as one standalone HTML page
#   out/sample.memnb            the sample program's capture
#   out/sample-stats.txt        its readable summary (also printed), out/sample-stats.json the same as JSON
#   out/sample-flamegraph.html  what was alive at the peak, as an interactive flame graph
#   out/sample-summary.html     functions by bytes alive at the peak
# It installs the Jupyter kernel ".net-csharp-memprofile" for the current user (memnb jupyter install).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PATH:$HOME/.dotnet/tools"
dotnet build MemNotebook.sln -c Release -nologo -v q
bash scripts/pack.sh
mkdir -p out
memnb() { dotnet src/Cli/bin/Release/net10.0/memnb.dll "$@"; }
memnb jupyter install
jupyter nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=.net-csharp-memprofile \
  --ExecutePreprocessor.timeout=600 --output-dir out notebooks/quickstart.ipynb
jupyter nbconvert --to html --output-dir out out/quickstart.ipynb
memnb run --force -o out/sample.memnb -- dotnet samples/AllocationTour/bin/Release/net10.0/AllocationTour.dll
memnb stats --top 15 out/sample.memnb | tee out/sample-stats.txt
memnb stats --json out/sample.memnb > out/sample-stats.json
memnb flamegraph --force out/sample.memnb -o out/sample-flamegraph.html
memnb summary --force out/sample.memnb -o out/sample-summary.html
echo "notebook: out/quickstart.ipynb and out/quickstart.html"
echo "report: out/sample-stats.txt, out/sample-stats.json, out/sample-flamegraph.html, out/sample-summary.html (capture: out/sample.memnb)"
