#!/usr/bin/env bash
# A real S3 object store on loopback: OpenStack Swift with its s3api middleware.
#
#   scripts/swift.sh up   [DIR]   start it (installing the Debian packages when root and
#                                 missing), make the bucket, print the environment to use
#   scripts/swift.sh env  [DIR]   print that environment again (CUSTODY_BLOB_URL, CUSTODY_S3_*)
#   scripts/swift.sh down [DIR]   stop what `up` started in DIR (its data stays)
#   scripts/swift.sh install      only install the Debian packages (as root; scripts/test.sh)
#
# DIR holds everything — configuration, rings, the object files, pid files and logs — and
# defaults to $SWIFT_DIR or /tmp/custody-swift. Idempotent: `up` on a running store only
# prints the environment; `down` on a stopped one does nothing.
#
# One replica of everything, tempauth (S3 access key `test:tester`, secret `testing`), and
# memcached, without which s3api refuses to work. The rings, made once per DIR, fix the ports:
#   SWIFT_PROXY_PORT  (default 8080)   the S3 endpoint, http://127.0.0.1:PORT
#   SWIFT_BASE_PORT   (default 6200)   object, container and account servers: BASE..BASE+2
#   SWIFT_MEMCACHED_PORT (default 11311)
#   SWIFT_BUCKET      (default custody)
# The servers run as root with workers=1; the filesystem under DIR must support xattrs.
# Debian's swift.conf is written to /etc/swift/swift.conf if there is none (Swift reads its
# hash path secret from there and nowhere else).
set -euo pipefail

PACKAGES=(swift swift-proxy swift-account swift-container swift-object memcached)
COMMAND="${1:-}"
DIR="${2:-${SWIFT_DIR:-/tmp/custody-swift}}"
PROXY_PORT="${SWIFT_PROXY_PORT:-8080}"
BASE_PORT="${SWIFT_BASE_PORT:-6200}"
MEMCACHED_PORT="${SWIFT_MEMCACHED_PORT:-11311}"
BUCKET="${SWIFT_BUCKET:-custody}"
ACCESS_KEY="test:tester"
SECRET_KEY="testing"

say() { printf 'swift.sh: %s\n' "$*" >&2; }
die() { printf 'swift.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# ── packages ───────────────────────────────────────────────────────────────
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

ensure_packages() {
    local missing=() pkg policy=/usr/sbin/policy-rc.d made_policy=""
    command -v dpkg-query >/dev/null 2>&1 \
        || { command -v swift-proxy-server >/dev/null 2>&1 && return 0; \
             die "not Debian and no swift-proxy-server: install OpenStack Swift and memcached"; }
    for pkg in "${PACKAGES[@]}"; do installed "$pkg" || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        die "missing Debian packages: ${missing[*]} (as root: apt-get install --no-install-recommends ${missing[*]})"
    fi
    say "installing ${missing[*]}"
    # The packages would start their services (as the swift user, on /srv/node); a temporary
    # policy-rc.d keeps them stopped. One already there (a container's) is left as it is.
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        made_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    local rc=0
    { apt-get -o DPkg::Lock::Timeout=300 update -qq \
        && apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null; } || rc=$?
    [ -n "$made_policy" ] && rm -f "$policy"
    [ "$rc" -eq 0 ] || die "apt-get install ${missing[*]} failed"
}

# ── configuration ──────────────────────────────────────────────────────────
write_configs() {
    local etc="$DIR/etc"
    mkdir -p "$etc" "$DIR/node/d1" "$DIR/run" "$DIR/log" "$DIR/cache"
    if [ ! -f /etc/swift/swift.conf ]; then
        [ "$(id -u)" -eq 0 ] || die "/etc/swift/swift.conf is missing and only root can write it"
        mkdir -p /etc/swift
        printf '[swift-hash]\nswift_hash_path_suffix = custody-local-%s\nswift_hash_path_prefix = custody-local\n\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n' \
            "$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')" >/etc/swift/swift.conf
    fi
    local common="[DEFAULT]
bind_ip = 127.0.0.1
swift_dir = $etc
devices = $DIR/node
mount_check = false
workers = 1
user = $(id -un)
log_name = swift
log_facility = LOG_LOCAL0
log_level = WARNING
"
    local kind port=$BASE_PORT
    for kind in object container account; do
        printf '%sbind_port = %s\n\n[pipeline:main]\npipeline = %s-server\n\n[app:%s-server]\nuse = egg:swift#%s\n' \
            "$common" "$port" "$kind" "$kind" "$kind" >"$etc/$kind-server.conf"
        [ "$kind" = object ] && printf '\n[object-updater]\n[object-auditor]\n[object-replicator]\n' \
            >>"$etc/$kind-server.conf"
        [ "$kind" = container ] && printf '\n[container-updater]\n[container-auditor]\n[container-replicator]\n[container-sync]\n' \
            >>"$etc/$kind-server.conf"
        [ "$kind" = account ] && printf '\n[account-auditor]\n[account-reaper]\n[account-replicator]\n' \
            >>"$etc/$kind-server.conf"
        port=$((port + 1))
    done
    cat >"$etc/proxy-server.conf" <<EOF
${common}bind_port = $PROXY_PORT

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = $SECRET_KEY .admin
user_admin_admin = admin .admin .reseller_admin

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
# Parts of 5 MiB (S3's minimum) up to 5 GiB, and up to 10,000 of them, as S3 has them
# (Swift's defaults allow 1,000: 16 GiB of 16 MiB parts).
min_segment_size = 5242880
max_upload_part_num = 10000

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMCACHED_PORT

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo
max_manifest_segments = 10000

[filter:dlo]
use = egg:swift#dlo
EOF
}

make_rings() {
    local etc="$DIR/etc" kind port=$BASE_PORT
    for kind in object container account; do
        if [ ! -f "$etc/$kind.ring.gz" ]; then
            (
                cd "$etc"
                swift-ring-builder "$kind.builder" create 8 1 1 >/dev/null
                swift-ring-builder "$kind.builder" add --region 1 --zone 1 --ip 127.0.0.1 \
                    --port "$port" --device d1 --weight 100 >/dev/null
                swift-ring-builder "$kind.builder" rebalance >/dev/null
            )
        fi
        port=$((port + 1))
    done
}

# ── processes ──────────────────────────────────────────────────────────────
alive() { [ -f "$DIR/run/$1.pid" ] && kill -0 "$(cat "$DIR/run/$1.pid")" 2>/dev/null; }

start() {  # start NAME COMMAND...: in the background, its own session, its pid kept
    local name="$1"
    shift
    alive "$name" && return 0
    setsid "$@" >>"$DIR/log/$name.log" 2>&1 </dev/null &
    echo $! >"$DIR/run/$name.pid"
}

healthy() {
    [ "$(curl -fsS --max-time 2 "http://127.0.0.1:$PROXY_PORT/healthcheck" 2>/dev/null)" = OK ]
}

make_bucket() {  # a Swift container is an S3 bucket; tempauth's token makes it
    local headers token url i
    headers="$(curl -fsS -D - -o /dev/null --max-time 10 \
        -H "X-Auth-User: $ACCESS_KEY" -H "X-Auth-Key: $SECRET_KEY" \
        "http://127.0.0.1:$PROXY_PORT/auth/v1.0")" || die "tempauth did not answer"
    token="$(printf '%s' "$headers" | tr -d '\r' | sed -n 's/^[Xx]-[Aa]uth-[Tt]oken: //p')"
    url="$(printf '%s' "$headers" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]torage-[Uu]rl: //p')"
    [ -n "$token" ] && [ -n "$url" ] || die "tempauth gave no token"
    # The proxy answers its healthcheck before the account and container servers listen.
    for i in $(seq 1 100); do
        curl -fsS -o /dev/null --max-time 10 -X PUT -H "X-Auth-Token: $token" \
            "$url/$BUCKET" 2>>"$DIR/log/bucket.log" && return 0
        sleep 0.2
    done
    show_logs
    die "could not make the bucket $BUCKET (logs: $DIR/log)"
}

show_logs() {
    local name
    for name in account container object proxy bucket; do
        [ -s "$DIR/log/$name.log" ] || continue
        printf -- '--- %s\n' "$DIR/log/$name.log" >&2
        tail -n 15 "$DIR/log/$name.log" >&2
    done
}

print_env() {
    cat <<EOF
export CUSTODY_BLOB_URL=s3://$BUCKET/custody
export CUSTODY_S3_ENDPOINT_URL=http://127.0.0.1:$PROXY_PORT
export CUSTODY_S3_REGION=us-east-1
export CUSTODY_S3_ACCESS_KEY_ID=$ACCESS_KEY
export CUSTODY_S3_SECRET_ACCESS_KEY=$SECRET_KEY
EOF
}

up() {
    local i started=$SECONDS
    if alive proxy && healthy; then
        print_env
        return 0
    fi
    ensure_packages
    command -v memcached >/dev/null 2>&1 || die "memcached is not installed"
    write_configs
    make_rings
    start memcached memcached -u "$(id -un)" -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64
    # --verbose: the servers log to their stderr, kept in DIR/log (there is no syslog here).
    start account swift-account-server "$DIR/etc/account-server.conf" --verbose
    start container swift-container-server "$DIR/etc/container-server.conf" --verbose
    start object swift-object-server "$DIR/etc/object-server.conf" --verbose
    start proxy swift-proxy-server "$DIR/etc/proxy-server.conf" --verbose
    for i in $(seq 1 300); do
        healthy && break
        for name in memcached account container object proxy; do
            alive "$name" || { tail -n 20 "$DIR/log/$name.log" >&2; down; \
                               die "$name did not start (log: $DIR/log/$name.log)"; }
        done
        sleep 0.1
    done
    healthy || { down; die "the proxy did not answer its healthcheck in 30 s"; }
    make_bucket
    say "Swift's S3 is up at http://127.0.0.1:$PROXY_PORT in $((SECONDS - started))s (data: $DIR)"
    print_env
}

down() {
    local name pid pids=() i
    for name in proxy object container account memcached; do
        [ -f "$DIR/run/$name.pid" ] || continue
        pid="$(cat "$DIR/run/$name.pid")"
        rm -f "$DIR/run/$name.pid"
        kill -0 "$pid" 2>/dev/null || continue
        # Each server leads its own session (setsid): its workers go with it.
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid")
    done
    for pid in "${pids[@]}"; do
        for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
}

case "$COMMAND" in
    up) up ;;
    down) down ;;
    env) print_env ;;
    install) ensure_packages ;;
    *) usage ;;
esac
