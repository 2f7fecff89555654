#!/usr/bin/env bash
# update-config.sh — writes packaging/debian/msmd.toml, the /etc/msmd/msmd.toml of the Debian
# package: packaging/msmd.toml (every key with its default) with data_dir = "/var/lib/msmd",
# the systemd unit's StateDirectory. Run it after changing packaging/msmd.toml;
# tests/router.sh fails while the two differ.
#   packaging/debian/update-config.sh [--check]   (--check: exit 1 if the file is stale)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/../msmd.toml" dst="$here/msmd.toml"
grep -q '^data_dir = ' "$src" || { echo "update-config.sh: no data_dir line in $src" >&2; exit 1; }
new=$({
  echo "# /etc/msmd/msmd.toml of the Debian package (generated from packaging/msmd.toml by"
  echo "# packaging/debian/update-config.sh). systemctl reload msmd applies what can change live."
  echo
  sed 's|^data_dir = .*|data_dir = "/var/lib/msmd"|' "$src"
})
if [ "${1:-}" = --check ]; then
  if [ "$new" != "$(cat "$dst" 2>/dev/null)" ]; then
    echo "packaging/debian/msmd.toml is stale: run packaging/debian/update-config.sh" >&2
    diff <(printf '%s\n' "$new") "$dst" >&2 || true
    exit 1
  fi
  exit 0
fi
printf '%s\n' "$new" >"$dst"
echo "wrote $dst"
