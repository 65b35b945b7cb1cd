#!/usr/bin/env bash
# Installs podroute: the binary, its man pages and shell completions, the
# systemd unit, a default configuration (only if none exists), and the
# iproute2 name of its route protocol. Running it again upgrades the binary,
# unit and documentation and leaves the configuration alone.
#
#   packaging/install.sh [--prefix DIR] [--destdir DIR] [--binary FILE] [--no-user]
#
#   --prefix DIR    where the binary and documentation go (default /usr/local):
#                   DIR/bin/podroute, DIR/share/man/man1, DIR/share/{bash-completion,zsh,fish}
#   --destdir DIR   stage everything under DIR instead of / (packagers, tests);
#                   implies --no-user and skips systemctl
#   --binary FILE   the podroute binary to install (default: the static build of
#                   scripts/build-static, else target/release/podroute of this
#                   repository, else a podroute next to this script)
#   --no-user       do not create the podroute system user and group
#
# Needs only coreutils (and useradd/groupadd to create the user).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
prefix=/usr/local
destdir=""
binary=""
create_user=yes

usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
fail() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || fail "--prefix needs a directory"; prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#*=}"; shift ;;
        --destdir) [ $# -ge 2 ] || fail "--destdir needs a directory"; destdir="$2"; shift 2 ;;
        --destdir=*) destdir="${1#*=}"; shift ;;
        --binary) [ $# -ge 2 ] || fail "--binary needs a file"; binary="$2"; shift 2 ;;
        --binary=*) binary="${1#*=}"; shift ;;
        --no-user) create_user=no; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; fail "unknown argument: $1" ;;
    esac
done

case "$prefix" in
    /*) ;;
    *) fail "--prefix must be an absolute path (got $prefix)" ;;
esac
prefix="${prefix%/}"
if [ -n "$destdir" ]; then
    mkdir -p "$destdir"
    destdir="$(cd "$destdir" && pwd)"
    create_user=no
fi

if [ -z "$binary" ]; then
    for candidate in "$here/../target/$(uname -m)-unknown-linux-gnu/daemon/podroute" \
        "$here/../target/release/podroute" "$here/podroute"; do
        if [ -x "$candidate" ]; then binary="$candidate"; break; fi
    done
fi
[ -n "$binary" ] || fail "no podroute binary found: build it (scripts/build-static) or pass --binary FILE"
[ -x "$binary" ] || fail "$binary is not an executable file"
"$binary" --version >/dev/null || fail "$binary does not run"

bin_dir="$destdir$prefix/bin"
man_dir="$destdir$prefix/share/man/man1"
bash_dir="$destdir$prefix/share/bash-completion/completions"
zsh_dir="$destdir$prefix/share/zsh/site-functions"
fish_dir="$destdir$prefix/share/fish/vendor_completions.d"
config_dir="$destdir/etc/podroute"
unit_dir="$destdir/etc/systemd/system"
protos_dir="$destdir/etc/iproute2/rt_protos.d"

# The user first, so the configuration can be given to its group.
if [ "$create_user" = yes ] && ! getent passwd podroute >/dev/null; then
    getent group podroute >/dev/null || groupadd --system podroute
    useradd --system --gid podroute --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin --comment "podroute BGP speaker" podroute
    echo "created system user podroute"
fi

install -d "$bin_dir" "$man_dir" "$bash_dir" "$zsh_dir" "$fish_dir" "$unit_dir" "$protos_dir"
# Through a temporary name and a rename, so a running daemon's binary is
# never overwritten in place.
install -m 0755 "$binary" "$bin_dir/.podroute.new"
mv -f "$bin_dir/.podroute.new" "$bin_dir/podroute"
echo "installed $bin_dir/podroute ($("$bin_dir/podroute" --version))"

"$bin_dir/podroute" man --output-directory "$man_dir"
chmod 0644 "$man_dir"/podroute*.1
"$bin_dir/podroute" completions bash > "$bash_dir/podroute"
"$bin_dir/podroute" completions zsh > "$zsh_dir/_podroute"
"$bin_dir/podroute" completions fish > "$fish_dir/podroute.fish"
echo "installed man pages in $man_dir and bash, zsh and fish completions"

sed "s#/usr/local/bin/podroute#$prefix/bin/podroute#g" "$here/podroute.service" > "$unit_dir/.podroute.service.new"
chmod 0644 "$unit_dir/.podroute.service.new"
mv -f "$unit_dir/.podroute.service.new" "$unit_dir/podroute.service"
echo "installed $unit_dir/podroute.service"

install -m 0644 "$here/rt_protos.d/podroute.conf" "$protos_dir/podroute.conf"
echo "installed $protos_dir/podroute.conf"

if [ -e "$config_dir/podroute.toml" ]; then
    echo "kept the existing $config_dir/podroute.toml"
else
    install -d -m 0755 "$config_dir"
    install -m 0640 "$here/podroute.toml" "$config_dir/podroute.toml"
    if [ -z "$destdir" ] && getent group podroute >/dev/null; then
        chgrp podroute "$config_dir/podroute.toml"
    fi
    echo "installed $config_dir/podroute.toml: set [router] asn and router_id and add neighbors"
fi
"$bin_dir/podroute" check-config "$config_dir/podroute.toml" ||
    echo "install.sh: $config_dir/podroute.toml has errors (above); fix them before starting podroute" >&2

if [ -z "$destdir" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl daemon-reload
    echo "next: systemctl enable --now podroute"
fi
