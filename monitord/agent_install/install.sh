#!/bin/sh
# monitord agent installer, served by the monitord daemon at /agent/install.sh (version @VERSION@).
#
#   sudo sh -c "$(curl -fsSL URL/agent/install.sh || echo exit 1)" install.sh --url URL --grpc HOST:PORT
#
# Creates a venv in /opt/monitord-agent, installs the agent from the daemon's wheelhouse (and the
# package index for anything it lacks), writes /etc/monitord/agent.toml and agent.token (0600),
# and starts the hardened monitord-agent.service. Re-running upgrades in place and keeps the token.
#
# The agent token is read from $MONITORD_AGENT_TOKEN or else from standard input (a hidden prompt
# on a terminal); never from the command line, where every local user would see it in `ps`.
#
# Options:
#   --url URL          the daemon's dashboard address, http(s)://host[:port] (required)
#   --grpc HOST:PORT   the daemon's agent (gRPC) address (default: the URL's host, port 50051)
#   --tls              connect to the gRPC address with TLS
#   --offline          install only from the daemon's wheelhouse (also used when the index is unreachable)
#   --no-systemd       no service: run the agent in the foreground (containers, CI)
#   --prefix DIR       install under DIR instead of / (tests; then root is not needed)
#   --dry-run          print what would be done, change nothing
#   --uninstall        remove everything the installer added
set -eu

VERSION='@VERSION@'
UNIT_TEXT=$(cat <<'UNIT'
@UNIT@
UNIT
)
URL=''
GRPC=''
TLS=false
OFFLINE=false
DRY_RUN=false
SYSTEMD=true
ACTION=install
PREFIX=''
PYTHON=${PYTHON:-python3}

die() {
	printf 'monitord agent install: %s\n' "$*" >&2
	exit 1
}
say() { printf 'monitord agent install: %s\n' "$*"; }
run() {
	if $DRY_RUN; then
		printf 'would run: %s\n' "$*"
	else
		"$@"
	fi
}
need_value() { [ "$2" -ge 2 ] || die "$1 needs a value (see the comments at the top of the script)"; }

while [ $# -gt 0 ]; do
	case $1 in
	--url) need_value "$1" $#; URL=$2; shift 2 ;;
	--grpc) need_value "$1" $#; GRPC=$2; shift 2 ;;
	--prefix) need_value "$1" $#; PREFIX=${2%/}; shift 2 ;;
	--tls) TLS=true; shift ;;
	--offline) OFFLINE=true; shift ;;
	--no-systemd) SYSTEMD=false; shift ;;
	--dry-run) DRY_RUN=true; shift ;;
	--uninstall) ACTION=uninstall; shift ;;
	*) die "unknown option $1 (options: --url --grpc --tls --offline --no-systemd --prefix --dry-run --uninstall)" ;;
	esac
done

case $PREFIX in
*[!A-Za-z0-9._/-]*) die "--prefix: use letters, digits and . _ / - only, got $PREFIX" ;;
esac
VENV=$PREFIX/opt/monitord-agent
ETC=$PREFIX/etc/monitord
CONFIG=$ETC/agent.toml
TOKEN_FILE=$ETC/agent.token
UNIT_FILE=$PREFIX/etc/systemd/system/monitord-agent.service

if [ -z "$PREFIX" ] && [ "$(id -u)" != 0 ] && ! $DRY_RUN; then
	die "run it as root (sudo): it writes $VENV, $ETC and the systemd unit"
fi

uninstall() {
	if [ -f "$UNIT_FILE" ] && command -v systemctl >/dev/null 2>&1 && [ -z "$PREFIX" ]; then
		run systemctl disable --now monitord-agent.service || true
	fi
	run rm -rf "$VENV"
	run rm -f "$CONFIG" "$TOKEN_FILE" "$UNIT_FILE"
	if [ -z "$PREFIX" ]; then
		if command -v systemctl >/dev/null 2>&1; then run systemctl daemon-reload || true; fi
		if [ -d "$ETC" ]; then run rmdir "$ETC" 2>/dev/null || true; fi
	else
		# Only the folders the installer made under the prefix, and only when empty.
		for dir in "$ETC" "$PREFIX/etc/systemd/system" "$PREFIX/etc/systemd" "$PREFIX/etc" "$PREFIX/opt"; do
			if [ -d "$dir" ]; then run rmdir "$dir" 2>/dev/null || true; fi
		done
	fi
	say "removed the monitord agent"
}

if [ "$ACTION" = uninstall ]; then
	uninstall
	exit 0
fi

[ -n "$URL" ] || die "--url is required: the daemon's address as the dashboard shows it"
case $URL in
http://* | https://*) URL=${URL%/} ;;
*) die "--url: expected http://host[:port] or https://host[:port], got $URL" ;;
esac
if [ -z "$GRPC" ]; then
	host=${URL#*://}
	host=${host%%/*}
	case $host in
	\[*) host=${host%%]*}] ;;
	*) host=${host%%:*} ;;
	esac
	GRPC=$host:50051
fi
case $GRPC in
*[!A-Za-z0-9.:\[\]-]* | *:) die "--grpc: expected host:port, got $GRPC" ;;
*:*) ;;
*) die "--grpc: expected host:port, got $GRPC" ;;
esac

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: install Python 3.11 or newer"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
	die "Python 3.11 or newer is needed, $PYTHON is $("$PYTHON" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo unknown)"
fi
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || die "$PYTHON cannot create venvs: install python3-venv"
command -v curl >/dev/null 2>&1 || die "curl not found: install curl"
if $SYSTEMD && ! command -v systemctl >/dev/null 2>&1; then
	die "systemctl not found: use --no-systemd to run the agent in the foreground"
fi
curl -fsS --max-time 15 -o /dev/null "$URL/agent/wheels/" 2>/dev/null ||
	die "cannot reach the daemon at $URL (check --url, or set http.public_url in the daemon's config)"

# The token: from the environment, else stdin; an empty answer keeps the installed one.
TOKEN=${MONITORD_AGENT_TOKEN:-}
if [ -z "$TOKEN" ]; then
	if [ -t 0 ]; then
		printf 'Agent token (input hidden; Enter keeps the installed one): ' >&2
		stty -echo
		IFS= read -r TOKEN || true
		stty echo
		printf '\n' >&2
	else
		IFS= read -r TOKEN || true
	fi
fi
TOKEN=$(printf '%s' "$TOKEN" | tr -d ' \r\n\t')
if [ -z "$TOKEN" ]; then
	[ -f "$TOKEN_FILE" ] || die "no agent token: pipe it on stdin or set MONITORD_AGENT_TOKEN"
	TOKEN=$(tr -d ' \r\n\t' <"$TOKEN_FILE")
	say "keeping the installed token"
fi
# printf is a shell builtin: the token reaches curl through a pipe, never through argv.
status=$(printf '%s' "$TOKEN" | curl -sS --max-time 15 -o /dev/null -w '%{http_code}' \
	-H 'Content-Type: text/plain' --data-binary @- "$URL/agent/token-check" 2>/dev/null) || status=000
case $status in
204) ;;
401) die "the daemon rejected the token (rotated, or the server was deleted): copy a new command from the dashboard" ;;
*) die "the daemon could not check the token (HTTP $status from $URL/agent/token-check)" ;;
esac

say "installing monitord agent $VERSION into $VENV"
if [ ! -x "$VENV/bin/python" ]; then
	run mkdir -p "$(dirname "$VENV")"
	run "$PYTHON" -m venv "$VENV"
fi
pip_install() {
	run "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade \
		--find-links "$URL/agent/wheels/" "$@" "monitord==$VERSION"
}
if $OFFLINE; then
	pip_install --no-index
elif ! pip_install --retries 0 --timeout 15 2>/dev/null; then
	say "the package index is unreachable: installing from the daemon's wheelhouse only"
	pip_install --no-index
fi

if $SYSTEMD; then
	# systemd hands the root-only token file to the service as a credential.
	token_path=/run/credentials/monitord-agent.service/agent.token
else
	token_path=$TOKEN_FILE
fi
run mkdir -p "$ETC"
if ! $DRY_RUN; then
	(
		umask 077
		printf '%s\n' "$TOKEN" >"$TOKEN_FILE.new"
		mv "$TOKEN_FILE.new" "$TOKEN_FILE"
		umask 022
		cat >"$CONFIG.new" <<TOML
# Written by the monitord agent installer; re-running it rewrites this file.
server = "$GRPC"
token_file = "$token_path"
interval_seconds = 1.0
tls = $TLS
TOML
		mv "$CONFIG.new" "$CONFIG"
	)
fi
say "wrote $CONFIG and $TOKEN_FILE (mode 0600)"

if ! $SYSTEMD; then
	say "running the agent in the foreground (Ctrl-C stops it)"
	if $DRY_RUN; then
		printf 'would run: %s\n' "$VENV/bin/python -m monitord.agent --config $CONFIG"
		exit 0
	fi
	exec "$VENV/bin/python" -m monitord.agent --config "$CONFIG"
fi

run mkdir -p "$(dirname "$UNIT_FILE")"
if $DRY_RUN; then
	printf 'would write: %s\n' "$UNIT_FILE"
else
	printf '%s\n' "$UNIT_TEXT" | sed -e "s#/opt/monitord-agent#$VENV#g" -e "s#/etc/monitord#$ETC#g" >"$UNIT_FILE"
fi
run systemctl daemon-reload
run systemctl enable monitord-agent.service
run systemctl restart monitord-agent.service
if ! $DRY_RUN && ! systemctl is-active --quiet monitord-agent.service; then
	die "monitord-agent.service did not start: see journalctl -u monitord-agent"
fi
say "monitord-agent.service is running; the host appears in the dashboard within seconds"
