#!/bin/sh
# Runs a command as root in a throw-away copy of this machine: an overlay
# over / in a private mount namespace. Whatever the command installs or
# deletes (dpkg -i, users, /etc, /mnt) is gone when it exits. For running
# the real-installation package tests on a developer machine:
#
#   sudo packaging/sandbox.sh env CI=true go test -count=1 -run TestDeb ./packaging
set -eu
[ "$(id -u)" = 0 ] || { echo "sandbox.sh: run as root" >&2; exit 1; }
[ $# -gt 0 ] || { echo "usage: sandbox.sh COMMAND [ARGS...]" >&2; exit 2; }
work=$(mktemp -d /var/tmp/clapshot-sandbox.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/upper" "$work/work" "$work/root"
unshare --mount --propagation private --fork sh -c '
	set -e
	w=$1; shift; cwd=$1; shift
	mount -t overlay overlay -o "lowerdir=/,upperdir=$w/upper,workdir=$w/work" "$w/root"
	for d in /proc /sys /dev /dev/pts /dev/shm; do mount --rbind "$d" "$w/root$d"; done
	mount -t tmpfs tmpfs "$w/root/run"
	exec chroot "$w/root" sh -c "cd \"\$0\" && exec \"\$@\"" "$cwd" "$@"
' sh "$work" "$(pwd)" "$@"
