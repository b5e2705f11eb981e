#!/usr/bin/env bash
# Takes a screenshot of the tray icon with its menu open, for the README. Run inside
# tests/session.sh (make screenshots does): a bare X server has no tray, so trayer provides one.
#   tests/screenshot-tray.sh OUT.png
set -euo pipefail
out=${1:?usage: screenshot-tray.sh OUT.png}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# A sample of accounts in different states, so the menu shows what it is for.
export XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state" XDG_RUNTIME_DIR="$work/run"
mkdir -p "$XDG_CONFIG_HOME/tokentray" "$XDG_STATE_HOME/tokentray" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
cat >"$XDG_CONFIG_HOME/tokentray/settings.toml" <<'TOML'
[provider.github]
preset = "github"
token_url = "https://github.com/login/oauth/access_token"
client_id = "Iv1.example"

[provider.gitlab]
preset = "gitlab"
token_url = "https://gitlab.com/oauth/token"
client_id = "example"

[provider.okta]
issuer = "https://example.okta.com"
token_url = "https://example.okta.com/oauth2/v1/token"
client_id = "example"

[[account]]
name = "github-work"
provider = "github"

[[account]]
name = "gitlab"
provider = "gitlab"

[[account]]
name = "company-sso"
provider = "okta"
TOML
cat >"$XDG_STATE_HOME/tokentray/state.json" <<'JSON'
{"accounts": {"github-work": {"system": "enabled"}, "gitlab": {"system": "error"},
              "company-sso": {"system": "enabled", "paused": true}}}
JSON

# Paint a plain desktop so the screenshot is not black.
xsetroot -solid '#3b4252' 2>/dev/null || true
trayer --edge top --align right --widthtype request --height 32 --tint 0x2e3440 --transparent true --alpha 0 &
sleep 1
"$root/target/debug/tokentray-app" --minimized >"$work/app.log" 2>&1 &
# Wait for the icon to dock, then click it to open the menu.
for _ in $(seq 1 50); do
  if xdotool search --class trayer >/dev/null 2>&1 && [ -S "$XDG_RUNTIME_DIR/tokentray/engine.sock" ]; then break; fi
  sleep 0.2
done
sleep 2
read -r sw _ < <(xdpyinfo | awk '/dimensions:/ {split($2, d, "x"); print d[1], d[2]}')
xdotool mousemove $((sw - 16)) 16 click 1
sleep 1.5
mkdir -p "$(dirname "$out")"
import -window root -crop 420x300+$((sw - 420))+0 +repage "$out"
echo "saved $out"
