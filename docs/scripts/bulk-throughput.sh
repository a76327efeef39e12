#!/usr/bin/env bash
# Bulk categorisation throughput of the local cluster with one worker and with two, against one
# process (`retailcam catalogue`), on the same photos and the same model.
#
# Usage: docs/scripts/bulk-throughput.sh MODEL_FOLDER PHOTO_FOLDER [OUT.json]
#   MODEL_FOLDER  a model folder (a run's model/ or a placed one), served as model:bench
#   PHOTO_FOLDER  the photos to categorise (copied into each cluster's data root)
# Needs the Release builds (dotnet build -c Release); prints one JSON line per measurement and
# writes them all to OUT.json (default bulk-throughput.json). Each cluster setup (workers × libtorch
# threads per worker, RETAILCAM_BENCH_SETUPS, default "1:0 2:1 2:0"; 0 threads = one per core)
# categorises the folder twice: "cold" includes the workers' first model load, "warm" does not.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
model=$(realpath "${1:?model folder}")
photos=$(realpath "${2:?photo folder}")
out=${3:-bulk-throughput.json}
cli="dotnet $repo/RetailCam.Cli/bin/Release/net10.0/retailcam.dll"
chunk=${RETAILCAM_BENCH_CHUNK:-64}
: > "$out"

field() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(eval("d"+sys.argv[1]))' "$1"; }

# One process: the CLI's catalogue verb.
single=$(mktemp -d)
result=$($cli catalogue --model "$model" --in "$photos" --out "$single/single.csv" --json 2>/dev/null | tail -1)
echo "{\"setup\":\"one process (retailcam catalogue)\",\"result\":$result}" | tee -a "$out"

for setup in ${RETAILCAM_BENCH_SETUPS:-1:0 2:1 2:0}; do
  workers=${setup%%:*} threads=${setup##*:}
  state=$(mktemp -d /tmp/retailcam-bench-XXXX)
  export RETAILCAM_CLUSTER_STATE=$state RETAILCAM_CLUSTER_WORKERS=$workers RetailCam__Jobs__BulkChunkSize=$chunk RetailCam__Threads=$threads
  cluster=$("$repo/deploy/local-cluster.sh" up | tail -1)
  # The cluster's environment, for the CLI.
  eval "$(echo "$cluster" | python3 -c 'import json,sys,shlex; [print("export %s=%s" % (k, shlex.quote(v))) for k, v in json.load(sys.stdin)["env"].items()]')"
  node=$(echo "$cluster" | field '["nodes"][0]')
  mkdir -p "$RetailCam__DataRoot/models"
  cp -r "$model" "$RetailCam__DataRoot/models/bench"
  cp -r "$photos" "$RetailCam__DataRoot/bulk"
  echo "bench-pass-phrase" | $cli users add bench --role admin --password-stdin >/dev/null
  token=$($cli tokens create bench --json | field '["token"]')
  for round in cold warm; do
    started=$(date +%s.%N)
    job=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"folder":"bulk"}' "$node/api/catalogue")
    id=$(echo "$job" | field '["id"]')
    until [ "$(curl -sf -H "Authorization: Bearer $token" "$node/api/catalogue/$id" | field '["finished"]')" = True ]; do sleep 0.2; done
    ended=$(date +%s.%N)
    progress=$(curl -sf -H "Authorization: Bearer $token" "$node/api/catalogue/$id")
    python3 - "$workers" "$threads" "$round" "$started" "$ended" "$progress" <<'PY' | tee -a "$out"
import json, sys
workers, threads, round_, started, ended, progress = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), json.loads(sys.argv[6])
seconds = ended - started
print(json.dumps({"setup": f"cluster, {workers} worker(s), {threads or 'all'} thread(s) each", "round": round_, "photos": progress["done"],
                  "chunks": progress["chunks"], "failed": progress["failed"], "queuedForReview": progress["queuedForReview"],
                  "seconds": round(seconds, 1), "imagesPerSecond": round(progress["done"] / seconds, 2)}))
PY
  done
  "$repo/deploy/local-cluster.sh" down --purge >/dev/null
  unset RetailCam__DataRoot RetailCam__Storage__Provider ConnectionStrings__RetailCam ConnectionStrings__Redis RetailCam__Jobs__Engine RetailCam__Threads
done
rm -rf "$single"
