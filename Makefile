# Tokentray — the two commands a person needs:
#   make run    install what is missing, build in release mode, start the tray app
#   make test   install what the tests need, then fmt, clippy and every test in a private desktop
# Everything else here serves those two.

SHELL := /bin/bash
.DEFAULT_GOAL := run

CARGO ?= cargo
# Build-time libraries of a Tauri 2 app on Debian/Ubuntu.
RUN_PKGS := build-essential pkg-config curl libssl-dev libwebkit2gtk-4.1-dev \
            libayatana-appindicator3-dev librsvg2-dev libxdo-dev libdbus-1-dev
# What make package needs beyond the build: dpkg-shlibdeps (the .deb's library dependencies),
# zip (the Windows zip). The tests add debootstrap (a clean Debian root to install into), unzip,
# python3-gi (the test StatusNotifierWatcher) and desktop-file-validate; rpm reads the .rpm.
PACKAGE_PKGS := dpkg-dev zip rpm
# The real services the tests run against: Secret Service, D-Bus, X, notifications, plus tools
# the tests drive them with.
TEST_PKGS := $(RUN_PKGS) gnome-keyring libsecret-tools openssl libfaketime procps mount dbus dbus-x11 xvfb dunst libnotify-bin \
             xdotool x11-utils x11-xserver-utils trayer imagemagick xclip git gdb \
             webkit2gtk-driver \
             $(PACKAGE_PKGS) debootstrap unzip python3-gi desktop-file-utils
# Node runs the test OAuth server; any Node >= 20 on PATH will do.
NODE_PKGS := nodejs npm

OIDC_DIR := tests/oidc
# WebDriver in front of WebKitWebDriver, for the dashboard's end-to-end tests.
TAURI_DRIVER_VERSION := 2.1.0
TAURI_DRIVER := target/tools/bin/tauri-driver
UNAME := $(shell uname -s)

# The Windows build: cross-compiled here for x86_64-pc-windows-gnu and run under Wine by the
# tests (tests/tests/windows.rs). Its toolchain, the std it builds from source, its target folder
# and the Wine prefix live in a cache outside the clone, so a fresh clone reuses them.
WINDOWS_TARGET := x86_64-pc-windows-gnu
WINDOWS_CACHE ?= $(or $(TOKENTRAY_WINDOWS_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tokentray-windows)
export TOKENTRAY_WINDOWS_CACHE := $(WINDOWS_CACHE)

# Packages: make package writes them to PACKAGE_DIR. Its tools (cargo-deb, cargo-generate-rpm,
# pinned) and the packaging test's clean Debian 12 root live in a cache outside the clone.
PACKAGE_DIR := target/package
PACKAGE_CACHE ?= $(or $(TOKENTRAY_PACKAGE_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tokentray-package)
export TOKENTRAY_PACKAGE_CACHE := $(PACKAGE_CACHE)
CARGO_DEB_VERSION := 3.8.0
CARGO_GENERATE_RPM_VERSION := 0.21.1
PACKAGE_TOOLS := $(PACKAGE_CACHE)/tools/bin
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
WINDOWS_ZIP := tokentray-$(VERSION)-windows-x86_64

.PHONY: run test windows package package-tools package-root icons bench bench-compare fuzz deps test-deps rust-check build-release build-tests lint screenshots clean

## run: install missing packages, build in release mode, start the tray app
run: deps build-release
	./target/release/tokentray run

## test: install test services, then fmt, clippy, and every test in a private desktop session
## (the Windows build under Wine included)
test: test-deps lint build-tests windows package package-root
	tests/session.sh $(MAKE) --no-print-directory test-in-session

# Runs inside tests/session.sh. nextest runs the test binaries in parallel; plain cargo test
# works too when nextest is absent.
# As root, tests that need a mount or the clock must run, not skip (tests/src/lib.rs `skip`).
test-in-session:
	@if [ "$$(id -u)" = 0 ]; then export TOKENTRAY_REQUIRE_PRIVILEGED=1; fi; \
	if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --locked --no-fail-fast --final-status-level slow \
	    --config-file tests/nextest.toml; \
	else \
	  $(CARGO) test --workspace --locked --no-fail-fast; \
	fi
	cd $(OIDC_DIR) && node --test selftest.mjs

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

build-release:
	$(CARGO) build --release --locked -p tokentray -p tokentray-app

# The end-to-end tests run the built binaries of the same profile.
build-tests:
	$(CARGO) build --workspace --bins --locked
	$(CARGO) test --workspace --locked --no-run

## windows: the Windows CLI and tray app (tokentray.exe, tokentray-app.exe), linted and built
## here in release mode (what the zip ships is what the Windows tests run): mingw-w64, Wine and
## Debian's rust-src for the std build are set up by tests/windows/toolchain.sh (once; cached in
## WINDOWS_CACHE)
windows: rust-check
	@env=$$(tests/windows/toolchain.sh) && set -a && . "$$env" && set +a && \
	  export CARGO_TARGET_DIR=$(WINDOWS_CACHE)/target && \
	  $(CARGO) clippy --locked --target $(WINDOWS_TARGET) -p tokentray -p tokentray-app -- -D warnings && \
	  $(CARGO) build --release --locked --target $(WINDOWS_TARGET) -p tokentray -p tokentray-app

## package: the .deb and .rpm (both binaries, menu entry, icons, licences) and the Windows zip,
## in target/package/ (docs/packaging.md)
package: deps package-tools build-release windows
	rm -rf $(PACKAGE_DIR) && mkdir -p $(PACKAGE_DIR)/$(WINDOWS_ZIP)
	$(PACKAGE_TOOLS)/cargo-deb -p tokentray-app --no-build --locked --output $(PACKAGE_DIR)/
	$(PACKAGE_TOOLS)/cargo-generate-rpm -p src-tauri --output $(PACKAGE_DIR)/
	cp $(addprefix $(WINDOWS_CACHE)/target/$(WINDOWS_TARGET)/release/,tokentray.exe tokentray-app.exe WebView2Loader.dll) \
	   README.md docs/LICENSE-MIT docs/LICENSE-APACHE $(PACKAGE_DIR)/$(WINDOWS_ZIP)/
	cd $(PACKAGE_DIR) && zip -q -r -X $(WINDOWS_ZIP).zip $(WINDOWS_ZIP) && rm -r $(WINDOWS_ZIP)
	@ls -l $(PACKAGE_DIR)

# The packaging tools, pinned, built once into the cache (a few minutes).
package-tools: rust-check
	@$(call apt_install,$(PACKAGE_PKGS))
	@if ! $(PACKAGE_TOOLS)/cargo-deb --version 2>/dev/null | grep -qF " $(CARGO_DEB_VERSION)"; then \
	  echo "Installing cargo-deb $(CARGO_DEB_VERSION) into $(PACKAGE_CACHE)/tools (once)"; \
	  $(CARGO) install cargo-deb --locked --version $(CARGO_DEB_VERSION) --root $(PACKAGE_CACHE)/tools --quiet; \
	fi
	@if ! $(PACKAGE_TOOLS)/cargo-generate-rpm --version 2>/dev/null | grep -qF " $(CARGO_GENERATE_RPM_VERSION)"; then \
	  echo "Installing cargo-generate-rpm $(CARGO_GENERATE_RPM_VERSION) into $(PACKAGE_CACHE)/tools (once)"; \
	  $(CARGO) install cargo-generate-rpm --locked --version $(CARGO_GENERATE_RPM_VERSION) --root $(PACKAGE_CACHE)/tools --quiet; \
	fi

# The packaging test's clean Debian 12 root (debootstrap, once, in the cache); it needs root, and
# without it the test says SKIPPED.
package-root:
	@if [ "$$(id -u)" = 0 ]; then tests/package/root.sh $(PACKAGE_CACHE) >/dev/null; \
	else echo "Not root: no clean Debian root for the packaging test (debootstrap and chroot need root)"; fi

## icons: every platform's app icon from icons/src/app.svg: Windows' .ico (tauri-build needs it
## for the Windows build), macOS' .icns, and the freedesktop hicolor sizes packages install.
## The results are committed; run this after changing the SVG.
HICOLOR_SIZES := 16 24 32 48 64 128 256 512
icons:
	@$(call apt_install,imagemagick icnsutils)
	for n in $(HICOLOR_SIZES); do \
	  mkdir -p icons/hicolor/$${n}x$${n}/apps && \
	  convert -background none -density 384 icons/src/app.svg -resize $${n}x$${n} -depth 8 \
	    PNG32:icons/hicolor/$${n}x$${n}/apps/tokentray.png || exit 1; \
	done
	convert -background none -density 384 icons/src/app.svg -depth 8 \
	  -define icon:auto-resize=256,128,64,48,32,24,16 icons/icon.ico
	png2icns icons/icon.icns $(foreach n,16 32 48 128 256 512,icons/hicolor/$(n)x$(n)/apps/tokentray.png)

## deps: the system packages needed to build and run (apt on Debian/Ubuntu; nothing on macOS)
deps: rust-check
	@$(call apt_install,$(RUN_PKGS))

## test-deps: the above, plus the real services the tests use and the OAuth server's npm packages
test-deps: rust-check
	@$(call apt_install,$(TEST_PKGS) $(if $(shell command -v node),,$(NODE_PKGS)))
	@if [ ! -x $(TAURI_DRIVER) ]; then \
	  echo "Installing tauri-driver $(TAURI_DRIVER_VERSION) (WebDriver for the dashboard tests) into target/tools"; \
	  $(CARGO) install tauri-driver --locked --version $(TAURI_DRIVER_VERSION) --root target/tools --quiet; \
	fi
	@node -e 'process.exit(parseInt(process.versions.node) >= 20 ? 0 : 1)' 2>/dev/null || { \
	  echo "The test OAuth server needs Node.js 20 or newer (found: $$(node --version 2>/dev/null || echo none)); install it (e.g. from nodesource or nvm) and run make again."; exit 1; }
	@if [ ! -d $(OIDC_DIR)/node_modules ] || [ $(OIDC_DIR)/package-lock.json -nt $(OIDC_DIR)/node_modules/.package-lock.json ]; then \
	  echo "Installing the test OAuth server's npm packages (npm ci in $(OIDC_DIR))"; \
	  cd $(OIDC_DIR) && npm ci --no-audit --no-fund --loglevel=error; \
	fi

rust-check:
	@command -v $(CARGO) >/dev/null || { \
	  echo "Rust is not installed. Install it from https://rustup.rs (rustup), then run make again."; exit 1; }
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy rustfmt

# apt_install(packages): installs the missing ones, saying which before it does.
define apt_install
if [ "$(UNAME)" = "Darwin" ]; then exit 0; fi; \
if ! command -v dpkg >/dev/null || ! command -v apt-get >/dev/null; then \
  echo "Not Debian/Ubuntu: make sure these (or your distribution's equivalents) are installed: $(1)"; exit 0; fi; \
missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done | xargs); \
if [ -n "$$missing" ]; then \
  sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
  echo "Installing system packages: $$missing"; \
  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
fi
endef

## bench: benchmarks that print figures (docs/performance.md records them); no asserts
bench: test-deps build-release
	$(CARGO) build --release --locked -p bare-tray -p bare-sni
	$(CARGO) bench --locked -p tokentray-tests --bench scheduler
	tests/session.sh $(CARGO) bench --locked -p tokentray-tests --bench cli
	tests/session.sh $(CARGO) bench --locked -p tokentray-tests --bench keychain
	tests/session.sh $(CARGO) bench --locked -p tokentray-tests --bench idle
	tests/session.sh $(CARGO) bench --locked -p tokentray-tests --bench recovery

## bench-compare: the scheduler (10,000 accounts), CLI and idle benchmarks of commit BEFORE and
## of this tree, one after the other in one run, then the recovery benchmark of both side by
## side, for before/after tables in docs/performance.md.
## BEFORE is built in target/before from a copy of this tree's release dependencies.
BEFORE ?= 4400d94
bench-compare: test-deps build-release
	$(CARGO) build --release --locked -p bare-tray -p bare-sni
	rm -rf target/before && mkdir -p target/before/target
	git archive $(BEFORE) | tar -x -C target/before
	ln -s $(CURDIR)/$(OIDC_DIR)/node_modules target/before/$(OIDC_DIR)/node_modules
	cp -r target/release target/before/target/
	cd target/before && $(CARGO) build --release --locked -p tokentray -p tokentray-app -p bare-tray
	for tree in target/before .; do \
	  echo "==== $$tree"; \
	  (cd $$tree && $(CARGO) bench --locked -p tokentray-tests --bench scheduler -- 10000 && \
	   $(CURDIR)/tests/session.sh $(CARGO) bench --locked -p tokentray-tests --bench cli && \
	   $(CURDIR)/tests/session.sh $(CARGO) bench --locked -p tokentray-tests --bench idle) || exit 1; \
	done
	# Recovery after an outage: this tree's engine and target/before's, side by side.
	tests/session.sh $(CARGO) bench --locked -p tokentray-tests --bench recovery

## fuzz: each cargo-fuzz target for FUZZ_SECONDS (default 60); a crash fails and leaves its input
## in tests/fuzz/artifacts/ (turn it into a regression test)
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := classify settings socket_request
CARGO_FUZZ := target/tools/bin/cargo-fuzz
fuzz: deps
	@if [ ! -x $(CARGO_FUZZ) ]; then \
	  echo "Installing cargo-fuzz into target/tools"; \
	  $(CARGO) install cargo-fuzz --locked --root target/tools --quiet; \
	fi
	cd tests/fuzz && for t in $(FUZZ_TARGETS); do \
	  ../../$(CARGO_FUZZ) run --fuzz-dir . --sanitizer none --release $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

## screenshots: the README's walkthrough pictures, taken by its test (docs/images/walkthrough/)
screenshots: test-deps build-tests
	rm -rf target/screenshots/walkthrough
	tests/session.sh $(CARGO) test --locked -p tokentray-tests --test walkthrough
	rm -rf docs/images/walkthrough && mkdir -p docs/images/walkthrough
	cp target/screenshots/walkthrough/*.png docs/images/walkthrough/

clean:
	$(CARGO) clean
	rm -rf $(OIDC_DIR)/node_modules
