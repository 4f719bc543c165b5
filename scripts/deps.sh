#!/bin/sh
# Installs the Debian packages a make target needs. As root it runs
# apt-get; otherwise it prints the exact command and fails.
#   scripts/deps.sh run|test|bench|demo
set -eu

target=${1:-run}
need=""
want() { # want <command-or-path> <package>
	case "$1" in
	/*) [ -e "$1" ] || need="$need $2" ;;
	*) command -v "$1" >/dev/null 2>&1 || need="$need $2" ;;
	esac
}

want ffmpeg ffmpeg
want ffprobe ffmpeg
want node nodejs # the web UI build (web/, needs Node.js >= 20.19)
want npm npm
case "$target" in
test | bench)
	want sqlite3 sqlite3
	want prlimit util-linux
	want protoc protobuf-compiler
	want /usr/include/google/protobuf/timestamp.proto libprotobuf-dev
	want chromium chromium
	want nginx nginx-light
	want htpasswd apache2-utils
	want adduser adduser
	want xmllint libxml2-utils # validates the FCPXML and Premiere exports against their DTDs
	want python3 python3       # reads the CSV export back with Python's csv module
	# The PostgreSQL tests start a server of their own (internal/testsupport/pgtest).
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || want initdb postgresql
	;;
demo)
	want nginx nginx-light
	want htpasswd apache2-utils
	;;
esac
[ "$target" = bench ] && want wrk wrk

# Deduplicate.
need=$(printf '%s\n' $need | sort -u | tr '\n' ' ')
[ -z "${need% }" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "Installing missing packages: $need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $need >/dev/null
	exit 0
fi
echo "Missing packages for 'make $target':$need" >&2
echo "Install them with:  sudo apt-get install -y $need" >&2
exit 1
