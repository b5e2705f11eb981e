#!/usr/bin/env bash
# Runs a command inside a private desktop session: its own X server (Xvfb), its own D-Bus session
# bus, an unlocked gnome-keyring (the real Secret Service), and dunst (the real notification
# daemon). Everything lives in a temporary folder and is torn down when the command ends, so tests
# never touch the user's real keyring, notifications or settings.
#
#   tests/session.sh cargo test
#
# Exports to the command: DISPLAY, DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR, XDG_CONFIG_HOME,
# XDG_STATE_HOME, XDG_DATA_HOME, XDG_CACHE_HOME, HOME, TOKENTRAY_SESSION=1. A StatusNotifierWatcher
# (tests/desktop/sni-watcher.py) stands in for the panel.
set -euo pipefail

if [ "${1:-}" = "--inner" ]; then
  shift
  # Inside dbus-run-session: start the keyring and the notification daemon on this bus.
  echo -n "tokentray-test" | gnome-keyring-daemon --unlock --components=secrets >"$SESSION_DIR/keyring.env"
  # shellcheck disable=SC1091
  . "$SESSION_DIR/keyring.env"
  export GNOME_KEYRING_CONTROL
  dunst -config /dev/null >"$SESSION_DIR/dunst.log" 2>&1 &
  dunst_pid=$!
  # A panel's StatusNotifierWatcher, as KDE, XFCE, Cinnamon and GNOME's AppIndicator extension
  # run: the tray is then the lean StatusNotifierItem, as on those desktops. (Tests of a desktop
  # without one start their own bus.)
  /usr/bin/python3 "$(dirname "$0")/desktop/sni-watcher.py" >"$SESSION_DIR/sni-watcher.log" 2>&1 &
  watcher_pid=$!
  # Wait until the services own their bus names, so the first test does not race them.
  for _ in $(seq 1 100); do
    names=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.ListNames 2>/dev/null || true)
    if grep -q org.freedesktop.secrets <<<"$names" && grep -q org.freedesktop.Notifications <<<"$names" \
      && grep -q org.kde.StatusNotifierWatcher <<<"$names"; then
      break
    fi
    sleep 0.1
  done
  status=0
  "$@" || status=$?
  kill "$dunst_pid" "$watcher_pid" 2>/dev/null || true
  exit "$status"
fi

# As root, a mount namespace of its own: the fault tests' mounts (a full disk, a read-only
# folder) vanish with the session even if a test is killed before it unmounts.
if [ "$(id -u)" = 0 ] && [ -z "${TOKENTRAY_MOUNT_NS:-}" ] && unshare --mount --propagation private true 2>/dev/null; then
  export TOKENTRAY_MOUNT_NS=1
  exec unshare --mount --propagation private "$0" "$@"
fi

for tool in Xvfb dbus-run-session gnome-keyring-daemon dunst dbus-send; do
  command -v "$tool" >/dev/null || { echo "session.sh: $tool is missing; run \`make test-deps\`" >&2; exit 1; }
done

SESSION_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tokentray-session.XXXXXX")
export SESSION_DIR
chmod 700 "$SESSION_DIR"
mkdir -p "$SESSION_DIR"/{run,config,state,data,cache,home}
chmod 700 "$SESSION_DIR/run"

# Let Xvfb pick a free display and tell us which, instead of guessing a number.
exec 9<> <(:)
Xvfb -displayfd 9 -screen 0 1280x800x24 -nolisten tcp >"$SESSION_DIR/xvfb.log" 2>&1 &
xvfb_pid=$!
cleanup() {
  kill "$xvfb_pid" 2>/dev/null || true
  wait "$xvfb_pid" 2>/dev/null || true
  if [ -n "${TOKENTRAY_KEEP_SESSION:-}" ]; then
    echo "session.sh: kept $SESSION_DIR" >&2
  else
    rm -rf "$SESSION_DIR"
  fi
}
trap cleanup EXIT
display=""
for _ in $(seq 1 100); do
  if read -r -t 0.1 display <&9 && [ -n "$display" ]; then break; fi
done
[ -n "$display" ] || { echo "session.sh: Xvfb did not start:" >&2; cat "$SESSION_DIR/xvfb.log" >&2; exit 1; }

export DISPLAY=":$display"
export XDG_RUNTIME_DIR="$SESSION_DIR/run"
export XDG_CONFIG_HOME="$SESSION_DIR/config"
export XDG_STATE_HOME="$SESSION_DIR/state"
export XDG_DATA_HOME="$SESSION_DIR/data"
export XDG_CACHE_HOME="$SESSION_DIR/cache"
export TOKENTRAY_SESSION=1
# Keep cargo and rustup where they are even though HOME moves (tests write only into tempdirs).
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export HOME="$SESSION_DIR/home"
unset DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL SSH_AUTH_SOCK

status=0
dbus-run-session -- "$0" --inner "$@" || status=$?
exit "$status"
