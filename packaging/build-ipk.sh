#!/usr/bin/env bash
# build-ipk.sh BINARY ARCH OUT.ipk — assembles an OpenWrt (opkg, 24.10 and earlier) package of
# msmd from a cross-built binary, without the OpenWrt SDK.
#
#   BINARY  a static msmd built by packaging/cross-build.sh, e.g.
#           target/cross/mipsel-unknown-linux-musl/release/msmd
#   ARCH    the OpenWrt package architecture of the router (`opkg print-architecture`), e.g.
#           aarch64_cortex-a53, aarch64_generic, arm_cortex-a7_neon-vfpv4, mipsel_24kc
#   OUT.ipk the package to write
#
# The package holds the same files as the feed package openwrt/msmd (binary, procd init script,
# UCI config as a conffile, uci-defaults), takes its version from openwrt/msmd/Makefile
# (PKG_VERSION-rPKG_RELEASE), and has OpenWrt's usual postinst/prerm, which create the msmd
# user (Require-User), run the uci-defaults, and enable/start or stop/disable the service.
# Layout, as opkg reads it: a gzipped tar of ./debian-binary ("2.0"), ./data.tar.gz and
# ./control.tar.gz, all owned by root, with mtimes from SOURCE_DATE_EPOCH (reproducible).
# The SDK build (openwrt/README.md) is the way to make apk packages for 25.12.
set -euo pipefail

if [ $# -ne 3 ]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
BINARY=$1 ARCH=$2 OUT=$3
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FEED="$ROOT/openwrt/msmd"

die() { echo "build-ipk: $*" >&2; exit 1; }
[ -f "$BINARY" ] || die "no such binary: $BINARY"
[ -f "$FEED/Makefile" ] || die "missing $FEED/Makefile"

# The binary must be for the architecture named.
desc=$(file -b "$BINARY")
case "$ARCH" in
  aarch64_*) want='64-bit LSB.*ARM aarch64' ;;
  arm_*) want='32-bit LSB.*ARM' ;;
  mipsel_*) want='32-bit LSB.*MIPS' ;;
  mips_*) want='32-bit MSB.*MIPS' ;;
  x86_64) want='64-bit LSB.*x86-64' ;;
  *) die "unknown OpenWrt architecture '$ARCH' (expected e.g. aarch64_cortex-a53, arm_cortex-a7_neon-vfpv4, mipsel_24kc)" ;;
esac
printf '%s' "$desc" | grep -Eq "ELF $want" || die "$BINARY is not a binary for $ARCH: $desc"
printf '%s' "$desc" | grep -Eq 'statically linked|static-pie linked' ||
  die "$BINARY is not statically linked (build it with packaging/cross-build.sh): $desc"

mk_var() { sed -n "s/^$1:=[[:space:]]*//p" "$FEED/Makefile" | head -n 1; }
PKG_VERSION=$(mk_var PKG_VERSION)
PKG_RELEASE=$(mk_var PKG_RELEASE)
[ -n "$PKG_VERSION" ] && [ -n "$PKG_RELEASE" ] || die "cannot read PKG_VERSION/PKG_RELEASE from $FEED/Makefile"
VERSION="$PKG_VERSION-r$PKG_RELEASE"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 0)}"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DATA=$WORK/data CTRL=$WORK/control
mkdir -p "$DATA/usr/bin" "$DATA/etc/init.d" "$DATA/etc/config" "$DATA/etc/uci-defaults" "$CTRL"
install -m 0755 "$BINARY" "$DATA/usr/bin/msmd"
install -m 0755 "$FEED/files/msmd.init" "$DATA/etc/init.d/msmd"
install -m 0600 "$FEED/files/msmd.config" "$DATA/etc/config/msmd"
install -m 0755 "$FEED/files/msmd.uci-defaults" "$DATA/etc/uci-defaults/90-msmd"

installed_size=$(du -sb "$DATA" | cut -f1)
cat >"$CTRL/control" <<EOF
Package: msmd
Version: $VERSION
Depends: libc
Source: openwrt/msmd
SourceName: msmd
License: MIT Apache-2.0
Section: net
SourceDateEpoch: $SOURCE_DATE_EPOCH
URL: https://example.invalid/msm
Maintainer: msm developers <msm@example.invalid>
Require-User: msmd=7450:msmd=7450
Architecture: $ARCH
Installed-Size: $installed_size
Description:  msm node daemon: a household's node of msm, a distributed Twitter. It hosts
 the household's identities, serves the web client, and exchanges posts with other
 nodes over TCP and IP multicast.
EOF
echo /etc/config/msmd >"$CTRL/conffiles"
# OpenWrt's standard maintainer scripts (what the build system puts in every package).
cat >"$CTRL/postinst" <<'EOF'
#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
EOF
cat >"$CTRL/prerm" <<'EOF'
#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
EOF
chmod 0755 "$CTRL/postinst" "$CTRL/prerm"

# tar with root ownership, fixed mtimes and sorted names; gzip without a timestamp.
mktgz() {
  local dir=$1 out=$2
  shift 2
  tar --format=gnu --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -C "$dir" -cf - "$@" | gzip -n -9 >"$out"
}
mktgz "$DATA" "$WORK/data.tar.gz" .
mktgz "$CTRL" "$WORK/control.tar.gz" .
echo "2.0" >"$WORK/debian-binary"
mkdir -p "$(dirname "$OUT")"
# The outer archive keeps opkg's member order; --sort would reorder it.
tar --format=gnu --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
  -C "$WORK" -cf - ./debian-binary ./data.tar.gz ./control.tar.gz | gzip -n -9 >"$OUT"
echo "build-ipk: $OUT: msmd $VERSION for $ARCH ($(stat -c %s "$OUT") bytes)"
