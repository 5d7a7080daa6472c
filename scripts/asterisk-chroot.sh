#!/usr/bin/env bash
# Build (once) the Debian sid chroot with Asterisk 22 that the real-Asterisk test tier
# runs in (tests/integration/asterisk_tier.py, docs/asterisk-tier.md).
#
# Why a chroot: the host is Debian bookworm (Asterisk 20 at best); the console targets
# Asterisk 22, which Debian ships in sid. A minbase chroot gives the real package with
# no VM, no container runtime, and no network beyond Debian's archive.
#
# Idempotent: if the chroot exists and `chroot DIR asterisk -V` works, it only prints the
# version. A build goes to DIR.partial and is renamed when complete, so an interrupted
# build is never mistaken for a cache; a stale .partial is removed first (after making
# sure nothing is mounted inside it).
#
# Also installs the host tools the tier needs: debootstrap and sipp (sip-tester).
#
# Environment:
#   CCOPS_ASTERISK_CHROOT  chroot directory (default /var/cache/ccops/asterisk-sid)
#   CCOPS_DEBIAN_MIRROR    Debian mirror (default http://deb.debian.org/debian)
set -euo pipefail

DIR="${CCOPS_ASTERISK_CHROOT:-/var/cache/ccops/asterisk-sid}"
MIRROR="${CCOPS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="asterisk,asterisk-modules,asterisk-core-sounds-en"
PARTIAL="${DIR}.partial"

log() { printf '[asterisk-chroot] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# CI shells and sudo often lack the sbin directories (chroot, debootstrap live there).
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH}"

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot)"
# Without chroot(8) every cache would look broken and be rebuilt: stop instead.
command -v chroot >/dev/null 2>&1 || die "chroot(8) not found (coreutils)"
case "$DIR" in
    /*/*) ;;
    *) die "refusing suspicious chroot path '$DIR' (must be an absolute path, not /)";;
esac

# ---------------------------------------------------------------- host tools
need=()
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
if [ "${#need[@]}" -gt 0 ]; then
    log "installing host packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

asterisk_version() {
    chroot "$1" /usr/sbin/asterisk -V 2>/dev/null
}

# Unmount everything below a directory, deepest first. An interrupted debootstrap can
# leave /proc or /sys mounted inside the target, and deleting through a mount would
# delete host files.
unmount_below() {
    local root mounts
    root="$(readlink -f "$1")"
    mounts="$(awk -v r="$root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/self/mounts \
        | sort -r)"
    for m in $mounts; do
        log "unmounting leftover $m"
        umount "$m" 2>/dev/null || umount -l "$m"
    done
    if awk -v r="$root" '$2 == r || index($2, r "/") == 1 {found=1} END {exit !found}' \
        /proc/self/mounts; then
        die "mounts remain under $root; not deleting it"
    fi
}

# PIDs of processes whose root directory is the given tree (chrooted into it).
chroot_pids() {
    local root p proot
    root="$(readlink -f "$1")"
    for p in /proc/[0-9]*; do
        proot="$(readlink "$p/root" 2>/dev/null || true)"
        [ "$proot" = "$root" ] && printf '%s\n' "${p#/proc/}"
    done
    return 0
}

# After our own debootstrap: a package's maintainer script may have started a daemon
# inside the new tree. Those processes are ours; stop exactly them.
kill_build_leftovers() {
    local pid
    for pid in $(chroot_pids "$1"); do
        log "stopping process $pid started inside $1 by the build"
        kill -9 "$pid" 2>/dev/null || true
    done
}

# Before deleting a tree we did not just build: never kill what others run in it.
remove_tree() {
    local pids
    pids="$(chroot_pids "$1" | tr '\n' ' ')"
    [ -z "$pids" ] || die "processes still run inside $1 (PIDs: $pids); stop them first"
    unmount_below "$1"
    rm -rf --one-file-system "$1"
}

# ---------------------------------------------------------------- cache hit?
if [ -d "$DIR" ]; then
    if version="$(asterisk_version "$DIR")"; then
        log "chroot present: $DIR"
        echo "$version"
        exit 0
    fi
    log "chroot at $DIR is broken (asterisk -V fails); rebuilding"
    remove_tree "$DIR"
fi

# ---------------------------------------------------------------- build
if [ -e "$PARTIAL" ]; then
    log "removing interrupted build $PARTIAL"
    remove_tree "$PARTIAL"
fi
mkdir -p "$(dirname "$DIR")"
started=$(date +%s)
log "debootstrap --variant=minbase sid from $MIRROR into $PARTIAL (a few minutes)"
if ! debootstrap --variant=minbase --include="$PACKAGES" sid "$PARTIAL" "$MIRROR" \
    >"${PARTIAL}.log" 2>&1; then
    tail -n 40 "${PARTIAL}.log" >&2 || true
    kill_build_leftovers "$PARTIAL"
    unmount_below "$PARTIAL"
    die "debootstrap failed (log: ${PARTIAL}.log; partial tree left for inspection)"
fi
kill_build_leftovers "$PARTIAL"
unmount_below "$PARTIAL"
chroot "$PARTIAL" apt-get clean >/dev/null 2>&1 || true
version="$(asterisk_version "$PARTIAL")" || die "built chroot cannot run asterisk -V"
mv "$PARTIAL" "$DIR"
mv "${PARTIAL}.log" "${DIR}.build.log" 2>/dev/null || true
log "built $DIR in $(( $(date +%s) - started ))s ($(du -sh "$DIR" | cut -f1))"
echo "$version"
