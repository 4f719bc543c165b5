#!/bin/sh
# Prints the Debian package version for the current git checkout.
#
#   at tag v1.2.3            -> 1.2.3
#   5 commits after v1.2.3   -> 1.2.3+git5.abc1234
#   no tag yet               -> 0.0.0+git<commits>.abc1234
#   uncommitted changes      -> ... .dirty appended
#
# The packages also carry epoch 1 (set in the nfpm files), so that they sort
# above Clapshot's own clapshot-server 0.x packages and upgrade them in place.
set -eu
cd "$(dirname "$0")/.."

if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "0.0.0+unknown"
	exit 0
fi
hash=$(git rev-parse --short=7 HEAD)
if desc=$(git describe --tags --match 'v[0-9]*' --long 2>/dev/null); then
	# v1.2.3-5-gabc1234
	tag=${desc%-*-g*}
	n=${desc%-g*}
	n=${n##*-}
	base=${tag#v}
	if [ "$n" = 0 ]; then v=$base; else v="$base+git$n.$hash"; fi
else
	v="0.0.0+git$(git rev-list --count HEAD).$hash"
fi
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	case "$v" in *+*) v="$v.dirty" ;; *) v="$v+dirty" ;; esac
fi
echo "$v"
