#!/usr/bin/env bash
# router.sh — tests msm's router and Raspberry Pi packaging, end to end:
#   (a) cross builds: packaging/cross-build.sh for the five targets (plus x86_64 glibc for the
#       amd64 Debian package); static musl binaries, glibc floor of the gnu ones, flags in sync;
#   (b) qemu-user smoke test of the aarch64, armv7 and mipsel binaries: init, user add,
#       run on 127.0.0.1, log in, post, read the post back, SIGTERM -> exit 0;
#   (c) the OpenWrt procd init script and uci-defaults, run by busybox ash against
#       tests/openwrt-stubs.sh; the generated TOML is fed to a real x86_64 msmd;
#   (d) packaging/build-ipk.sh: the .ipk for each router architecture, unpacked and checked;
#   (e) the Debian packages (cargo-deb) for amd64, arm64 and armhf: dpkg-deb, lintian,
#       systemd-analyze.
# Prints PASS/FAIL lines and ends with "N passed, M failed"; exit status 1 on any failure,
# including a tool it needs and cannot install. Only loopback addresses are used.
#
# Usage: tests/router.sh [--prebuilt]
#   --prebuilt (or MSMD_PREBUILT=1): take the binaries already in target/cross instead of
#   running packaging/cross-build.sh.
# Environment: MSMD_TEST_KEEP=1 keeps the scratch folder; CARGO_DEB_VERSION pins cargo-deb.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CARGO_DEB_VERSION="${CARGO_DEB_VERSION:-3.8.0}"
PREBUILT="${MSMD_PREBUILT:-0}"
for arg in "$@"; do
  case "$arg" in
    --prebuilt) PREBUILT=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "router.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

T0=$SECONDS
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/msmd-router.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if [ "${MSMD_TEST_KEEP:-0}" = 1 ]; then echo "scratch kept in $SCRATCH"; else rm -rf "$SCRATCH"; fi
}
trap cleanup EXIT

PASSED=0 FAILED=0
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() {
  echo "FAIL $1${2:+: $2}"
  FAILED=$((FAILED + 1))
}
# check NAME CMD...: PASS if CMD succeeds, else FAIL with the end of its output.
check() {
  local name=$1 log
  shift
  log="$SCRATCH/check.$PASSED.$FAILED.log"
  if "$@" >"$log" 2>&1; then
    pass "$name"
  else
    fail "$name" "$(tail -n 1 "$log")"
    tail -n 12 "$log" | sed 's/^/    | /'
  fi
}
step() { printf '\n== %s (%ss)\n' "$*" "$((SECONDS - T0))"; }

# ---- tools ------------------------------------------------------------------------------------
APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || return 1
  if [ "$APT_UPDATED" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}
# need CMD DEBIAN-PACKAGE: the command, installed from Debian if missing.
need() {
  command -v "$1" >/dev/null && return 0
  apt_install "$2" && command -v "$1" >/dev/null && return 0
  fail "tool $1" "missing and could not be installed (apt-get install $2)"
  return 1
}

step "tools"
TOOLS_OK=1
for t in "curl curl" "file file" "busybox busybox" "qemu-aarch64-static qemu-user-static" \
  "qemu-arm-static qemu-user-static" "qemu-mipsel-static qemu-user-static" \
  "dpkg-deb dpkg" "lintian lintian" "readelf binutils" "python3 python3" "systemd-analyze systemd"; do
  # shellcheck disable=SC2086
  need $t || TOOLS_OK=0
done
[ "$TOOLS_OK" = 1 ] && pass "tools present"

MUSL_TARGETS=(aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf mipsel-unknown-linux-musl)
GNU_TARGETS=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf)
ALL_TARGETS=("${MUSL_TARGETS[@]}" "${GNU_TARGETS[@]}" x86_64-unknown-linux-gnu)
bin_of() { echo "$ROOT/target/cross/$1/release/msmd"; }

# ---- (a) cross builds -------------------------------------------------------------------------
step "(a) cross builds"
if [ "$PREBUILT" = 1 ]; then
  echo "using prebuilt binaries from target/cross"
else
  if packaging/cross-build.sh "${ALL_TARGETS[@]}" 2>&1 | tee "$SCRATCH/cross-build.log"; then
    pass "cross-build.sh exit status"
  else
    fail "cross-build.sh exit status" "a musl target failed (see above)"
  fi
  # A target that failed to build may have left an older binary behind: do not test that one.
  for t in "${ALL_TARGETS[@]}"; do
    if grep -Eq "^$t +.*FAILED" "$SCRATCH/cross-build.log"; then
      echo "$t failed to build: its old binary (if any) is set aside"
      mv -f "$(bin_of "$t")" "$(bin_of "$t").stale" 2>/dev/null || true
    fi
  done
fi
for t in "${ALL_TARGETS[@]}"; do
  b=$(bin_of "$t")
  if [ ! -f "$b" ]; then
    fail "binary $t" "missing $b"
    continue
  fi
  d=$(file -b "$b")
  case "$t" in
    *musl*) want='statically linked|static-pie linked' ;;
    *) want='dynamically linked' ;;
  esac
  if ! printf '%s' "$d" | grep -Eq "$want"; then
    fail "binary $t" "expected $want: $d"
  elif printf '%s' "$d" | grep -q 'not stripped'; then
    fail "binary $t" "not stripped: $d"
  else
    pass "binary $t ($(stat -c %s "$b") bytes, $(printf '%s' "$d" | cut -d, -f1-2))"
  fi
done
# glibc targets must not need anything newer than the glibc they were linked for.
glibc_floor() {
  local b=$1 max
  max=$(readelf -V --wide "$b" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)
  echo "highest GLIBC symbol version: $max"
  [ "$(printf '%s\n%s\n' "$max" 2.31 | sort -V | tail -n 1)" = 2.31 ]
}
for t in "${GNU_TARGETS[@]}" x86_64-unknown-linux-gnu; do
  [ -f "$(bin_of "$t")" ] && check "glibc <= 2.31 for $t" glibc_floor "$(bin_of "$t")"
done
mipsel_not_pie() { readelf -h "$1" | grep -q 'Type:.*EXEC'; }
[ -f "$(bin_of mipsel-unknown-linux-musl)" ] &&
  check "mipsel binary is non-PIE (relocation-model=static)" mipsel_not_pie "$(bin_of mipsel-unknown-linux-musl)"

sqlite_flags_agree() {
  local a b c
  a=$(sed -n '/^DEFAULT_SQLITE_FLAGS="/,/"$/p' packaging/cross-build.sh | sed 's/^DEFAULT_SQLITE_FLAGS="//; s/"$//; s/\\$//' | tr -s ' \n' '\n\n' | sed '/^$/d')
  b=$(sed -n '/^MSMD_SQLITE_FLAGS:=/,/[^\\]$/p' openwrt/msmd/Makefile | sed 's/^MSMD_SQLITE_FLAGS:=//; s/\\$//' | tr -s ' \t\n' '\n\n\n' | sed '/^$/d')
  echo "cross-build.sh: $a" | tr '\n' ' '
  echo
  echo "Makefile:       $b" | tr '\n' ' '
  echo
  c=$(grep -o '"LIBSQLITE3_FLAGS=[^"]*"' Cross.toml | sed 's/^"LIBSQLITE3_FLAGS=//; s/"$//' | tr -s ' ' '\n')
  echo "Cross.toml:     $c" | tr '\n' ' '
  echo
  [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" = "$c" ] && printf '%s\n' "$a" | grep -qx -- -DSQLITE_ENABLE_FTS5 &&
    ! printf '%s\n' "$a" | grep -qx -- -USQLITE_ENABLE_FTS5
}
check "SQLite flags: cross-build.sh, the OpenWrt Makefile and Cross.toml agree, FTS5 kept" sqlite_flags_agree

WS_VERSION=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)
versions_agree() {
  local mk ch
  mk=$(sed -n 's/^PKG_VERSION:=//p' openwrt/msmd/Makefile)
  ch=$(head -n 1 packaging/debian/changelog | sed 's/^msmd (\([^)]*\)).*/\1/')
  echo "Cargo.toml $WS_VERSION, OpenWrt PKG_VERSION $mk, Debian changelog $ch"
  [ "$mk" = "$WS_VERSION" ] && [ "$ch" = "$WS_VERSION-1" ] &&
    printf '%s' "$mk" | grep -Eq '^[0-9]+(\.[0-9]+)*$' && grep -Eq '^PKG_RELEASE:=[0-9]+$' openwrt/msmd/Makefile
}
check "versions: Cargo.toml = PKG_VERSION (apk-valid) = Debian changelog" versions_agree
cross_toml_lists_targets() {
  local t
  for t in "${MUSL_TARGETS[@]}" "${GNU_TARGETS[@]}"; do grep -q "^\[target\.$t\]" Cross.toml || { echo "Cross.toml lacks $t"; return 1; }; done
}
check "Cross.toml lists the five targets" cross_toml_lists_targets

# ---- (b) qemu smoke tests ---------------------------------------------------------------------
step "(b) qemu smoke tests"
PASSWORD='correct horse battery staple'
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# Waits for "HTTP listening addr=IP:PORT" in log $1 (process $2) and prints IP:PORT.
wait_listening() {
  local log=$1 pid=$2 addr
  for _ in $(seq 1 300); do
    addr=$(grep -o 'HTTP listening addr=[0-9.:]*' "$log" 2>/dev/null | head -n 1 | sed 's/.*addr=//') || true
    if [ -n "$addr" ]; then
      echo "$addr"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# smoke NAME RUNNER... : RUNNER is the command that runs msmd (qemu + binary, or a binary).
smoke() {
  local name=$1
  shift
  local dir="$SCRATCH/smoke-$name" addr pid token code text rc
  mkdir -p "$dir"
  "$@" init --domain router.test --data "$dir/data" || { echo "init failed"; return 1; }
  printf '%s\n' "$PASSWORD" | "$@" user add alice --owner --password-stdin --data "$dir/data" ||
    { echo "user add failed"; return 1; }
  "$@" run --data "$dir/data" --listen 127.0.0.1:0 2>"$dir/run.log" &
  pid=$!
  PIDS+=("$pid")
  addr=$(wait_listening "$dir/run.log" "$pid") || { echo "msmd did not listen:"; cat "$dir/run.log"; return 1; }
  echo "listening on $addr"
  case "$addr" in 127.0.0.1:*) ;; *) echo "not on loopback: $addr"; return 1 ;; esac
  curl -sf --max-time 30 "http://$addr/healthz" || { echo "healthz failed"; return 1; }
  echo
  token=$(curl -sf --max-time 60 -H 'Content-Type: application/json' \
    -d "{\"name\":\"alice\",\"password\":\"$PASSWORD\"}" "http://$addr/api/v1/session" | json_field token) ||
    { echo "log-in failed"; return 1; }
  text="hello from $name, $(date +%s)"
  code=$(curl -s --max-time 30 -o "$dir/post.json" -w '%{http_code}' -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d "{\"text\":\"$text\"}" "http://$addr/api/v1/posts")
  [ "$code" = 201 ] || { echo "post: HTTP $code $(cat "$dir/post.json")"; return 1; }
  curl -sf --max-time 30 "http://$addr/api/v1/users/alice/posts" >"$dir/posts.json" || { echo "reading posts failed"; return 1; }
  python3 - "$dir/posts.json" "$text" <<'EOF' || { echo "post not read back: $(cat "$dir/posts.json")"; return 1; }
import json, sys
posts = json.load(open(sys.argv[1]))["posts"]
sys.exit(0 if any(p.get("text") == sys.argv[2] for p in posts) else 1)
EOF
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || { echo "exit status after SIGTERM: $rc"; cat "$dir/run.log"; return 1; }
  grep -q 'stopped cleanly' "$dir/run.log" || { echo "no 'stopped cleanly' in the log"; cat "$dir/run.log"; return 1; }
  echo "ok: logged in, posted, read back, clean exit"
}

declare -A QEMU=([aarch64-unknown-linux-musl]=qemu-aarch64-static [armv7-unknown-linux-musleabihf]=qemu-arm-static
  [mipsel-unknown-linux-musl]=qemu-mipsel-static)
for t in "${MUSL_TARGETS[@]}"; do
  b=$(bin_of "$t")
  if [ ! -f "$b" ]; then
    fail "qemu smoke $t" "no binary"
  elif ! command -v "${QEMU[$t]}" >/dev/null; then
    fail "qemu smoke $t" "no ${QEMU[$t]}"
  else
    s=$SECONDS
    check "qemu smoke $t" smoke "${t%%-*}" "${QEMU[$t]}" "$b"
    echo "   ($((SECONDS - s))s)"
  fi
done

# ---- (c) OpenWrt init script and uci-defaults -------------------------------------------------
step "(c) OpenWrt init script"
HOST_MSMD=""
if nice -n 10 cargo build --locked -p msmd --bin msmd >"$SCRATCH/cargo-build.log" 2>&1; then
  HOST_MSMD="$ROOT/target/debug/msmd"
  pass "cargo build -p msmd (x86_64 host binary)"
else
  fail "cargo build -p msmd" "$(grep -m 5 '^error' "$SCRATCH/cargo-build.log")"
  if [ -x "$(bin_of x86_64-unknown-linux-gnu)" ]; then
    HOST_MSMD=$(bin_of x86_64-unknown-linux-gnu)
    echo "   using $HOST_MSMD for the checks below"
  fi
fi

INIT="$ROOT/openwrt/msmd/files/msmd.init"
STUBS="$ROOT/tests/openwrt-stubs.sh"
# run_init CASE-DIR [SHELL-LINES]: runs start_service and service_triggers of msmd.init in
# busybox ash with the stubs; UCI config from CASE-DIR/config/msmd; records in CASE-DIR.
run_init() {
  local c=$1 extra=${2:-}
  : >"$c/calls"
  : >"$c/cmd"
  STUB_LOG="$c/calls" STUB_CMD="$c/cmd" UCI_CONFIG_DIR="$c/config" UCI_STATE="$c/uci-state" \
    busybox sh -c ". \"$STUBS\"; . \"$INIT\"; CONF_DIR=\"$c/var/etc/msmd\"; CONF_FILE=\"\$CONF_DIR/msmd.toml\"; UJAIL=/nonexistent; $extra
      start_service; service_triggers" >"$c/out" 2>&1
}
new_case() {
  local c="$SCRATCH/init-$1"
  mkdir -p "$c/config"
  echo "$c"
}

init_default() {
  local c data
  c=$(new_case default)
  data="$c/srv/msmd"
  # The shipped UCI file with the options a user sets (and the firehose ones left as shipped).
  sed -e "s|^\toption enabled '0'|\toption enabled '1'|" \
    -e "s|^\t#option domain 'smith.family'|\toption domain 'smith.family'|" \
    -e "s|^\toption data_dir '/srv/msmd'|\toption data_dir '$data'|" \
    -e "s|^\toption listen '0.0.0.0:8080'|\toption listen '127.0.0.1:0'|" \
    -e "s|^\toption links_listen '0.0.0.0:7450'|\toption links_listen '127.0.0.1:0'|" \
    -e "s|^\t#option hub |\toption hub |" \
    "$ROOT/openwrt/msmd/files/msmd.config" >"$c/config/msmd"
  run_init "$c" || { cat "$c/out"; return 1; }
  echo "--- calls"; cat "$c/calls"; echo "--- toml"; cat "$c/var/etc/msmd/msmd.toml"
  local toml="$c/var/etc/msmd/msmd.toml"
  printf '%s\n' /usr/bin/msmd run --config "$toml" | cmp -s - "$c/cmd" || { echo "unexpected command line"; return 1; }
  grep -qx "param user \[msmd\]" "$c/calls" && grep -qx "param group \[msmd\]" "$c/calls" &&
    grep -qx "param respawn \[3600\] \[5\] \[5\]" "$c/calls" &&
    grep -qx "param stdout \[1\]" "$c/calls" && grep -qx "param stderr \[1\]" "$c/calls" &&
    grep -qx "param file \[$toml\]" "$c/calls" && grep -qx "reload_trigger msmd" "$c/calls" &&
    grep -qx "chown -R msmd:msmd $data" "$c/calls" && grep -qx "close_instance" "$c/calls" ||
    { echo "a procd parameter is missing"; return 1; }
  ! grep -q '^jail' "$c/calls" || { echo "jail without ujail"; return 1; }
  [ -d "$data" ] && [ "$(stat -c %a "$data")" = 700 ] || { echo "data dir not made 0700"; return 1; }
  cat >"$c/expected.toml" <<EOF
# Generated by /etc/init.d/msmd from /etc/config/msmd at each start; edit that instead.
data_dir = "$data"
domain = "smith.family"

[http]
listen = "127.0.0.1:0"

[links]
listen = "127.0.0.1:0"

[log]
filter = "info"
EOF
  diff -u "$c/expected.toml" "$toml" || { echo "unexpected TOML"; return 1; }
  ! grep -Eiq 'hub|multicast' "$toml" || { echo "firehose options leaked into the TOML"; return 1; }
  [ -n "$HOST_MSMD" ] || { echo "no host msmd to try the TOML with"; return 1; }
  # msmd accepts the file: init, add a user, list users, then run the recorded command line.
  "$HOST_MSMD" --config "$toml" init --domain smith.family || return 1
  printf '%s\n' "$PASSWORD" | "$HOST_MSMD" --config "$toml" user add alice --owner --password-stdin || return 1
  "$HOST_MSMD" --config "$toml" user list | grep -q '^alice@smith.family' || { echo "user list lacks alice"; return 1; }
  local argv pid addr rc=0
  mapfile -t argv <"$c/cmd"
  argv[0]=$HOST_MSMD
  "${argv[@]}" 2>"$c/run.log" &
  pid=$!
  PIDS+=("$pid")
  addr=$(wait_listening "$c/run.log" "$pid") || { cat "$c/run.log"; return 1; }
  curl -sf --max-time 10 "http://$addr/healthz" | grep -q '"domain":"smith.family"' || { echo "healthz"; return 1; }
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || { echo "exit $rc"; cat "$c/run.log"; return 1; }
  echo "msmd ran the generated command line and config"
}
check "init script: UCI -> command line, procd params, TOML accepted by msmd" init_default

init_tuned() {
  local c data
  c=$(new_case tuned)
  data="$c/data dir \"quoted\""
  cat >"$c/config/msmd" <<EOF
config msmd 'main'
	option enabled 'yes'
	option domain 'xn--smrrebrd-o0a.example'
	option data_dir '$data'
	option listen '[::1]:0'
	option log_level 'info,msmd::store=debug'
	option workers '2'
	option session_days '7'
	option max_post_bytes '1000'
	option jail '1'
EOF
  run_init "$c" "UJAIL=/bin/true;" || { cat "$c/out"; return 1; }
  cat "$c/calls"
  local toml="$c/var/etc/msmd/msmd.toml"
  cat "$toml"
  grep -qx 'jail msmd log procfs' "$c/calls" && grep -qx "jail_mount $c/var/etc/msmd" "$c/calls" &&
    grep -qx "jail_mount_rw $data" "$c/calls" && grep -qx 'param no_new_privs \[1\]' "$c/calls" ||
    { echo "jail parameters missing"; return 1; }
  grep -qx 'workers = 2' "$toml" && grep -qx 'session_days = 7' "$toml" && grep -qx 'max_post_bytes = 1000' "$toml" ||
    { echo "tuning options missing"; return 1; }
  [ -n "$HOST_MSMD" ] || return 1
  "$HOST_MSMD" --config "$toml" init --domain xn--smrrebrd-o0a.example || return 1
  [ -f "$data/msm.db" ] || { echo "msmd did not use the quoted data_dir"; return 1; }
}
check "init script: quoting, tuning options and ujail" init_tuned

init_firehose() {
  local c data key='ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo='
  c=$(new_case firehose)
  data="$c/srv/msmd"
  cat >"$c/config/msmd" <<EOF
config msmd 'main'
	option enabled '1'
	option domain 'smith.family'
	option data_dir '$data'
	option hub 'hub.example.net:7452'
	option hub_key '$key'
	option multicast_group '239.255.77.77:7451'
	option multicast_iface 'lo'
	option discover_keep '100'
	option via_hub '1'
EOF
  run_init "$c" || { cat "$c/out"; return 1; }
  local toml="$c/var/etc/msmd/msmd.toml"
  cat "$toml"
  sed -n '/^\[firehose\]/,$p' "$toml" >"$c/firehose.toml"
  cat >"$c/expected.toml" <<EOF
[firehose]
role = "node"
group = "239.255.77.77:7451"
interface = "lo"
hub = "hub.example.net:7452"
hub_key = "$key"
discover_keep = 100
via_hub = true
EOF
  diff -u "$c/expected.toml" "$c/firehose.toml" || { echo "unexpected [firehose]"; return 1; }
  [ -n "$HOST_MSMD" ] || return 1
  "$HOST_MSMD" --config "$toml" init --domain smith.family || return 1
  # A role that is not node or hub is refused before anything is written.
  c=$(new_case firehose-bad)
  printf "config msmd 'main'\n\toption enabled '1'\n\toption domain 'a.example'\n\toption data_dir '%s'\n\toption role 'relay'\n" "$c/d" >"$c/config/msmd"
  if run_init "$c" || ! grep -q "role must be" "$c/out"; then
    cat "$c/out"
    echo "bad role accepted"
    return 1
  fi
}
check "init script: firehose options become [firehose] and msmd accepts them" init_firehose

init_https() {
  local c data
  c=$(new_case https)
  data="$c/srv/msmd"
  cat >"$c/config/msmd" <<EOF
config msmd 'main'
	option enabled '1'
	option domain 'smith.family'
	option data_dir '$data'
	option https_listen '0.0.0.0:8443'
	option https_cert '/etc/msmd/tls/fullchain.pem'
	option https_key '/etc/msmd/keys/key.pem'
	option jail '1'
EOF
  run_init "$c" "UJAIL=/bin/true;" || { cat "$c/out"; return 1; }
  local toml="$c/var/etc/msmd/msmd.toml"
  cat "$c/calls" "$toml"
  sed -n '/^\[https\]/,/^$/p' "$toml" >"$c/https.toml"
  printf '%s\n' '[https]' 'listen = "0.0.0.0:8443"' 'cert = "/etc/msmd/tls/fullchain.pem"' \
    'key = "/etc/msmd/keys/key.pem"' '' >"$c/expected.toml"
  diff -u "$c/expected.toml" "$c/https.toml" || { echo "unexpected [https]"; return 1; }
  grep -qx 'jail_mount /etc/msmd/tls' "$c/calls" && grep -qx 'jail_mount /etc/msmd/keys' "$c/calls" ||
    { echo "certificate directories not in the jail"; return 1; }
  grep -qx 'param reload_signal \[HUP\]' "$c/calls" || { echo "reload sends no SIGHUP"; return 1; }
  [ -n "$HOST_MSMD" ] || return 1
  "$HOST_MSMD" --config "$toml" init --domain smith.family || return 1
}
check "init script: https options become [https], their directories enter the jail, reload sends SIGHUP" init_https

init_refuses() {
  local c
  c=$(new_case disabled)
  printf "config msmd 'main'\n\toption enabled '0'\n\toption domain 'a.example'\n" >"$c/config/msmd"
  run_init "$c" || { cat "$c/out"; return 1; }
  ! grep -q open_instance "$c/calls" || { echo "started while disabled"; return 1; }
  c=$(new_case nodomain)
  printf "config msmd 'main'\n\toption enabled '1'\n\toption data_dir '%s'\n" "$c/fresh" >"$c/config/msmd"
  run_init "$c" && { echo "started a fresh node without a domain"; return 1; }
  grep -q 'logger .*domain' "$c/calls" || { echo "no log line about the domain"; return 1; }
  ! grep -q open_instance "$c/calls" || return 1
  c=$(new_case badint)
  printf "config msmd 'main'\n\toption enabled '1'\n\toption domain 'a.example'\n\toption data_dir '%s'\n\toption workers 'four'\n" "$c/d" >"$c/config/msmd"
  run_init "$c" && { echo "accepted workers=four"; return 1; }
  grep -q 'logger .*workers' "$c/calls" && ! grep -q open_instance "$c/calls"
}
check "init script: refuses when disabled, without a domain, with a bad number" init_refuses

uci_defaults() {
  local c
  c=$(new_case ucidefaults)
  echo "msmd.main.data_dir=$c/srv/msmd" >"$c/uci-state"
  STUB_LOG="$c/calls" STUB_CMD="$c/cmd" UCI_STATE="$c/uci-state" UCI_CONFIG_DIR="$c/config" \
    busybox sh -c ". \"$STUBS\"; . \"$ROOT/openwrt/msmd/files/msmd.uci-defaults\"" || return 1
  cat "$c/calls"
  grep -qx 'group_add msmd 7450' "$c/calls" && grep -q '^user_add msmd 7450 7450' "$c/calls" || { echo "no user"; return 1; }
  [ -d "$c/srv/msmd" ] || { echo "no data dir"; return 1; }
  local s
  for s in firewall.msmd_node.src=wan firewall.msmd_node.proto=tcp firewall.msmd_node.dest_port=7450 \
    firewall.msmd_node.target=ACCEPT firewall.msmd_multicast.src=wan firewall.msmd_multicast.proto=udp \
    firewall.msmd_multicast.dest_ip=239.255.77.77 firewall.msmd_multicast.dest_port=7451 \
    firewall.msmd_multicast.target=ACCEPT; do
    grep -qx "$s" "$c/uci-state" || { echo "missing $s"; return 1; }
  done
  grep -qx 'uci commit firewall' "$c/calls" || return 1
  # A second run (user present, rules present) adds nothing.
  : >"$c/calls"
  STUB_USER_EXISTS=1 STUB_LOG="$c/calls" STUB_CMD="$c/cmd" UCI_STATE="$c/uci-state" UCI_CONFIG_DIR="$c/config" \
    busybox sh -c ". \"$STUBS\"; . \"$ROOT/openwrt/msmd/files/msmd.uci-defaults\"" || return 1
  ! grep -Eq '^(uci set|user_add|group_add)' "$c/calls" || { echo "second run changed things"; cat "$c/calls"; return 1; }
}
check "uci-defaults: user, data dir, fw4 rules 7450/tcp and 239.255.77.77:7451/udp, idempotent" uci_defaults

feed_makefile() {
  local m=openwrt/msmd/Makefile
  grep -q '^include $(TOPDIR)/feeds/packages/lang/rust/rust-package.mk' $m &&
    grep -q 'DEPENDS:=$(RUST_ARCH_DEPENDS)' $m && grep -q '^/etc/config/msmd$' $m &&
    grep -q '$(eval $(call BuildPackage,msmd))' $m &&
    grep -q 'files/msmd.init $(1)/etc/init.d/msmd' $m && grep -q 'files/msmd.uci-defaults' $m || return 1
  # Recipe lines must start with a tab.
  ! grep -nE '^ +(\$\(|tar )' $m || return 1
  busybox sh -n openwrt/msmd/files/msmd.init && busybox sh -n openwrt/msmd/files/msmd.uci-defaults || return 1
  grep -q '^USE_PROCD=1' openwrt/msmd/files/msmd.init
}
check "OpenWrt feed Makefile and scripts are well formed" feed_makefile

# ---- (d) .ipk ---------------------------------------------------------------------------------
step "(d) ipk packages"
PKG_VERSION=$(sed -n 's/^PKG_VERSION:=//p' openwrt/msmd/Makefile)
PKG_RELEASE=$(sed -n 's/^PKG_RELEASE:=//p' openwrt/msmd/Makefile)
ipk_check() {
  local t=$1 arch=$2 qemu=$3 b ipk x
  b=$(bin_of "$t")
  ipk="$SCRATCH/ipk/msmd_${PKG_VERSION}-r${PKG_RELEASE}_$arch.ipk"
  packaging/build-ipk.sh "$b" "$arch" "$ipk" || return 1
  x="$SCRATCH/ipk/$arch"
  mkdir -p "$x/control" "$x/data"
  [ "$(tar -tzf "$ipk" | tr '\n' ' ')" = "./debian-binary ./data.tar.gz ./control.tar.gz " ] ||
    { echo "outer members: $(tar -tzf "$ipk" | tr '\n' ' ')"; return 1; }
  tar -xzf "$ipk" -C "$x"
  [ "$(cat "$x/debian-binary")" = 2.0 ] || { echo "debian-binary"; return 1; }
  tar -xzf "$x/control.tar.gz" -C "$x/control"
  tar -xzf "$x/data.tar.gz" -C "$x/data"
  cat "$x/control/control"
  local f
  for f in "Package: msmd" "Version: $PKG_VERSION-r$PKG_RELEASE" "Architecture: $arch" "Depends: libc" \
    "Require-User: msmd=7450:msmd=7450"; do
    grep -qx "$f" "$x/control/control" || { echo "control lacks '$f'"; return 1; }
  done
  grep -q '^Installed-Size: [0-9][0-9]*$' "$x/control/control" || return 1
  [ "$(cat "$x/control/conffiles")" = /etc/config/msmd ] || { echo conffiles; return 1; }
  grep -q default_postinst "$x/control/postinst" && grep -q default_prerm "$x/control/prerm" || return 1
  busybox sh -n "$x/control/postinst" && busybox sh -n "$x/control/prerm" || return 1
  tar -tvzf "$x/data.tar.gz" >"$x/data.list"
  cat "$x/data.list"
  grep -Eq '^-rwxr-xr-x 0/0 .* \./usr/bin/msmd$' "$x/data.list" &&
    grep -Eq '^-rwxr-xr-x 0/0 .* \./etc/init.d/msmd$' "$x/data.list" &&
    grep -Eq '^-rw------- 0/0 .* \./etc/config/msmd$' "$x/data.list" &&
    grep -Eq '^-rwxr-xr-x 0/0 .* \./etc/uci-defaults/90-msmd$' "$x/data.list" || { echo "data files: wrong modes or owners"; return 1; }
  cmp "$b" "$x/data/usr/bin/msmd" && cmp openwrt/msmd/files/msmd.init "$x/data/etc/init.d/msmd" &&
    cmp openwrt/msmd/files/msmd.config "$x/data/etc/config/msmd" || return 1
  "$qemu" "$x/data/usr/bin/msmd" --version | grep -q "^msmd $WS_VERSION (SQLite [0-9.]*)$" || { echo "packaged binary does not run"; return 1; }
  # Reproducible: the same inputs give the same bytes.
  packaging/build-ipk.sh "$b" "$arch" "$ipk.again" >/dev/null && cmp "$ipk" "$ipk.again"
}
wrong_arch_refused() { ! packaging/build-ipk.sh "$(bin_of aarch64-unknown-linux-musl)" mipsel_24kc "$SCRATCH/wrong.ipk"; }
for spec in "aarch64-unknown-linux-musl aarch64_cortex-a53 qemu-aarch64-static" \
  "armv7-unknown-linux-musleabihf arm_cortex-a7_neon-vfpv4 qemu-arm-static" \
  "mipsel-unknown-linux-musl mipsel_24kc qemu-mipsel-static"; do
  # shellcheck disable=SC2086
  set -- $spec
  if [ -f "$(bin_of "$1")" ]; then check "ipk $2" ipk_check "$@"; else fail "ipk $2" "no binary for $1"; fi
done
[ -f "$(bin_of aarch64-unknown-linux-musl)" ] && check "build-ipk.sh refuses a binary of another architecture" wrong_arch_refused

# ---- (e) Debian packages ----------------------------------------------------------------------
step "(e) Debian packages"
DEB_OK=1
if ! cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
  echo "installing cargo-deb $CARGO_DEB_VERSION (cargo install --locked)"
  if ! nice -n 10 cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked >"$SCRATCH/cargo-deb-install.log" 2>&1; then
    fail "tool cargo-deb" "cargo install cargo-deb --version $CARGO_DEB_VERSION --locked failed: $(tail -n 3 "$SCRATCH/cargo-deb-install.log")"
    DEB_OK=0
  fi
fi

# cargo-deb reads [package.metadata.deb] from daemon/Cargo.toml.
DEB_WS=$ROOT
check "daemon/Cargo.toml has [package.metadata.deb]" grep -q '^\[package.metadata.deb\]' daemon/Cargo.toml

check "packaging/debian/msmd.toml = packaging/msmd.toml with data_dir /var/lib/msmd" \
  packaging/debian/update-config.sh --check

deb_check() {
  local t=$1 darch=$2 out="$SCRATCH/deb/$2" deb x
  mkdir -p "$out"
  (cd "$DEB_WS/daemon" && CARGO_TARGET_DIR="$ROOT/target/cross" cargo deb -p msmd --no-build --no-strip \
    --target "$t" --output "$out/") || return 1
  deb=$(ls "$out"/*.deb)
  echo "$deb"
  dpkg-deb -I "$deb" | tee "$out/info"
  dpkg-deb -c "$deb" | tee "$out/contents"
  local f
  for f in "Package: msmd" "Version: $WS_VERSION-1" "Architecture: $darch" "Depends: adduser, libc6 (>= 2.31)" \
    "Recommends: ca-certificates" "Section: net"; do
    grep -qx " $f" "$out/info" || { echo "control lacks '$f'"; return 1; }
  done
  grep -Eq ' \./usr/bin/msmd$' "$out/contents" && grep -Eq ' \./etc/msmd/msmd\.toml$' "$out/contents" &&
    grep -Eq ' \./(usr/)?lib/systemd/system/msmd\.service$' "$out/contents" || { echo "files missing"; return 1; }
  x="$out/x"
  mkdir -p "$x/ctl"
  dpkg-deb -x "$deb" "$x"
  dpkg-deb -e "$deb" "$x/ctl"
  grep -qx /etc/msmd/msmd.toml "$x/ctl/conffiles" || { echo "msmd.toml is not a conffile"; return 1; }
  grep -q 'adduser --system' "$x/ctl/postinst" && grep -q 'deb-systemd-helper' "$x/ctl/postinst" ||
    { echo "postinst lacks the user or the systemd snippet"; return 1; }
  cmp "$(bin_of "$t")" "$x/usr/bin/msmd" || return 1
  # msmd accepts the packaged config (data_dir overridden to a scratch folder).
  if [ -n "$HOST_MSMD" ]; then
    "$HOST_MSMD" --config "$x/etc/msmd/msmd.toml" --data "$out/data" init --domain deb.test || return 1
  fi
  local unit
  unit=$(find "$x" -name msmd.service | head -n 1)
  cmp "$unit" packaging/msmd.service || return 1
  echo "--- lintian"
  lintian --no-tag-display-limit --fail-on error "$deb" || { echo "lintian found errors"; return 1; }
}
if [ "$DEB_OK" = 1 ]; then
  check "deb amd64" deb_check x86_64-unknown-linux-gnu amd64
  check "deb arm64" deb_check aarch64-unknown-linux-gnu arm64
  check "deb armhf" deb_check armv7-unknown-linux-gnueabihf armhf
fi

unit_check() {
  # A scratch root with the unit, a binary at /usr/bin/msmd, /bin/kill and the system's units.
  local r="$SCRATCH/unitroot" score
  mkdir -p "$r/usr/bin" "$r/bin" "$r/etc/systemd/system" "$r/lib/systemd"
  install -m 0755 "${HOST_MSMD:-/bin/true}" "$r/usr/bin/msmd"
  cp /bin/kill "$r/bin/kill"
  cp -r /lib/systemd/system "$r/lib/systemd/"
  cp packaging/msmd.service "$r/etc/systemd/system/msmd.service"
  SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --root="$r" msmd.service || { echo "systemd-analyze verify failed"; return 1; }
  systemd-analyze security --offline=true --root="$r" msmd.service >"$SCRATCH/security.log" 2>&1 || true
  grep '✗' "$SCRATCH/security.log" || true
  score=$(grep -o 'exposure level for msmd.service: [0-9.]*' "$SCRATCH/security.log" | awk '{print $NF}')
  echo "exposure: $score"
  [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'
}
check "systemd unit verifies; systemd-analyze security exposure <= 2.0" unit_check

# ---- summary ----------------------------------------------------------------------------------
echo
echo "wall time: $((SECONDS - T0))s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
