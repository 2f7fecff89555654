#!/usr/bin/env bash
# openwrt-stubs.sh — a small stand-in for the OpenWrt shell functions that the msmd init script
# and uci-defaults use, so tests/router.sh can run them on a build machine. It is sourced (not
# run) by busybox ash, OpenWrt's /bin/sh, and written for that shell (POSIX sh, no bashisms).
#
# Inputs (environment):
#   STUB_LOG        file that receives one line per recorded call
#   STUB_CMD        file that receives the instance's command line, one argument per line
#   UCI_CONFIG_DIR  folder with UCI config files for config_load (like /etc/config)
#   UCI_STATE       file of `key=value` lines that the `uci` stub reads and writes
#
# What is real and what is not: config_load reads the UCI file the way OpenWrt does (its
# `config`/`option`/`list` lines are evaluated as shell commands); procd_* and logger only
# record; chown records instead of changing owners (the user msmd does not exist here);
# uci get/batch/commit work on UCI_STATE.
set -euo pipefail

: "${STUB_LOG:?}" "${STUB_CMD:?}"

stub_record() { printf '%s\n' "$*" >>"$STUB_LOG"; }

# ---- /lib/functions.sh: UCI -------------------------------------------------------------------
CONFIG_SECTIONS=""
CONFIG_SECTION=""
CONFIG_NUM_SECTIONS=0

config() {
	CONFIG_NUM_SECTIONS=$((CONFIG_NUM_SECTIONS + 1))
	CONFIG_SECTION=${2:-cfg$CONFIG_NUM_SECTIONS}
	CONFIG_SECTIONS="$CONFIG_SECTIONS $CONFIG_SECTION"
	eval "CONFIG_${CONFIG_SECTION}_TYPE=\$1"
}

option() {
	eval "CONFIG_${CONFIG_SECTION}_$1=\$2"
}

list() {
	local len
	eval "len=\${CONFIG_${CONFIG_SECTION}_$1_LENGTH:-0}"
	len=$((len + 1))
	eval "CONFIG_${CONFIG_SECTION}_$1_ITEM$len=\$2"
	eval "CONFIG_${CONFIG_SECTION}_$1_LENGTH=\$len"
}

config_load() {
	stub_record "config_load $1"
	[ -f "$UCI_CONFIG_DIR/$1" ] || return 1
	. "$UCI_CONFIG_DIR/$1"
}

# config_get VAR SECTION OPTION [DEFAULT]: like OpenWrt, an empty option takes the default.
config_get() {
	local __v
	eval "__v=\${CONFIG_$2_$3:-}"
	[ -n "$__v" ] || __v=${4:-}
	eval "$1=\$__v"
}

config_get_bool() {
	local __b
	config_get __b "$2" "$3" "${4:-}"
	case "$__b" in
	1 | on | true | yes | enabled) __b=1 ;;
	0 | off | false | no | disabled) __b=0 ;;
	*) __b=${4:-0} ;;
	esac
	eval "$1=\$__b"
}

# ---- /lib/functions/procd.sh ------------------------------------------------------------------
procd_open_instance() { stub_record "open_instance ${1:-}"; }
procd_close_instance() { stub_record "close_instance"; }
procd_set_param() {
	local key=$1 line
	shift
	line="param $key"
	for a in "$@"; do line="$line [$a]"; done
	stub_record "$line"
	if [ "$key" = command ]; then
		: >"$STUB_CMD"
		for a in "$@"; do printf '%s\n' "$a" >>"$STUB_CMD"; done
	fi
}
procd_append_param() {
	local key=$1 line
	shift
	line="append $key"
	for a in "$@"; do line="$line [$a]"; done
	stub_record "$line"
	if [ "$key" = command ]; then
		for a in "$@"; do printf '%s\n' "$a" >>"$STUB_CMD"; done
	fi
}
procd_add_jail() { stub_record "jail $*"; }
procd_add_jail_mount() { stub_record "jail_mount $*"; }
procd_add_jail_mount_rw() { stub_record "jail_mount_rw $*"; }
procd_add_reload_trigger() { stub_record "reload_trigger $*"; }
procd_open_trigger() { stub_record "open_trigger"; }
procd_close_trigger() { stub_record "close_trigger"; }

# ---- system commands that need OpenWrt or another user -----------------------------------------
logger() { stub_record "logger $*"; }
chown() { stub_record "chown $*"; }

# /lib/functions.sh: users and groups (records; "exists" is driven by STUB_USER_EXISTS=1).
user_exists() { [ "${STUB_USER_EXISTS:-0}" = 1 ]; }
group_exists() { [ "${STUB_USER_EXISTS:-0}" = 1 ]; }
user_add() { stub_record "user_add $*"; }
group_add() { stub_record "group_add $*"; }

# /sbin/uci, enough for uci-defaults: -q, get, batch (set lines), commit.
uci() {
	[ "${1:-}" = -q ] && shift
	case "${1:-}" in
	get)
		local line
		line=$(grep -m 1 "^$2=" "$UCI_STATE" 2>/dev/null) || return 1
		printf '%s\n' "${line#*=}"
		;;
	batch)
		local cmd arg
		while read -r cmd arg; do
			[ -n "$cmd" ] || continue
			stub_record "uci $cmd $arg"
			[ "$cmd" = set ] || continue
			# set a.b.c='v' -> a.b.c=v (quotes as uci would strip them)
			arg=$(printf '%s' "$arg" | sed "s/='\(.*\)'\$/=\1/")
			printf '%s\n' "$arg" >>"$UCI_STATE"
		done
		;;
	commit)
		stub_record "uci commit ${2:-}"
		;;
	*)
		stub_record "uci $*"
		return 1
		;;
	esac
}
