#!/usr/bin/env bash
# cross-build.sh [TARGET...] — builds release `msmd` binaries for routers and Raspberry Pis.
#
# Targets (default: all five; a short alias or the full triple):
#   aarch64 | aarch64-unknown-linux-musl          OpenWrt arm64 (static; std built with -Zbuild-std)
#   armv7   | armv7-unknown-linux-musleabihf      OpenWrt 32-bit ARM (static; std built with -Zbuild-std)
#   mipsel  | mipsel-unknown-linux-musl           OpenWrt MIPS little-endian (tier 3; static, non-PIE)
#   aarch64-gnu | aarch64-unknown-linux-gnu       Raspberry Pi OS 64-bit (glibc, dynamic)
#   armv7-gnu   | armv7-unknown-linux-gnueabihf   Raspberry Pi OS 32-bit (glibc, dynamic)
# Not in the default set: x86_64-gnu | x86_64-unknown-linux-gnu (amd64 Debian package).
#
# It uses cargo-zigbuild with zig (both pinned, from PyPI) as the C compiler and linker, installs
# whatever is missing (idempotently), builds into its own target directory (target/cross, so it
# never waits on the lock of the main target/ directory), and prints a table: target, stripped
# size in bytes, build time. A target that fails is reported with the reason and the script goes
# on; the exit status is non-zero only if a musl (OpenWrt) target failed.
#
# Binaries land in target/cross/<triple>/release/msmd; build logs in target/cross/logs/.
#
# Environment:
#   NIGHTLY=nightly          toolchain for the -Zbuild-std targets (aarch64, armv7, mipsel musl)
#   MSMD_GLIBC=2.31          oldest glibc the gnu binaries run on (2.31: Raspberry Pi OS bullseye)
#   MSMD_CROSS_NO_INSTALL=1  do not install anything; fail with the reason instead
#   MSMD_CROSS_NICE=10       niceness of the builds (the machines are small and shared)
#   LIBSQLITE3_FLAGS         replaces the SQLite tuning below if set
set -euo pipefail

ZIGLANG_VERSION=0.17.1
CARGO_ZIGBUILD_VERSION=0.24.0
NIGHTLY="${NIGHTLY:-nightly}"
GLIBC="${MSMD_GLIBC:-2.31}"
NICE="${MSMD_CROSS_NICE:-10}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="$ROOT/target/cross"
LOGS="$CARGO_TARGET_DIR/logs"

ALL_TARGETS=(
  aarch64-unknown-linux-musl
  armv7-unknown-linux-musleabihf
  mipsel-unknown-linux-musl
  aarch64-unknown-linux-gnu
  armv7-unknown-linux-gnueabihf
)

# SQLite as msm uses it. libsqlite3-sys (rusqlite "bundled") compiles SQLite with FTS3, FTS5,
# R*Tree, STAT4, dbstat, column metadata, SOUNDEX and loadable extensions. msm needs FTS5 (the
# search index, messages_fts with the unicode61 tokenizer), WAL and foreign keys; nothing else.
# -U removes a feature the crate turns on, -D sets an option. Applied to every target, so the
# router binaries and the Raspberry Pi packages run the same SQLite.
#   FTS3, R*Tree, STAT4, dbstat, column metadata, SOUNDEX: not used by msm.
#   load extension: msmd never loads code into SQLite; omitting it also removes dlopen.
#   deprecated APIs, shared cache, progress callback: not used by rusqlite as msmd builds it.
#   JSON: msm's SQL has no json_*() calls (it encodes in Rust). Remove -DSQLITE_OMIT_JSON if a
#         migration ever needs them.
#   MEMSTATUS=0: no global memory statistics (a mutex per allocation saved).
#   LIKE_DOESNT_MATCH_BLOBS: LIKE compares text only, which is all msm asks of it.
#   STMTJRNL_SPILL=-1: statement journals stay in memory, in 1 KiB chunks. By default each
#         statement that needs one allocates a 64 KiB chunk (spilling to a temp file past
#         it); musl's malloc maps and unmaps a chunk that size every time, so every message
#         stored cost an mmap, a munmap and a TLB shootdown on every core. msm's statements
#         touch a few pages each, so the journal stays small.
#   DEFAULT_PCACHE_INITSZ=0: no bulk block of 20 pages for each new page cache. Every
#         ephemeral table (a UNION, a recursive CTE, an INSERT ... SELECT) opens a cache of
#         its own; with the bulk block each one allocated ~25 KiB and wrote to every page of
#         it, which musl hands back to the kernel when freed: a profile of a receiving node
#         spent a third of its time in those page faults, mmap and munmap. Pages are then
#         allocated one at a time, as the cache needs them.
#   DEFAULT_LOOKASIDE=0,0: no lookaside arena per connection. Each connection reserved
#         ~48 KiB for its small allocations, which stay resident once touched: ~480 KiB of an
#         idle node's 2.9 MB of private memory (10 connections); msmbench measured no
#         difference in ingest without it (BENCHMARKS.md run 17).
#   DQS=0: double-quoted strings are identifiers only (SQLite's own recommendation); msm's SQL
#         quotes strings with '...'.
#   UTF-16 API, date/time functions, tracing, the authorizer, declared column types,
#         sqlite3_complete, sqlite3_get_table, compile-option and introspection pragmas, test
#         hooks (UNTESTABLE): none is used by msmd or by rusqlite as it is built here. Together
#         with the above they keep the router binary under its size cap.
DEFAULT_SQLITE_FLAGS="-DSQLITE_ENABLE_FTS5 \
-USQLITE_ENABLE_FTS3 -USQLITE_ENABLE_FTS3_PARENTHESIS -USQLITE_ENABLE_RTREE -USQLITE_ENABLE_STAT4 \
-USQLITE_ENABLE_DBSTAT_VTAB -USQLITE_ENABLE_COLUMN_METADATA -USQLITE_SOUNDEX \
-USQLITE_ENABLE_LOAD_EXTENSION -DSQLITE_OMIT_LOAD_EXTENSION \
-DSQLITE_OMIT_DEPRECATED -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_OMIT_PROGRESS_CALLBACK \
-DSQLITE_OMIT_JSON -DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_LIKE_DOESNT_MATCH_BLOBS \
-DSQLITE_STMTJRNL_SPILL=-1 -DSQLITE_DEFAULT_PCACHE_INITSZ=0 -DSQLITE_DEFAULT_LOOKASIDE=0,0 \
-DSQLITE_DQS=0 -DSQLITE_OMIT_UTF16 -DSQLITE_OMIT_DATETIME_FUNCS -DSQLITE_OMIT_TRACE -DSQLITE_OMIT_AUTHORIZATION \
-DSQLITE_OMIT_DECLTYPE -DSQLITE_OMIT_COMPLETE -DSQLITE_OMIT_GET_TABLE -DSQLITE_OMIT_COMPILEOPTION_DIAGS \
-DSQLITE_OMIT_INTROSPECTION_PRAGMAS -DSQLITE_UNTESTABLE"
export LIBSQLITE3_FLAGS="${LIBSQLITE3_FLAGS:-$DEFAULT_SQLITE_FLAGS}"

say() { printf 'cross-build: %s\n' "$*" >&2; }

triple_of() {
  case "$1" in
    aarch64 | aarch64-musl) echo aarch64-unknown-linux-musl ;;
    armv7 | armv7-musl) echo armv7-unknown-linux-musleabihf ;;
    mipsel | mipsel-musl) echo mipsel-unknown-linux-musl ;;
    aarch64-gnu) echo aarch64-unknown-linux-gnu ;;
    armv7-gnu) echo armv7-unknown-linux-gnueabihf ;;
    x86_64-gnu) echo x86_64-unknown-linux-gnu ;;
    *-*-*) echo "$1" ;;
    *) return 1 ;;
  esac
}

# Targets whose std is built from source with nightly: those the rustup mirror does not ship
# (armv7, mipsel musl), and aarch64 musl, whose shipped std is built for speed: built with the
# release profile (opt-level "z") and std's `optimize_for_size` feature the binary is ~200 KB
# smaller (3,207,880 → 3,055,720 B with the discover window and hub services; the 3 MiB goal is
# 3,145,728 B), and ingest on x86_64 built the same way was no slower (BENCHMARKS.md).
needs_build_std() {
  case "$1" in
    aarch64-unknown-linux-musl | armv7-unknown-linux-musleabihf | mipsel-unknown-linux-musl) return 0 ;;
    *) return 1 ;;
  esac
}

TARGETS=()
if [ $# -eq 0 ]; then
  TARGETS=("${ALL_TARGETS[@]}")
else
  for t in "$@"; do
    case "$t" in -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;; esac
    if ! tr=$(triple_of "$t"); then
      say "unknown target '$t' (see --help)"
      exit 2
    fi
    TARGETS+=("$tr")
  done
fi

# ---- tools -------------------------------------------------------------------------------------

# Where pip puts console scripts (pyenv shims may not know a new one until `pyenv rehash`).
py_scripts_dir() { python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true; }
py_user_scripts_dir() { python3 -c 'import site, os; print(os.path.join(site.getuserbase(), "bin"))' 2>/dev/null || true; }

have_pinned_zig_tools() {
  local zv czv
  zv=$(python3 -m ziglang version 2>/dev/null || true)
  czv=$(cargo-zigbuild --version 2>/dev/null || true)
  [ "$zv" = "$ZIGLANG_VERSION" ] && [ "${czv##* }" = "$CARGO_ZIGBUILD_VERSION" ]
}

SETUP_ERROR=""
setup_zig_tools() {
  for d in "$(py_scripts_dir)" "$(py_user_scripts_dir)"; do
    [ -n "$d" ] && [ -d "$d" ] && case ":$PATH:" in *":$d:"*) ;; *) PATH="$PATH:$d" ;; esac
  done
  export PATH
  have_pinned_zig_tools && return 0
  if [ -n "${MSMD_CROSS_NO_INSTALL:-}" ]; then
    SETUP_ERROR="ziglang $ZIGLANG_VERSION and cargo-zigbuild $CARGO_ZIGBUILD_VERSION are needed (pip install ziglang==$ZIGLANG_VERSION cargo-zigbuild==$CARGO_ZIGBUILD_VERSION)"
    return 1
  fi
  command -v python3 >/dev/null || { SETUP_ERROR="python3 is needed to install zig and cargo-zigbuild from PyPI"; return 1; }
  say "installing ziglang==$ZIGLANG_VERSION cargo-zigbuild==$CARGO_ZIGBUILD_VERSION from PyPI"
  local pkgs=("ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION")
  python3 -m pip install --quiet --disable-pip-version-check "${pkgs[@]}" 2>"$LOGS/pip.log" ||
    python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages "${pkgs[@]}" 2>>"$LOGS/pip.log" ||
    { SETUP_ERROR="pip install failed: $(tail -n 3 "$LOGS/pip.log" | tr '\n' ' ')"; return 1; }
  command -v pyenv >/dev/null && pyenv rehash 2>/dev/null || true
  hash -r
  have_pinned_zig_tools || { SETUP_ERROR="installed zig/cargo-zigbuild but cannot run them (zig: $(python3 -m ziglang version 2>&1 | head -n1); cargo-zigbuild: $(cargo-zigbuild --version 2>&1 | head -n1))"; return 1; }
}

# Prints why a target's Rust toolchain is not usable, or nothing.
setup_rust_target() {
  local t=$1 out
  command -v rustup >/dev/null || { echo "rustup is needed"; return 0; }
  if needs_build_std "$t"; then
    if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
      if [ -n "${MSMD_CROSS_NO_INSTALL:-}" ] || ! out=$(rustup toolchain install "$NIGHTLY" --profile minimal 2>&1); then
        echo "toolchain $NIGHTLY is not installed and could not be: ${out:-MSMD_CROSS_NO_INSTALL is set}" | tail -n 3
        return 0
      fi
    fi
    if ! rustup component list --toolchain "$NIGHTLY" --installed 2>/dev/null | grep -q '^rust-src'; then
      if [ -n "${MSMD_CROSS_NO_INSTALL:-}" ] || ! out=$(rustup component add rust-src --toolchain "$NIGHTLY" 2>&1); then
        echo "rust-src for $NIGHTLY is missing (needed by -Zbuild-std): ${out:-MSMD_CROSS_NO_INSTALL is set}" | tail -n 3
        return 0
      fi
    fi
  else
    if ! rustup target list --installed 2>/dev/null | grep -qx "$t"; then
      if [ -n "${MSMD_CROSS_NO_INSTALL:-}" ] || ! out=$(rustup target add "$t" 2>&1); then
        echo "the Rust standard library for $t is missing: ${out:-MSMD_CROSS_NO_INSTALL is set}" | tail -n 3
        return 0
      fi
    fi
  fi
}

# ---- build ------------------------------------------------------------------------------------

# Builds one target; its output goes to the target's log.
build_one() {
  local t=$1 tu flags cargo=(cargo) zt=$1 extra=()
  tu=$(echo "$t" | tr 'a-z-' 'A-Z_')
  flags=""
  case "$t" in
    *-gnu | *-gnueabihf) zt="$t.$GLIBC" ;; # cargo-zigbuild links against this glibc version
  esac
  if needs_build_std "$t"; then
    # std built here (with the abort-only panic runtime the release profile asks for).
    # link-self-contained=no: zig supplies musl's crt objects (rustc has none for some targets).
    cargo=(cargo "+$NIGHTLY")
    extra=("-Zbuild-std=std,panic_abort" "-Zbuild-std-features=optimize_for_size")
    flags="-C link-self-contained=no -C force-unwind-tables=no"
    # No unwind tables: the release profile aborts on panic, so nothing ever unwinds, and
    # .eh_frame with its index was 764 KB of the aarch64 binary (5,125,552 → 4,375,088 B).
    # A panic still prints its message and location; only RUST_BACKTRACE has no frames to show.
    # The same for the C objects (SQLite, ring), built by the cc crate with these CFLAGS.
    export "CFLAGS_${t//-/_}=-fno-asynchronous-unwind-tables -fno-unwind-tables"
  fi
  # mipsel: a static-pie binary crashes at start, so link it as a plain static executable.
  [ "$t" = mipsel-unknown-linux-musl ] && flags="$flags -C relocation-model=static"
  env "CARGO_TARGET_${tu}_RUSTFLAGS=${flags# }" \
    nice -n "$NICE" "${cargo[@]}" zigbuild --locked --release -p msmd --bin msmd --target "$zt" "${extra[@]}"
}

# Why a build failed: its first error lines, or else the end of its log.
why_failed() {
  local log=$1 errs
  errs=$(grep -E '^error|: error:|undefined symbol|error: linking' "$log" | grep -v '^error: could not compile' | head -n 4) || true
  if [ -n "$errs" ]; then
    printf '%s\n' "$errs"
  else
    tail -n 6 "$log"
  fi
}

mkdir -p "$LOGS"
T0=$SECONDS
declare -A SIZE TIME STATUS REASON

if ! setup_zig_tools; then
  for t in "${TARGETS[@]}"; do STATUS[$t]=FAILED REASON[$t]=$SETUP_ERROR TIME[$t]=0; done
else
  say "zig $(python3 -m ziglang version), $(cargo-zigbuild --version); LIBSQLITE3_FLAGS=$LIBSQLITE3_FLAGS"
  for t in "${TARGETS[@]}"; do
    log="$LOGS/$t.log"
    s=$SECONDS
    why=$(setup_rust_target "$t")
    if [ -n "$why" ]; then
      STATUS[$t]=FAILED REASON[$t]=$why TIME[$t]=0
      say "$t: cannot build: $why"
      continue
    fi
    say "$t: building (log: ${log#"$ROOT"/})"
    if build_one "$t" >"$log" 2>&1; then
      bin="$CARGO_TARGET_DIR/$t/release/msmd"
      TIME[$t]=$((SECONDS - s))
      if [ ! -f "$bin" ]; then
        STATUS[$t]=FAILED REASON[$t]="cargo succeeded but $bin is missing"
      elif ! file -b "$bin" | grep -q 'ELF'; then
        STATUS[$t]=FAILED REASON[$t]="$bin is not an ELF file: $(file -b "$bin")"
      else
        SIZE[$t]=$(stat -c %s "$bin")
        STATUS[$t]=ok
        desc=$(file -b "$bin")
        case "$desc" in *"not stripped"*) STATUS[$t]="ok (NOT stripped)" ;; esac
        say "$t: $(printf '%s' "$desc" | cut -c1-150)"
      fi
    else
      TIME[$t]=$((SECONDS - s))
      STATUS[$t]=FAILED
      REASON[$t]="$(why_failed "$log") (log: ${log#"$ROOT"/})"
      say "$t: build FAILED after ${TIME[$t]}s:"
      tail -n 25 "$log" | sed 's/^/  | /' >&2
    fi
  done
fi

# ---- report -----------------------------------------------------------------------------------

echo
printf '%-34s %14s %10s  %s\n' TARGET "SIZE (bytes)" "TIME (s)" STATUS
failed_musl=0
for t in "${TARGETS[@]}"; do
  printf '%-34s %14s %10s  %s\n' "$t" "${SIZE[$t]:--}" "${TIME[$t]:--}" "${STATUS[$t]}"
  if [ "${STATUS[$t]}" = FAILED ]; then
    printf '%s\n' "${REASON[$t]}" | head -n 4 | sed 's/^/    why: /'
    case "$t" in *-musl | *-musleabihf) failed_musl=1 ;; esac
  fi
done
echo "total: $((SECONDS - T0))s; binaries in ${CARGO_TARGET_DIR#"$ROOT"/}/<target>/release/msmd"
exit "$failed_musl"
