#!/usr/bin/env bash
# Installs what the editor end-to-end suite (test/e2e/vscode) needs, idempotently:
#   - Debian packages: chromium (driven by playwright-core), libkrb5-dev and ripgrep (code-server's
#     native modules and its ripgrep postinstall need them);
#   - code-server@4.100.3 (VS Code 1.100.3, the last one that runs on Node 20) in its own folder
#     OUTSIDE the repository (default /opt/weft-e2e/code-server, override with WEFT_E2E_HOME);
#   - playwright-core, a devDependency (installed only if `npm ci` has not already done it).
# The suite finds code-server at $WEFT_E2E_HOME/code-server/node_modules/.bin/code-server.
# Every step is skipped when its result is already there. No download leaves the npm registry and
# Debian's mirrors: code-server's ripgrep postinstall is fed Debian's `rg` from its cache.
set -euo pipefail
cd "$(dirname "$0")/.."

CODE_SERVER_VERSION=4.100.3
E2E_HOME="${WEFT_E2E_HOME:-/opt/weft-e2e}"
CS_DIR="$E2E_HOME/code-server"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"

log() { echo "install-e2e: $*"; }

# 1. Debian packages.
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in chromium libkrb5-dev ripgrep; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. code-server, in its own folder.
installed_version() {
  node -e "process.stdout.write(require('$CS_DIR/node_modules/code-server/package.json').version)" 2>/dev/null || true
}
if [ -x "$CS_BIN" ] && [ "$(installed_version)" = "$CODE_SERVER_VERSION" ]; then
  log "code-server $CODE_SERVER_VERSION already in $CS_DIR"
else
  log "installing code-server@$CODE_SERVER_VERSION into $CS_DIR (about 2 minutes)"
  # @vscode/ripgrep's postinstall downloads rg from GitHub unless its cache already holds it.
  tmp="${TMPDIR:-/tmp}"
  rg_cache="$tmp/vscode-ripgrep-cache-1.15.11"
  rg_tgz="$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
  if [ ! -s "$rg_tgz" ]; then
    mkdir -p "$rg_cache"
    stage="$(mktemp -d)"
    cp "$(command -v rg)" "$stage/rg"
    tar -czf "$rg_tgz" -C "$stage" rg
    rm -rf "$stage"
  fi
  mkdir -p "$CS_DIR"
  [ -f "$CS_DIR/package.json" ] || echo '{"name":"weft-e2e-code-server","private":true}' >"$CS_DIR/package.json"
  (
    cd "$CS_DIR"
    # npm 11 blocks dependency install scripts by default; code-server needs its own postinstall
    # (which installs VS Code's native modules in lib/vscode with nested npm calls).
    npm_config_unsafe_perm=true npm_config_yes=true npm_config_dangerously_allow_all_scripts=true \
      npm install --no-audit --no-fund \
      "code-server@$CODE_SERVER_VERSION" >"$CS_DIR/install.log" 2>&1 \
      || { tail -40 "$CS_DIR/install.log"; exit 1; }
  )
  [ -x "$CS_BIN" ] || { log "code-server binary missing after install: $CS_BIN"; exit 1; }
  log "code-server $(installed_version) installed"
fi

# 3. playwright-core (a devDependency: `npm ci` normally brings it).
if ! node -e "require.resolve('playwright-core')" 2>/dev/null; then
  log "npm install --save-dev playwright-core"
  npm install --no-audit --no-fund --save-dev playwright-core
fi
log "ready (code-server: $CS_BIN, chromium: $(command -v chromium))"
