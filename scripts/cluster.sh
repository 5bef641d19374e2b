#!/usr/bin/env bash
# A local cluster of the national service's stack (docs/deployment.md): PostgreSQL, OpenStack
# Swift's S3, N `custody serve` nodes on loopback ports, and nginx load-balancing them.
#
#   scripts/cluster.sh up   [DIR]   start what is not running (nodes that died start again),
#                                   print the environment to use
#   scripts/cluster.sh env  [DIR]   print that environment again
#   scripts/cluster.sh down [DIR]   stop everything `up` started; drop the database it made
#   scripts/cluster.sh install      only install nginx-light (as root; scripts/test.sh)
#
# DIR (default $CLUSTER_DIR or /tmp/custody-cluster) holds the data folder (the log's keys,
# the server secret), Swift's folder, nginx's configuration, pid files and every log.
#   CLUSTER_NODES      (3)      how many `custody serve` processes
#   CLUSTER_PORT       (8000)   nginx, http://127.0.0.1:PORT: what clients use
#   CLUSTER_NODE_PORT  (8001)   the first node's port; the others follow it
#   CLUSTER_ORIGIN     (custody.local/ledger)  the log's origin, for `admin init`
#   CUSTODY_TEST_POSTGRES_URL (postgresql://postgres@127.0.0.1:5432/postgres)  where a fresh
#                      database custody_cluster_<random> is created
# Already set CUSTODY_DATABASE_URL or CUSTODY_BLOB_URL (and CUSTODY_S3_*) are used as they
# are: no database is made and no Swift is started (the tests bring their own). Every other
# CUSTODY_* variable in the environment reaches the nodes. nginx-light is installed with
# apt-get when run as root, like scripts/test.sh does; Swift by scripts/swift.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
COMMAND="${1:-}"
DIR="${2:-${CLUSTER_DIR:-/tmp/custody-cluster}}"
NODES="${CLUSTER_NODES:-3}"
PORT="${CLUSTER_PORT:-8000}"
NODE_PORT="${CLUSTER_NODE_PORT:-8001}"
ORIGIN="${CLUSTER_ORIGIN:-custody.local/ledger}"
PG_ADMIN_URL="${CUSTODY_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
CUSTODY="${CUSTODY:-$ROOT/.venv/bin/custody}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"

say() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { printf 'cluster.sh: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

alive() { [ -f "$DIR/run/$1.pid" ] && kill -0 "$(cat "$DIR/run/$1.pid")" 2>/dev/null; }

start() {  # start NAME COMMAND...: in the background, its own session, its pid kept
    local name="$1"
    shift
    setsid "$@" >>"$DIR/log/$name.log" 2>&1 </dev/null &
    echo $! >"$DIR/run/$name.pid"
}

stop() {  # stop NAME: SIGTERM to its session, SIGKILL after 10 s
    local name="$1" pid i
    [ -f "$DIR/run/$name.pid" ] || return 0
    pid="$(cat "$DIR/run/$name.pid")"
    rm -f "$DIR/run/$name.pid"
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
}

# ── nginx ──────────────────────────────────────────────────────────────────
ensure_nginx() {
    command -v nginx >/dev/null 2>&1 && return 0
    [ -x /usr/sbin/nginx ] && return 0
    [ "$(id -u)" -eq 0 ] || die "nginx is not installed (as root: apt-get install --no-install-recommends nginx-light)"
    say "installing nginx-light"
    local policy=/usr/sbin/policy-rc.d made_policy="" rc=0
    # The package would start Debian's own nginx on port 80; a temporary policy-rc.d stops it.
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        made_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    { apt-get -o DPkg::Lock::Timeout=300 update -qq \
        && apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
            nginx-light >/dev/null; } || rc=$?
    [ -n "$made_policy" ] && rm -f "$policy"
    [ "$rc" -eq 0 ] || die "apt-get install nginx-light failed"
}

nginx_bin() { command -v nginx 2>/dev/null || echo /usr/sbin/nginx; }

write_nginx_conf() {
    local n servers=""
    mkdir -p "$DIR/nginx/tmp"
    for n in $(seq 1 "$NODES"); do
        # One failed connection takes a node out for 5 s (nginx's open-source build has no
        # active health checks); requests go to the others meanwhile.
        servers+="        server 127.0.0.1:$((NODE_PORT + n - 1)) max_fails=1 fail_timeout=5s;
"
    done
    cat >"$DIR/nginx/nginx.conf" <<EOF
# Written by scripts/cluster.sh; docs/deployment.md explains each setting.
worker_processes 2;
daemon off;
pid $DIR/run/nginx.master.pid;
error_log $DIR/log/nginx-error.log warn;
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
events { worker_connections 1024; }
http {
    # Method, path and status only: no query strings, no client headers (tokens).
    log_format custody '\$time_iso8601 \$remote_addr "\$request_method \$uri" \$status '
                       '\$request_length \$bytes_sent \$request_time \$upstream_addr';
    access_log $DIR/log/nginx-access.log custody;
    client_body_temp_path $DIR/nginx/tmp/body;
    proxy_temp_path $DIR/nginx/tmp/proxy;
    fastcgi_temp_path $DIR/nginx/tmp/fastcgi;
    uwsgi_temp_path $DIR/nginx/tmp/uwsgi;
    scgi_temp_path $DIR/nginx/tmp/scgi;
    server_tokens off;

    upstream custody_nodes {
$servers        keepalive 32;
    }

    server {
        listen 127.0.0.1:$PORT;
        # tus PATCH bodies of any size (custody bounds each by its Upload-Length), streamed
        # to the node as they arrive: a buffered body would reach the node only whole, on
        # nginx's disk first, and a sender cut off mid-PATCH would keep nothing.
        client_max_body_size 0;
        proxy_request_buffering off;
        # Downloads streamed to the client as the node reads them from the object store.
        proxy_buffering off;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        # A 32 MiB PATCH on a slow link, or a long download, takes minutes.
        client_body_timeout 300s;
        proxy_send_timeout 3600s;
        proxy_read_timeout 3600s;
        proxy_connect_timeout 5s;
        # Only a request that never reached a node (refused, timed out connecting) goes to
        # another; nginx never replays a PATCH or POST a node received (non_idempotent off).
        proxy_next_upstream error timeout;
        proxy_set_header Host \$http_host;
        # The client's address as nginx saw it, replacing whatever the client claimed; the
        # nodes believe it because CUSTODY_TRUSTED_PROXIES names this proxy (127.0.0.1).
        proxy_set_header X-Forwarded-For \$remote_addr;
        proxy_set_header X-Forwarded-Proto \$scheme;
        location / {
            proxy_pass http://custody_nodes;
        }
        # A node that died or did not answer (502, 504) is told in custody's own error
        # envelope, as the 503 a client retries (reads) or resumes from (a send's PATCH).
        error_page 502 504 =503 @unavailable;
        location @unavailable {
            default_type application/json;
            add_header Retry-After 5 always;
            return 503 '{"error": {"code": "server_unavailable", "message": "a custody node failed while answering", "hint": "run the same command again: it resumes where it stopped"}}';
        }
    }
}
EOF
}

# ── PostgreSQL ─────────────────────────────────────────────────────────────
pg() {  # pg SQL: run one statement on the admin database
    "$PY" - "$PG_ADMIN_URL" "$1" <<'EOF'
import sys
import psycopg
with psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=5) as conn:
    conn.execute(sys.argv[2])
EOF
}

database_url() {
    if [ -n "${CUSTODY_DATABASE_URL:-}" ]; then
        echo "$CUSTODY_DATABASE_URL"
        return 0
    fi
    if [ ! -f "$DIR/database" ]; then
        local name
        name="custody_cluster_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
        pg "CREATE DATABASE $name" \
            || die "PostgreSQL at $PG_ADMIN_URL did not make a database (scripts/test.sh starts it)"
        echo "$name" >"$DIR/database"
        say "made the database $name"
    fi
    echo "${PG_ADMIN_URL%/*}/$(cat "$DIR/database")"
}

# ── the cluster ────────────────────────────────────────────────────────────
print_env() {
    cat "$DIR/cluster.env"
}

up() {
    local started=$SECONDS n port db blob_env="" i
    [ -x "$CUSTODY" ] || die "no $CUSTODY: run scripts/test.sh (or make the venv) first"
    mkdir -p "$DIR/run" "$DIR/log"
    ensure_nginx
    db="$(database_url)"
    if [ -z "${CUSTODY_BLOB_URL:-}" ]; then
        # Swift's rings fix its ports: the first `up` chooses them, later ones reuse them.
        [ -f "$DIR/swift.ports" ] || printf 'export SWIFT_PROXY_PORT=%s SWIFT_BASE_PORT=%s SWIFT_MEMCACHED_PORT=%s\n' \
            "${SWIFT_PROXY_PORT:-8080}" "${SWIFT_BASE_PORT:-6200}" "${SWIFT_MEMCACHED_PORT:-11311}" >"$DIR/swift.ports"
        . "$DIR/swift.ports"
        blob_env="$(bash "$ROOT/scripts/swift.sh" up "$DIR/swift")" \
            || die "Swift did not start (scripts/swift.sh up $DIR/swift)"
        eval "$blob_env"
    fi
    export CUSTODY_DATABASE_URL="$db"
    export CUSTODY_DATA_DIR="${CUSTODY_DATA_DIR:-$DIR/data}"
    export CUSTODY_TRUSTED_PROXIES="${CUSTODY_TRUSTED_PROXIES:-127.0.0.1}"
    export CUSTODY_PUBLIC_URL="${CUSTODY_PUBLIC_URL:-http://127.0.0.1:$PORT}"
    if [ ! -f "$CUSTODY_DATA_DIR/log-origin.txt" ]; then
        "$CUSTODY" admin init --data-dir "$CUSTODY_DATA_DIR" --origin "$ORIGIN" \
            >"$DIR/admin-init.txt" 2>&1 || { cat "$DIR/admin-init.txt" >&2; die "admin init failed"; }
        say "admin init: $DIR/admin-init.txt has the log's verifier key"
    fi
    for n in $(seq 1 "$NODES"); do
        alive "node-$n" && continue
        port=$((NODE_PORT + n - 1))
        start "node-$n" "$CUSTODY" serve --data-dir "$CUSTODY_DATA_DIR" --port "$port"
    done
    for n in $(seq 1 "$NODES"); do
        port=$((NODE_PORT + n - 1))
        for i in $(seq 1 600); do
            [ "$(curl -fsS --max-time 2 "http://127.0.0.1:$port/readyz" 2>/dev/null)" = ready ] && break
            alive "node-$n" || { tail -n 30 "$DIR/log/node-$n.log" >&2; die "node $n did not start"; }
            sleep 0.1
        done
        [ "$(curl -fsS --max-time 2 "http://127.0.0.1:$port/readyz" 2>/dev/null)" = ready ] \
            || { tail -n 30 "$DIR/log/node-$n.log" >&2; die "node $n is not ready after 60 s"; }
    done
    if ! alive nginx; then
        write_nginx_conf
        "$(nginx_bin)" -t -q -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx" \
            || die "nginx refused $DIR/nginx/nginx.conf"
        start nginx "$(nginx_bin)" -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx"
        for i in $(seq 1 100); do
            curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null && break
            sleep 0.1
        done
        curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$PORT/readyz" \
            || { tail -n 20 "$DIR/log/nginx-error.log" >&2; die "nginx does not answer on $PORT"; }
    fi
    {
        echo "export CUSTODY_SERVER=http://127.0.0.1:$PORT"
        echo "export CUSTODY_DATABASE_URL=$CUSTODY_DATABASE_URL"
        echo "export CUSTODY_DATA_DIR=$CUSTODY_DATA_DIR"
        env | grep -E '^CUSTODY_(BLOB_URL|S3_)' | sort | sed 's/^/export /'
        printf 'export CLUSTER_NODE_URLS="%s"\n' "$(for n in $(seq 1 "$NODES"); do
            printf 'http://127.0.0.1:%s ' "$((NODE_PORT + n - 1))"; done | sed 's/ $//')"
    } >"$DIR/cluster.env"
    say "$NODES node(s) behind nginx at http://127.0.0.1:$PORT in $((SECONDS - started))s (logs: $DIR/log)"
    print_env
}

down() {
    local name
    stop nginx
    for name in "$DIR"/run/node-*.pid; do
        [ -e "$name" ] || continue
        name="$(basename "$name" .pid)"
        stop "$name"
    done
    if [ -d "$DIR/swift" ]; then
        [ -f "$DIR/swift.ports" ] && . "$DIR/swift.ports"
        bash "$ROOT/scripts/swift.sh" down "$DIR/swift"
    fi
    if [ -f "$DIR/database" ]; then
        pg "DROP DATABASE IF EXISTS $(cat "$DIR/database") WITH (FORCE)" \
            || say "could not drop the database $(cat "$DIR/database")"
        rm -f "$DIR/database" "$DIR/data/log-origin.txt"
        rm -rf "$DIR/data"  # its keys signed a log that no longer exists
    fi
    return 0
}

case "$COMMAND" in
    up) up ;;
    down) down ;;
    env) print_env ;;
    install) ensure_nginx ;;
    *) usage ;;
esac
