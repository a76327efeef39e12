#!/usr/bin/env bash
# Load beside training, interleaved: predictions alone for 60 s, then a default run on CATALOGUE and,
# once past its head-only steps, 45 s alone / 60 s under load / 45 s alone / 60 s under load / 45 s alone.
# Usage: docs/scripts/load-beside-training.sh MODEL_FOLDER CATALOGUE_FOLDER PHOTOS_FOLDER [OUT_FOLDER]
# Writes load-*.json (retailcam load --json), window-*.txt (epoch seconds) and metrics.jsonl into OUT_FOLDER.
set -euo pipefail
model=$1 catalogue=$2 photos=$3 out=${4:-./load-beside-training}
repo=$(cd "$(dirname "$0")/../.." && pwd)
root=$(mktemp -d) port=5152 base=http://127.0.0.1:5152
cli() { dotnet "$repo/RetailCam.Cli/bin/Release/net10.0/retailcam.dll" "$@"; }
api() { curl -sf -H "Authorization: Bearer $token" "$@"; }
mkdir -p "$out" "$root/models"
cp -r "$model" "$root/models/served"
cp -r "$catalogue" "$root/catalogue"
echo 'a long measuring pass phrase' | RetailCam__DataRoot=$root cli users add bench --role admin --password-stdin >/dev/null
token=$(RetailCam__DataRoot=$root cli tokens create bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
(cd "$repo/RetailCam.Web" && RetailCam__DataRoot=$root RetailCam__QuickStart__Enabled=false ASPNETCORE_URLS=$base \
  Logging__LogLevel__Default=Warning exec dotnet bin/Release/net10.0/RetailCam.Web.dll) > "$out/app.log" 2>&1 &
app=$!
trap 'kill $app 2>/dev/null || true; rm -rf "$root"' EXIT
until curl -sf "$base/healthz" >/dev/null; do sleep 1; done
load() { cli load --url "$base" --token "$token" --clients 20 --seconds 60 --photos "$photos" --json > "$out/$1.json"; }
load load-alone
api -H 'Content-Type: application/json' -d '{"name":"Measured","folder":"catalogue"}' "$base/api/datasets" >/dev/null
run=$(api -H 'Content-Type: application/json' -d '{"dataset":"measured","minutes":12}' "$base/api/runs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
until [ "$(api "$base/api/runs/$run" | python3 -c 'import json,sys; print(json.load(sys.stdin)["step"])')" -gt 70 ]; do sleep 2; done
mark() { date +%s > "$out/window-$1.txt"; }
mark 0; sleep 45; mark 1; load load-beside-1; mark 2; sleep 45; mark 3; load load-beside-2; mark 4; sleep 45; mark 5
api -X POST "$base/api/runs/$run/stop" >/dev/null
sleep 5
cp "$root/runs/$run/metrics.jsonl" "$out/metrics.jsonl"
echo "done: $out"
