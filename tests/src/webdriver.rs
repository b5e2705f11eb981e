//! A small W3C WebDriver client for driving the real dashboard: `tauri-driver` in front of
//! WebKitWebDriver (Debian's `webkit2gtk-driver`) starts `tokentray-app` with the sandbox's
//! environment and lets the test click and read the real webview.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::sandbox::Sandbox;

/// One WebDriver call on an element: method, path under the session, body.
type ElementCall = (&'static str, String, Option<Value>);
/// The key under which WebDriver returns an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where `make test-deps` installs `tauri-driver` (`cargo install --root target/tools`).
pub fn tauri_driver() -> PathBuf {
    crate::bins::repo_root().join("target/tools/bin/tauri-driver")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A WebDriver session on the tray app's dashboard; the driver and the app stop when dropped.
pub struct Dashboard {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    shots: PathBuf,
}

impl Dashboard {
    /// Starts `tauri-driver` with the sandbox's environment and opens a session on `app` run
    /// with `args` (the dashboard process of an engine already running). Screenshots go to
    /// `shots`.
    pub fn start(s: &Sandbox, app: &Path, args: &[&str], shots: &Path) -> Dashboard {
        let driver_path = tauri_driver();
        assert!(
            driver_path.exists(),
            "{} is missing; `make test-deps` installs it",
            driver_path.display()
        );
        let (port, native) = (free_port(), free_port());
        let log = std::fs::File::create(s.root().join("tauri-driver.log")).expect("log file");
        let driver = s
            .command(&driver_path)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start tauri-driver");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "tauri-driver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        std::fs::create_dir_all(shots).expect("screenshot folder");
        let mut dash = Dashboard {
            driver,
            base,
            session: String::new(),
            agent,
            shots: shots.to_owned(),
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "tauri:options": {"application": app.to_string_lossy(), "args": args}
        }}});
        let v = dash.call("POST", "/session", Some(caps));
        dash.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_owned();
        dash
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{}", self.base, path);
        let resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self.agent.post(&url).send_json(body.unwrap_or(json!({}))),
        };
        let mut resp = resp.map_err(|e| e.to_string())?;
        let v: Value = resp.body_mut().read_json().unwrap_or(Value::Null);
        if v["value"]["error"].is_string() {
            return Err(v["value"].to_string());
        }
        Ok(v["value"].clone())
    }

    /// Runs `script` asynchronously: it calls its last argument with the result.
    pub fn run_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.execute("async", script, args)
    }

    fn execute(&self, kind: &str, script: &str, args: Vec<Value>) -> Value {
        let body = json!({"script": script, "args": args});
        self.call(
            "POST",
            &self.session_path(&format!("/execute/{kind}")),
            Some(body),
        )
    }

    /// Like [`Dashboard::run`], but an error (the page still loading) is `None`.
    fn try_run(&self, script: &str, args: Vec<Value>) -> Option<Value> {
        self.try_call(
            "POST",
            &self.session_path("/execute/sync"),
            Some(json!({"script": script, "args": args})),
        )
        .ok()
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{}", self.session, rest)
    }

    /// Runs `script` in the page and returns its value.
    pub fn run(&self, script: &str, args: Vec<Value>) -> Value {
        self.execute("sync", script, args)
    }

    /// Waits until `css` matches an element that is displayed, and returns it.
    pub fn wait_for(&self, css: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let found = self.try_run(
                "const e = document.querySelector(arguments[0]); return !!(e && e.getClientRects().length > 0);",
                vec![json!(css)],
            );
            if found == Some(json!(true)) {
                let v = self.call(
                    "POST",
                    &self.session_path("/element"),
                    Some(json!({"using": "css selector", "value": css})),
                );
                return v[ELEMENT].as_str().expect("element id").to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "{css} did not appear within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until `script` (returning a boolean) is true in the page.
    pub fn wait_until(&self, what: &str, script: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while self.try_run(script, vec![]) != Some(json!(true)) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Resizes the window (WebDriver's Set Window Rect), as a person dragging its edge.
    pub fn set_window_size(&self, width: u32, height: u32) {
        self.set_window_rect(None, width, height);
    }

    /// Moves the window to `at` (x, y; where it is when none) and resizes it.
    pub fn set_window_rect(&self, at: Option<(u32, u32)>, width: u32, height: u32) {
        let mut rect = json!({ "width": width, "height": height });
        if let Some((x, y)) = at {
            rect["x"] = json!(x);
            rect["y"] = json!(y);
        }
        self.call("POST", &self.session_path("/window/rect"), Some(rect));
    }

    /// Clicks the element `css` matches (waiting for it first). An engine event may redraw the
    /// page between finding the element and clicking it: then the new one is clicked.
    pub fn click(&self, css: &str) {
        self.on_element(css, |id| {
            vec![("POST", format!("/element/{id}/click"), None)]
        });
    }

    /// Types `text` into the field `css` matches.
    pub fn type_into(&self, css: &str, text: &str) {
        self.on_element(css, |id| {
            vec![
                ("POST", format!("/element/{id}/clear"), None),
                (
                    "POST",
                    format!("/element/{id}/value"),
                    Some(json!({ "text": text })),
                ),
            ]
        });
    }

    /// The visible text of the element `css` matches.
    pub fn text(&self, css: &str) -> String {
        self.on_element(css, |id| vec![("GET", format!("/element/{id}/text"), None)])
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs `calls` (method, path under the session, body) on the element `css` matches and
    /// returns the last answer. The page redraws a card whenever an engine event arrives, so an
    /// element found a moment ago may be gone: then it is found again and the calls repeat.
    fn on_element(&self, css: &str, calls: impl Fn(&str) -> Vec<ElementCall>) -> Value {
        'found: for _ in 0..3 {
            let id = self.wait_for(css, Duration::from_secs(15));
            let mut last = Value::Null;
            for (method, path, body) in calls(&id) {
                let path = self.session_path(&path);
                match self.try_call(method, &path, body) {
                    Err(e) if e.contains("stale element reference") => continue 'found,
                    Err(e) => panic!("{method} {path}: {e}"),
                    Ok(v) => last = v,
                }
            }
            return last;
        }
        panic!("{css} was redrawn under every try");
    }

    /// Saves a screenshot of the window as `name`.png in the screenshot folder.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        use base64_decode::decode;
        // The page's latest changes painted first: WebKit's screenshot is of the last frame
        // drawn, which may predate them.
        self.run_async(
            "const done = arguments[0]; \
             requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 50)));",
            vec![],
        );
        let v = self.call("GET", &self.session_path("/screenshot"), None);
        let png = decode(v.as_str().expect("base64 screenshot"));
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let url = format!("{}/session/{}", self.base, self.session);
            let _ = self.agent.delete(&url).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Standard base64, enough for screenshots (no dependency for one decode).
mod base64_decode {
    pub fn decode(text: &str) -> Vec<u8> {
        let value = |c: u8| -> Option<u32> {
            Some(match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            } as u32)
        };
        let mut out = Vec::with_capacity(text.len() * 3 / 4);
        let mut acc = 0u32;
        let mut bits = 0;
        for v in text.bytes().filter_map(value) {
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        out
    }
}
