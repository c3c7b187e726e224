#!/usr/bin/env bash
# Render `calib report` in a real headless browser and save a screenshot.
#
#   deploy/check_report.sh [OUT.png]      (default: docs/images/report.png)
#
# Runs a small sweep (the OU model on 2 simulated series, 8 starts each, embedded cluster with
# 2 workers) in a temporary directory, writes its report with `calib report`, and renders the
# page with Chromium's headless mode (Debian: `apt-get install chromium`) into OUT.png.
# The page is opened from a file:// URL with the network disabled, so an image or style that
# pointed outside the page would be missing from the screenshot.  Look at the PNG afterwards.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
out="$(realpath -m "${1:-$here/docs/images/report.png}")"
calib="${CALIB:-$here/.venv/bin/calib}"
browser="$(command -v chromium || command -v chromium-headless-shell || command -v google-chrome || true)"
if [[ -z "$browser" ]]; then
    echo "check_report: no chromium on PATH (apt-get install chromium)" >&2
    exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/ou.toml" <<'TOML'
[sweep]
name = "ou-report"
seed = 7

[model]
builtin = "ou"

[data.simulate]
datasets = 2
points = 400
truth = { theta = 1.5, mu = 0.5, sigma = 0.3 }

[starts]
n = 8
sampler = "sobol"

[solver]
method = "L-BFGS-B"
trace = true

[run]
starts_per_task = 4
TOML

cd "$work"
export DASK_TEMPORARY_DIRECTORY="$work/dask"
"$calib" run ou.toml --workers 2 --store ou.zarr
"$calib" report ou.zarr -o report.html
mkdir -p "$(dirname "$out")"
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --host-resolver-rules="MAP * ~NOTFOUND" --window-size=1300,2900 \
    --screenshot="$out" "file://$work/report.html" 2>"$work/browser.log" \
    || { cat "$work/browser.log" >&2; exit 1; }
test -s "$out"
echo "check_report: screenshot $out"
