# Shared by infra/local/run and infra/local/test: the project's own tools (a Python venv under
# target/tools, nothing installed globally), a private PostgreSQL cluster under target/, and
# moto server. Every function is idempotent: it reuses what is already there and running.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLS="$ROOT/target/tools"
VENV="$TOOLS/venv"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ensure_python_tool COMMAND PIP-SPEC: installs PIP-SPEC into the project venv unless COMMAND is
# already there, and puts the venv's bin on PATH.
ensure_python_tool() {
  local command=$1 spec=$2
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the tool venv in target/tools/venv"
    python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  fi
  if [ ! -x "$VENV/bin/$command" ]; then
    say "installing $spec into target/tools/venv"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$spec" || die "pip install $spec failed"
  fi
  case ":$PATH:" in *":$VENV/bin:"*) ;; *) export PATH="$VENV/bin:$PATH" ;; esac
}

# PostgreSQL server binaries: Debian's, any version from 13 on.
pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "installing PostgreSQL (apt-get install postgresql)" >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2 \
        || die "apt-get install postgresql failed"
      bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    else
      die "PostgreSQL server binaries not found: sudo apt-get install postgresql"
    fi
  fi
  echo "$bin"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# as_pg_owner CMD...: runs CMD as the cluster's owner (postgres when we are root: initdb refuses root).
as_pg_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_dir NAME: where cluster NAME lives: target/NAME, or, when root and the postgres user cannot
# reach target/ (a checkout under /root), a folder under /tmp named after this checkout.
pg_dir() {
  local name=$1 dir="$ROOT/target/$1"
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$dir"
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      dir="/tmp/rylie-$name-$(printf %s "$ROOT" | sha1sum | cut -c1-10)"
      mkdir -p "$dir"
      chown postgres: "$dir"
    fi
  else
    mkdir -p "$dir"
  fi
  echo "$dir"
}

# pg_start NAME [fresh]: starts cluster NAME (initdb on first use, or always with "fresh") and
# sets PG_PORT and PG_DIR. Test clusters trade durability for speed (fsync off).
pg_start() {
  local name=$1 fresh=${2:-} bin dir port
  bin=$(pg_bin)
  dir=$(pg_dir "$name")
  PG_DIR=$dir
  if [ -n "$fresh" ] || [ ! -f "$dir/data/PG_VERSION" ]; then
    pg_stop "$name" 2>/dev/null || true
    rm -rf "$dir/data"
    as_pg_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  fi
  if as_pg_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    PG_PORT=$(cat "$dir/port")
    return 0
  fi
  port=$(free_port)
  echo "$port" >"$dir/port"
  local options="-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir/data -c max_connections=200"
  if [ "$name" = pg-test ]; then
    options="$options -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  # The benchmarks' cluster: durable, with memory and checkpoints set as on a production server
  # (RDS gives shared buffers a quarter of memory: 2 GB of an 8 GB instance; bulk loads want
  # checkpoints spaced out) instead of initdb's 128 MB defaults.
  if [ "$name" = pg-bench ]; then
    options="$options -c shared_buffers=2GB -c max_wal_size=8GB -c checkpoint_timeout=30min"
    options="$options -c wal_compression=lz4 -c maintenance_work_mem=512MB -c work_mem=16MB"
  fi
  as_pg_owner "$bin/pg_ctl" -D "$dir/data" -o "$options" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { tail -n 20 "$dir/server.log" >&2; die "PostgreSQL did not start (log: $dir/server.log)"; }
  PG_PORT=$port
}

pg_stop() {
  local dir bin
  bin=$(pg_bin)
  dir=$(pg_dir "$1")
  [ -f "$dir/data/PG_VERSION" ] || return 0
  as_pg_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# moto_start: moto server on a free port; sets MOTO_URL and MOTO_PID.
moto_start() {
  ensure_python_tool moto_server 'moto[server]'
  local port
  port=$(free_port)
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$ROOT/target/moto.log" 2>&1 &
  MOTO_PID=$!
  MOTO_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if python3 -c "import urllib.request; urllib.request.urlopen('$MOTO_URL/moto-api/')" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  die "moto server did not start (log: target/moto.log)"
}

moto_stop() {
  [ -n "${MOTO_PID:-}" ] && kill "$MOTO_PID" 2>/dev/null && wait "$MOTO_PID" 2>/dev/null
  MOTO_PID=
}
