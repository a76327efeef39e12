#!/usr/bin/env bash
# A RetailCam cluster on one machine, for trying scale-out and for tests: a private PostgreSQL, a
# private Redis, two web nodes behind nginx with sticky sessions, and N workers, all on 127.0.0.1,
# all state under one folder. docs/SCALE-OUT.md describes the topology and the settings.
#
# Usage: deploy/local-cluster.sh up | down [--purge] | status
#
#   up      starts whatever is not running (installs postgresql, redis-server, nginx and curl with
#           apt-get when missing) and prints, as its last line on stdout, one JSON object:
#           {"balancer","nodes":[…],"workers","env":{…}}; `env` is what `retailcam` needs to act
#           on the cluster. Progress goes to stderr. A cluster that already runs is left alone.
#   down    stops workers, web nodes (SIGTERM, then SIGKILL after RETAILCAM_CLUSTER_STOP_SECONDS),
#           nginx, Redis and PostgreSQL; --purge also deletes the state folder.
#   status  one line per process; the JSON last when everything runs (exit 0, else 3).
#
# Settings (environment):
#   RETAILCAM_CLUSTER_STATE          state folder (default ${XDG_RUNTIME_DIR:-/tmp}/retailcam-cluster)
#   RETAILCAM_CLUSTER_DATA_ROOT      the shared data root (default $STATE/data)
#   RETAILCAM_CLUSTER_PORT           balancer port; RETAILCAM_CLUSTER_WEB_A_PORT, _WEB_B_PORT,
#                                    _PG_PORT, _REDIS_PORT the others (default: free loopback ports,
#                                    kept in $STATE/cluster.env for the next start)
#   RETAILCAM_CLUSTER_WORKERS        workers to start (default 2; 0 starts none)
#   RETAILCAM_WEB_DLL, RETAILCAM_WORKER_DLL
#                                    builds to run (default: the Release outputs, built when missing)
#   RETAILCAM_CLUSTER_TIMEOUT        seconds to wait for each health check (default 180)
#   RETAILCAM_CLUSTER_STOP_SECONDS   seconds a node gets to stop on SIGTERM (default 90)
#   RETAILCAM_CLUSTER_SEPARATE_ROOTS debug aid, 1: every process gets its own data root under
#                                    $STATE/separate-roots/ (for a build that still takes the data
#                                    root lock); that is no cluster, the printed env names the shared root
# Other variables of the caller's environment (RetailCam__Device, Logging__…) reach every process.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
caller_umask=$(umask)
umask 077

say() { printf 'local-cluster: %s\n' "$*" >&2; }
die() { printf 'local-cluster: error: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
as_root() {
  if is_root; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root or sudo for: $*"
  fi
}
absolute() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

state=$(absolute "${RETAILCAM_CLUSTER_STATE:-${XDG_RUNTIME_DIR:-/tmp}/retailcam-cluster}")
pids=$state/pids
logs=$state/logs
pg_home=$state/pg
pg_data=$pg_home/data
pg_socket=$pg_home/socket
pg_log=$logs/postgres.log
nginx_home=$state/nginx
nginx_conf=$nginx_home/nginx.conf
timeout_seconds=${RETAILCAM_CLUSTER_TIMEOUT:-180}
stop_seconds=${RETAILCAM_CLUSTER_STOP_SECONDS:-90}
[[ $timeout_seconds =~ ^[0-9]+$ ]] || die "RETAILCAM_CLUSTER_TIMEOUT=$timeout_seconds is no number of seconds"
[[ $stop_seconds =~ ^[0-9]+$ ]] || die "RETAILCAM_CLUSTER_STOP_SECONDS=$stop_seconds is no number of seconds"
web_nodes=(web-a web-b)

# ---------------------------------------------------------------------------------------------
# Recorded settings: $STATE/cluster.env, shell assignments written by save_state.

cluster_balancer_port='' cluster_web_a_port='' cluster_web_b_port='' cluster_pg_port='' cluster_redis_port=''
cluster_pg_password='' cluster_data_root='' cluster_workers=0 cluster_web_dll='' cluster_worker_dll=''
cluster_separate_roots=0

load_state() {
  local file=$state/cluster.env
  [ -e "$file" ] || return 0
  [ -O "$file" ] || die "$file belongs to another user: run as that user, or choose another RETAILCAM_CLUSTER_STATE"
  # shellcheck source=/dev/null
  . "$file"
}

save_state() {
  local name
  {
    echo "# Written by deploy/local-cluster.sh: what the cluster under this folder runs with."
    for name in cluster_balancer_port cluster_web_a_port cluster_web_b_port cluster_pg_port cluster_redis_port \
                cluster_pg_password cluster_data_root cluster_workers cluster_web_dll cluster_worker_dll cluster_separate_roots; do
      printf '%s=%q\n' "$name" "${!name}"
    done
  } > "$state/cluster.env.new"
  mv -f "$state/cluster.env.new" "$state/cluster.env"
}

# The one serialisation of the settings a process or a `retailcam` command gets.
pg_connection() { printf 'Host=127.0.0.1;Port=%s;Database=retailcam;Username=retailcam;Password=%s' "$cluster_pg_port" "$cluster_pg_password"; }
redis_connection() { printf '127.0.0.1:%s' "$cluster_redis_port"; }
node_port() { case $1 in web-a) echo "$cluster_web_a_port" ;; web-b) echo "$cluster_web_b_port" ;; esac; }
node_data_root() {
  if [ "$cluster_separate_roots" = 1 ]; then echo "$state/separate-roots/$1"; else echo "$cluster_data_root"; fi
}
worker_names() { local i; for ((i = 1; i <= cluster_workers; i++)); do echo "worker-$i"; done; }

json_string() {
  local s=$1
  case $s in *[[:cntrl:]]*) die "cannot put a value with a control character into JSON: $s" ;; esac
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

cluster_json() {
  printf '{"balancer":%s,"nodes":[%s,%s],"workers":%d,"env":{"RetailCam__DataRoot":%s,"RetailCam__Storage__Provider":"postgres","ConnectionStrings__RetailCam":%s,"ConnectionStrings__Redis":%s,"RetailCam__Jobs__Engine":"hangfire"}}\n' \
    "$(json_string "http://127.0.0.1:$cluster_balancer_port")" \
    "$(json_string "http://127.0.0.1:$cluster_web_a_port")" \
    "$(json_string "http://127.0.0.1:$cluster_web_b_port")" \
    "$cluster_workers" \
    "$(json_string "$cluster_data_root")" \
    "$(json_string "$(pg_connection)")" \
    "$(json_string "$(redis_connection)")"
}

# ---------------------------------------------------------------------------------------------
# Processes. A pid counts only while /proc shows that very process (its command line holds the
# marker), so a pid file left by a crash never names an unrelated process that got the number.

process_matches() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -qF -- "$2"; }

pid_from_file() {
  local file=$1 marker=$2 pid
  [ -r "$file" ] || return 1
  pid=$(head -n 1 "$file" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && process_matches "$pid" "$marker" && echo "$pid"
}

node_marker() { case $1 in worker-*) echo "${cluster_worker_dll:-dotnet}" ;; *) echo "${cluster_web_dll:-dotnet}" ;; esac; }
node_pid() { pid_from_file "$pids/$1.pid" "$(node_marker "$1")"; }
postgres_pid() { pid_from_file "$pg_data/postmaster.pid" "$pg_data"; }
redis_pid() { pid_from_file "$pids/redis.pid" redis-server; }
nginx_pid() { pid_from_file "$pids/nginx.pid" "$nginx_conf"; }

# "name pid" for every process the recorded cluster has, pid empty when it does not run.
cluster_processes() {
  local name
  echo "postgres $(postgres_pid || true)"
  echo "redis $(redis_pid || true)"
  for name in "${web_nodes[@]}" $(worker_names); do echo "$name $(node_pid "$name" || true)"; done
  echo "nginx $(nginx_pid || true)"
}

running_count() { cluster_processes | awk 'NF == 2' | wc -l; }
process_count() { cluster_processes | wc -l; }

# Sends SIGTERM to the given pids (their whole process group when they lead one, as the nodes
# started by start_node do), waits up to SECONDS for all, then SIGKILLs the rest.
stop_pids() {
  local seconds=$1 label=$2 pid deadline left
  shift 2
  [ $# -gt 0 ] || return 0
  say "stopping $label (SIGTERM, up to ${seconds}s)"
  for pid in "$@"; do signal_process TERM "$pid"; done
  deadline=$((SECONDS + seconds))
  while :; do
    left=()
    for pid in "$@"; do
      if [ -d "/proc/$pid" ] && ! is_zombie "$pid"; then left+=("$pid"); fi
    done
    [ ${#left[@]} -gt 0 ] || return 0
    [ "$SECONDS" -lt "$deadline" ] || break
    sleep 1
  done
  say "still running after ${seconds}s, killing: ${left[*]}"
  for pid in "${left[@]}"; do signal_process KILL "$pid"; done
}

# /proc/PID/stat after the command name: state, parent, process group, …
process_stat() { local stat; stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; echo "${stat##*) }"; }
process_group() { local fields; read -r -a fields <<< "$(process_stat "$1")" && echo "${fields[2]:-}"; }
is_zombie() { local stat; stat=$(process_stat "$1") && [ "${stat%% *}" = Z ]; }
signal_process() {
  if [ "$(process_group "$2" 2>/dev/null || true)" = "$2" ]; then kill "-$1" -- "-$2" 2>/dev/null || true
  else kill "-$1" "$2" 2>/dev/null || true
  fi
}

# Fails `up` with the last lines of the log that tells why; what runs is left running to look at.
fail_with_log() {
  local message=$1 log=$2
  printf 'local-cluster: error: %s\n' "$message" >&2
  if [ -r "$log" ]; then
    printf 'local-cluster: last lines of %s:\n' "$log" >&2
    tail -n 40 "$log" | sed 's/^/  | /' >&2
  fi
  printf 'local-cluster: what started is still running; stop it with: %s down\n' "$0" >&2
  exit 1
}

# Waits until URL answers 200; fails early when the process behind it (pid function NAME) exits.
wait_http() {
  local label=$1 url=$2 log=$3 name=${4:-} deadline=$((SECONDS + timeout_seconds))
  until curl -fs -o /dev/null --max-time 5 "$url"; do
    if [ -n "$name" ] && ! node_pid "$name" >/dev/null; then fail_with_log "$label exited while starting" "$log"; fi
    [ "$SECONDS" -lt "$deadline" ] || fail_with_log "$label did not answer GET $url with 200 within ${timeout_seconds}s" "$log"
    sleep 1
  done
}

# ---------------------------------------------------------------------------------------------
# Ports

# shellcheck disable=SC2016 # $1 is the inner shell's argument
port_in_use() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }

# Sets VAR to: the port named by ENVNAME, else the recorded one while free, else a free one below
# the kernel's ephemeral range (so outgoing connections never take it between two starts).
port_settings=(RETAILCAM_CLUSTER_PORT RETAILCAM_CLUSTER_WEB_A_PORT RETAILCAM_CLUSTER_WEB_B_PORT RETAILCAM_CLUSTER_PG_PORT RETAILCAM_CLUSTER_REDIS_PORT)

choose_port() {
  local var=$1 envname=$2 given=${!2:-} recorded=${!1:-} candidate tries taken other
  # Ports the others have or were given, this one's own recorded port aside.
  taken=" $cluster_balancer_port $cluster_web_a_port $cluster_web_b_port $cluster_pg_port $cluster_redis_port "
  [ -z "$recorded" ] || taken=${taken/ $recorded / }
  for other in "${port_settings[@]}"; do [ "$other" = "$envname" ] || taken+="${!other:-} "; done
  if [ -n "$given" ]; then
    if ! [[ $given =~ ^[0-9]+$ ]] || [ "$given" -lt 1 ] || [ "$given" -gt 65535 ]; then die "$envname=$given is no port number"; fi
    case $taken in *" $given "*) die "port $given ($envname) is another part's port" ;; esac
    port_in_use "$given" && die "port $given ($envname) is in use"
    printf -v "$var" '%s' "$given"
    return
  fi
  if [ -n "$recorded" ]; then
    case $taken in *" $recorded "*) ;; *) port_in_use "$recorded" || return 0 ;; esac
    say "port $recorded, recorded for $envname, is taken now: choosing another"
  fi
  for ((tries = 0; tries < 200; tries++)); do
    candidate=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    case $taken in *" $candidate "*) continue ;; esac
    port_in_use "$candidate" && continue
    printf -v "$var" '%s' "$candidate"
    return
  done
  die "found no free loopback port for $envname"
}

# ---------------------------------------------------------------------------------------------
# Tools

pg_bin=''
nginx_bin=''

find_tools() {
  local dir
  pg_bin=''
  # The newest installed PostgreSQL (Debian keeps each major version's tools apart).
  while read -r dir; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/psql" ]; then pg_bin=$dir; fi
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
  if [ -z "$pg_bin" ] && command -v initdb >/dev/null 2>&1; then pg_bin=$(dirname "$(command -v initdb)"); fi
  nginx_bin=$(command -v nginx 2>/dev/null || true)
  if [ -z "$nginx_bin" ] && [ -x /usr/sbin/nginx ]; then nginx_bin=/usr/sbin/nginx; fi
}

install_missing_tools() {
  local missing=()
  find_tools
  [ -n "$pg_bin" ] || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
  [ -n "$nginx_bin" ] || missing+=(nginx)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} with apt-get"
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    find_tools
  fi
  [ -n "$pg_bin" ] || die "PostgreSQL's initdb, pg_ctl and psql are not found (package postgresql)"
  [ -n "$nginx_bin" ] || die "nginx is not found (package nginx)"
  command -v dotnet >/dev/null 2>&1 || die "dotnet is not on the PATH"
  if is_root; then
    command -v runuser >/dev/null 2>&1 || die "runuser (util-linux) is needed to run PostgreSQL as the postgres user"
    id postgres >/dev/null 2>&1 || die "there is no postgres user to run PostgreSQL as (package postgresql creates it)"
  fi
}

# PostgreSQL refuses to run as root: as root its tools run as the postgres user.
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

# The builds to run: the given ones, else the Release outputs, built once when missing.
choose_builds() {
  local default_web=$repo/RetailCam.Web/bin/Release/net10.0/RetailCam.Web.dll
  local default_worker=$repo/RetailCam.Worker/bin/Release/net10.0/RetailCam.Worker.dll
  local project projects=()
  cluster_web_dll=$(absolute "${RETAILCAM_WEB_DLL:-$default_web}")
  cluster_worker_dll=$(absolute "${RETAILCAM_WORKER_DLL:-$default_worker}")
  if [ ! -f "$cluster_web_dll" ] && [ -z "${RETAILCAM_WEB_DLL:-}" ]; then projects+=(RetailCam.Web); fi
  if [ "$cluster_workers" -gt 0 ] && [ ! -f "$cluster_worker_dll" ]; then
    # Fail before any build when there is nothing a build could give.
    if [ -n "${RETAILCAM_WORKER_DLL:-}" ] || [ ! -d "$repo/RetailCam.Worker" ]; then check_worker_build; fi
    projects+=(RetailCam.Worker)
  fi
  for project in "${projects[@]}"; do
    say "$project is not built: dotnet build $project -c Release (once)"
    # No build servers: they would outlive the script holding its lock and output streams.
    (cd "$repo" && dotnet build "$project" -c Release -nologo -v q --disable-build-servers < /dev/null >&2 9>&-) ||
      die "dotnet build $project failed"
  done
  check_builds
}

check_builds() {
  [ -f "$cluster_web_dll" ] || die "no web build at $cluster_web_dll (RETAILCAM_WEB_DLL)"
  check_worker_build
}

check_worker_build() {
  if [ "$cluster_workers" -gt 0 ] && [ ! -f "$cluster_worker_dll" ]; then
    die "no worker build at $cluster_worker_dll: build RetailCam.Worker, point RETAILCAM_WORKER_DLL at one, or start without workers with RETAILCAM_CLUSTER_WORKERS=0"
  fi
}

# ---------------------------------------------------------------------------------------------
# Pieces of `up`

make_folders() {
  if [ -d "$state" ] && [ ! -e "$state/.retailcam-cluster" ] && [ -n "$(ls -A "$state")" ]; then
    die "$state exists and is no cluster's state folder: choose another RETAILCAM_CLUSTER_STATE"
  fi
  mkdir -p "$state" "$pids" "$logs" "$nginx_home/tmp" "$state/redis"
  : > "$state/.retailcam-cluster"
  # As root, the postgres user (PostgreSQL) and nginx's worker user pass through the state folder
  # to their own sub-folders, and see nothing else of it.
  chmod 711 "$state" "$logs" "$nginx_home" "$nginx_home/tmp"
  if is_root; then
    runuser -u postgres -- test -x "$state" ||
      die "the postgres user cannot reach $state (a parent folder is private): set RETAILCAM_CLUSTER_STATE to a folder under /tmp or /var/tmp"
  fi
}

settle_settings() {
  cluster_data_root=$(absolute "${RETAILCAM_CLUSTER_DATA_ROOT:-${cluster_data_root:-$state/data}}")
  cluster_workers=${RETAILCAM_CLUSTER_WORKERS:-2}
  [[ $cluster_workers =~ ^[0-9]+$ ]] || die "RETAILCAM_CLUSTER_WORKERS=$cluster_workers is no count"
  cluster_separate_roots=${RETAILCAM_CLUSTER_SEPARATE_ROOTS:-0}
  [ -n "$cluster_pg_password" ] || cluster_pg_password=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
  choose_port cluster_balancer_port RETAILCAM_CLUSTER_PORT
  choose_port cluster_web_a_port RETAILCAM_CLUSTER_WEB_A_PORT
  choose_port cluster_web_b_port RETAILCAM_CLUSTER_WEB_B_PORT
  choose_port cluster_pg_port RETAILCAM_CLUSTER_PG_PORT
  choose_port cluster_redis_port RETAILCAM_CLUSTER_REDIS_PORT
}

# Writes FILE as the postgres user (the data folder is that user's alone).
pg_write() { as_pg tee "$1" >/dev/null; }
pg_quote() { printf "'%s'" "${1//\'/\'\'}"; }

start_postgres() {
  local pid socket_file=$pg_socket/.s.PGSQL.$cluster_pg_port
  if pid=$(postgres_pid); then
    say "PostgreSQL already runs (pid $pid)"
  else
    [ ${#socket_file} -le 107 ] || die "$socket_file is too long for a Unix socket: choose a shorter RETAILCAM_CLUSTER_STATE"
    mkdir -p "$pg_home"
    [ -e "$pg_log" ] || : > "$pg_log"
    if is_root; then chown postgres: "$pg_home" "$pg_log"; fi
    if [ ! -s "$pg_data/PG_VERSION" ]; then
      say "creating a PostgreSQL cluster in $pg_data"
      as_pg "$pg_bin/initdb" -D "$pg_data" -U "$(as_pg id -un)" -E UTF8 --no-locale \
        --auth-local=peer --auth-host=scram-sha-256 >> "$pg_log" 2>&1 ||
        fail_with_log "initdb failed" "$pg_log"
      echo "include_if_exists = 'retailcam-cluster.conf'" | as_pg tee -a "$pg_data/postgresql.conf" >/dev/null
    fi
    as_pg mkdir -p "$pg_socket"
    {
      echo "# Written by deploy/local-cluster.sh on every start."
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $cluster_pg_port"
      echo "unix_socket_directories = $(pg_quote "$pg_socket")"
      echo "unix_socket_permissions = 0700"
      echo "password_encryption = 'scram-sha-256'"
      echo "# Two web nodes and the workers each keep a connection pool."
      echo "max_connections = 200"
    } | pg_write "$pg_data/retailcam-cluster.conf"
    say "starting PostgreSQL on 127.0.0.1:$cluster_pg_port"
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t 60 start >/dev/null 9>&- ||
      fail_with_log "PostgreSQL did not start" "$pg_log"
  fi
  # The role's password is (re)set on every start, so the recorded one is always the valid one.
  as_pg "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$pg_socket" -p "$cluster_pg_port" -U "$(as_pg id -un)" -d postgres >/dev/null <<SQL ||
SELECT 'CREATE ROLE retailcam LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'retailcam')\gexec
ALTER ROLE retailcam WITH LOGIN PASSWORD '$cluster_pg_password';
SELECT 'CREATE DATABASE retailcam OWNER retailcam' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'retailcam')\gexec
SQL
    fail_with_log "could not create the role and database retailcam" "$pg_log"
  PGPASSWORD=$cluster_pg_password "$pg_bin/psql" -X -q -At -h 127.0.0.1 -p "$cluster_pg_port" -U retailcam -d retailcam \
    -c 'SELECT 1' >/dev/null || fail_with_log "PostgreSQL refuses the role retailcam on 127.0.0.1:$cluster_pg_port" "$pg_log"
}

start_redis() {
  local pid deadline
  if pid=$(redis_pid); then
    say "Redis already runs (pid $pid)"
    return
  fi
  say "starting Redis on 127.0.0.1:$cluster_redis_port"
  # Redis keeps its default snapshots in $STATE/redis, so what lives there (the Data Protection
  # keys) survives a down and up; nothing depends on it.
  redis-server --bind 127.0.0.1 --port "$cluster_redis_port" --protected-mode yes --dir "$state/redis" \
    --daemonize yes --pidfile "$pids/redis.pid" --logfile "$logs/redis.log" < /dev/null > /dev/null 9>&- ||
    fail_with_log "redis-server did not start" "$logs/redis.log"
  deadline=$((SECONDS + 30))
  until [ "$(redis-cli -h 127.0.0.1 -p "$cluster_redis_port" ping 2>/dev/null)" = PONG ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail_with_log "Redis does not answer PING" "$logs/redis.log"
    sleep 0.2
  done
}

# A web node (web-*) or a worker (worker-*), in its own session so that `down` can stop its group.
start_node() {
  local name=$1 pid dll port root log=$logs/$1.log
  if pid=$(node_pid "$name"); then
    say "$name already runs (pid $pid)"
    return
  fi
  case $name in worker-*) dll=$cluster_worker_dll port='' ;; *) dll=$cluster_web_dll port=$(node_port "$name") ;; esac
  root=$(node_data_root "$name")
  mkdir -p "$root"
  say "starting $name${port:+ on 127.0.0.1:$port} ($log)"
  printf '=== %s local-cluster.sh starts %s\n' "$(date -Is)" "$name" >> "$log"
  (
    cd "$(dirname "$dll")"
    umask "$caller_umask"
    RetailCam__DataRoot=$root
    ConnectionStrings__RetailCam=$(pg_connection)
    ConnectionStrings__Redis=$(redis_connection)
    export RetailCam__DataRoot ConnectionStrings__RetailCam ConnectionStrings__Redis
    export RetailCam__Storage__Provider=postgres
    export RetailCam__Jobs__Engine=hangfire
    export RetailCam__NodeName="$name"
    export RetailCam__QuickStart__Enabled=false
    if [ -n "$port" ]; then
      export ASPNETCORE_URLS="http://127.0.0.1:$port"
    else
      unset ASPNETCORE_URLS
      export RetailCam__Jobs__Queues=training,bulk
    fi
    exec setsid nohup dotnet "$dll" >> "$log" 2>&1 < /dev/null 9>&-
  ) &
  pid=$!
  echo "$pid" > "$pids/$name.pid"
  # Out of this shell's job table: a node that dies is reported by wait_http, not by bash.
  disown "$pid"
  # Until the subshell has exec'd dotnet, its command line is this script's: wait for that much.
  while [ -d "/proc/$pid" ] && ! is_zombie "$pid" && ! process_matches "$pid" "$dll"; do sleep 0.1; done
}

write_nginx_conf() {
  local a=$cluster_web_a_port b=$cluster_web_b_port user_line='' user
  if is_root; then
    user=nobody
    id www-data >/dev/null 2>&1 && user=www-data
    user_line="user $user $(id -gn "$user");"
  fi
  cat > "$nginx_conf" <<NGINX
# Written by deploy/local-cluster.sh on every start of nginx: edits here are lost.
daemon on;
$user_line
worker_processes 2;
pid $pids/nginx.pid;
error_log $logs/nginx-error.log notice;

events {
    worker_connections 1024;
}

http {
    server_tokens off;
    log_format retailcam '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent '
                         'node=\$retailcam_node upstream=\$upstream_addr cookie="\$cookie_retailcam_node" '
                         'time=\$request_time';
    access_log $logs/nginx-access.log retailcam;
    client_body_temp_path $nginx_home/tmp/client_body;
    proxy_temp_path $nginx_home/tmp/proxy;
    fastcgi_temp_path $nginx_home/tmp/fastcgi;
    uwsgi_temp_path $nginx_home/tmp/uwsgi;
    scgi_temp_path $nginx_home/tmp/scgi;

    # Sticky sessions, which Blazor Server circuits need. Open-source nginx has no sticky
    # directive, so the balancer routes by a cookie of its own: a client with retailcam_node=a|b
    # goes to that node; a new one is spread by a hash of the request id and gets the cookie.
    map \$cookie_retailcam_node \$retailcam_known {
        a a;
        b b;
        default "";
    }
    split_clients "\$request_id" \$retailcam_new {
        50% a;
        *   b;
    }
    map \$retailcam_known \$retailcam_node {
        ""      \$retailcam_new;
        default \$retailcam_known;
    }
    # The cookie names the node that answered: after a failover the client stays on the node
    # that now holds its circuit.
    map \$upstream_addr \$retailcam_answered {
        "~127\\.0\\.0\\.1:$a\$" a;
        "~127\\.0\\.0\\.1:$b\$" b;
        default "";
    }
    map "\$retailcam_known:\$retailcam_answered" \$retailcam_set_cookie {
        "a:a" "";
        "b:b" "";
        "~:(?<answered>[ab])\$" "retailcam_node=\$answered; Path=/; HttpOnly; SameSite=Lax";
        default "";
    }
    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ""      "";
    }

    # Each node's group holds the other as backup: when a node is down its clients reach the other.
    upstream retailcam_a {
        server 127.0.0.1:$a max_fails=1 fail_timeout=10s;
        server 127.0.0.1:$b backup;
        keepalive 16;
    }
    upstream retailcam_b {
        server 127.0.0.1:$b max_fails=1 fail_timeout=10s;
        server 127.0.0.1:$a backup;
        keepalive 16;
    }

    server {
        listen 127.0.0.1:$cluster_balancer_port;

        # Photos and .zip files of photos go straight through to the node, which has the limits.
        client_max_body_size 256m;
        proxy_request_buffering off;
        # SignalR (WebSockets, server-sent events, long polling) needs answers passed on at once.
        proxy_buffering off;
        proxy_http_version 1.1;
        proxy_set_header Host \$http_host;
        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto \$scheme;
        proxy_set_header X-Forwarded-Host \$http_host;
        proxy_set_header Upgrade \$http_upgrade;
        proxy_set_header Connection \$connection_upgrade;
        proxy_connect_timeout 2s;
        proxy_send_timeout 1h;
        proxy_read_timeout 1h;
        proxy_next_upstream error timeout;
        add_header Set-Cookie \$retailcam_set_cookie always;

        location / {
            proxy_pass http://retailcam_\$retailcam_node;
        }
    }
}
NGINX
}

start_nginx() {
  local pid deadline nginx=("$nginx_bin" -p "$nginx_home/" -c "$nginx_conf" -e "$logs/nginx-error.log")
  if pid=$(nginx_pid); then
    say "nginx already runs (pid $pid)"
    return
  fi
  write_nginx_conf
  "${nginx[@]}" -t -q < /dev/null > /dev/null 2>> "$logs/nginx-error.log" 9>&- || fail_with_log "nginx refuses $nginx_conf" "$logs/nginx-error.log"
  say "starting nginx on 127.0.0.1:$cluster_balancer_port"
  "${nginx[@]}" < /dev/null > /dev/null 2>> "$logs/nginx-error.log" 9>&- || fail_with_log "nginx did not start" "$logs/nginx-error.log"
  deadline=$((SECONDS + 10))
  until nginx_pid >/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail_with_log "nginx wrote no pid file" "$logs/nginx-error.log"
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
# Commands

lock_state() {
  exec 9>> "$state/.lock"
  flock -w 600 9 || die "another deploy/local-cluster.sh holds $state for 10 minutes"
}

cmd_up() {
  local name running total
  make_folders
  lock_state
  load_state
  running=$(running_count)
  total=$(process_count)
  install_missing_tools
  if [ "$running" -gt 0 ]; then
    # While anything runs, the cluster keeps what it was started with: `down` first to change it.
    if [ "$running" -eq "$total" ]; then say "the cluster already runs ($state); settings given now apply after a down"
    else say "the cluster partly runs: starting what is missing, with the settings it was started with"
    fi
    check_builds
  else
    settle_settings
    choose_builds
  fi
  save_state
  if [ "$cluster_separate_roots" = 1 ]; then
    say "debug: RETAILCAM_CLUSTER_SEPARATE_ROOTS=1, every process has its own data root: this is no cluster"
  fi
  mkdir -p "$cluster_data_root"
  start_postgres
  start_redis
  # The first node alone first: it creates or migrates the database before anyone else uses it.
  start_node web-a
  wait_http web-a "http://127.0.0.1:$cluster_web_a_port/healthz" "$logs/web-a.log" web-a
  start_node web-b
  for name in $(worker_names); do start_node "$name"; done
  start_nginx
  wait_http web-b "http://127.0.0.1:$cluster_web_b_port/healthz" "$logs/web-b.log" web-b
  wait_http "the balancer" "http://127.0.0.1:$cluster_balancer_port/healthz" "$logs/nginx-error.log"
  for name in $(worker_names); do
    node_pid "$name" >/dev/null || fail_with_log "$name exited while starting" "$logs/$name.log"
  done
  cluster_json > "$state/cluster.json"
  say "up: balancer http://127.0.0.1:$cluster_balancer_port, $cluster_workers worker(s), logs in $logs"
  cat "$state/cluster.json"
}

cmd_down() {
  local purge=${1:-} name pid nodes=() file
  if [ ! -d "$state" ]; then
    say "nothing at $state"
    return 0
  fi
  lock_state
  load_state
  for file in "$pids"/worker-*.pid; do
    [ -e "$file" ] || continue
    name=$(basename "$file" .pid)
    if pid=$(node_pid "$name"); then nodes+=("$pid"); fi
  done
  stop_pids "$stop_seconds" "workers" "${nodes[@]}"
  nodes=()
  for name in "${web_nodes[@]}"; do
    if pid=$(node_pid "$name"); then nodes+=("$pid"); fi
  done
  stop_pids "$stop_seconds" "web nodes" "${nodes[@]}"
  if pid=$(nginx_pid); then stop_pids 10 nginx "$pid"; fi
  if pid=$(redis_pid); then stop_pids 30 Redis "$pid"; fi
  if postgres_pid >/dev/null; then
    find_tools
    say "stopping PostgreSQL (pg_ctl stop -m fast)"
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" stop -m fast -w -t 60 >/dev/null 9>&- ||
      { pid=$(postgres_pid) && stop_pids 5 PostgreSQL "$pid"; }
  fi
  rm -f "$pids"/*.pid
  if [ "$purge" = --purge ]; then
    [ -e "$state/.retailcam-cluster" ] || die "$state is no cluster's state folder: not deleting it"
    rm -rf -- "$state"
    say "deleted $state"
    if [ -n "$cluster_data_root" ] && [ -d "$cluster_data_root" ]; then say "kept the data root $cluster_data_root (outside the state folder)"; fi
  else
    say "down; state kept in $state (--purge deletes it)"
  fi
}

cmd_status() {
  local name pid running total
  if [ ! -e "$state/cluster.env" ]; then
    echo "no cluster at $state"
    return 3
  fi
  load_state
  while read -r name pid; do
    if [ -n "$pid" ]; then echo "$name running (pid $pid)"; else echo "$name stopped"; fi
  done < <(cluster_processes)
  running=$(running_count)
  total=$(process_count)
  [ "$running" -eq "$total" ] || return 3
  cluster_json
}

case ${1:-} in
  up) [ $# -eq 1 ] || die "usage: $0 up"; cmd_up ;;
  down) [ $# -eq 1 ] || [ "${2:-}" = --purge ] || die "usage: $0 down [--purge]"; cmd_down "${2:-}" ;;
  status) cmd_status ;;
  *) die "usage: $0 up | down [--purge] | status" ;;
esac
