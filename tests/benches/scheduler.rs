//! The refresh scheduler at scale: N accounts with 60-second tokens against a local token
//! endpoint (a separate process, so its CPU is not counted). Prints, per N: refreshes that landed
//! before expiry, lateness against the schedule (p50/p99), refreshes per second, engine CPU per
//! refresh, and memory per account. `make bench` runs it; no asserts, only figures.
//!
//!   cargo bench -p tokentray-tests --bench scheduler [-- 100 1000 10000]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokentray_core::accounts::{AccountRecord, AccountState, StateFile};
use tokentray_core::events::Event;
use tokentray_core::http::LazyHttp;
use tokentray_core::secret::Secret;
use tokentray_core::settings::{AccountSettings, ProviderSettings, Settings};
use tokentray_core::vault::{MemoryStore, TokenSet, Vault};
use tokentray_core::{Engine, Paths};

const LIFETIME_S: i64 = 60;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("--token-server") {
        token_server();
        return;
    }
    let sizes: Vec<usize> = if args.is_empty() {
        vec![100, 1000, 10_000]
    } else {
        args.iter().filter_map(|a| a.parse().ok()).collect()
    };
    let mut server = Command::new(std::env::current_exe().expect("own path"))
        .arg("--token-server")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the token server");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("port line");
    let token_url = format!("http://127.0.0.1:{}/token", line.trim());

    println!("scheduler benchmark: {LIFETIME_S}-second tokens, local token endpoint {token_url}");
    println!(
        "{:>7} {:>9} {:>9} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "accounts",
        "landed",
        "late>exp",
        "p50 ms",
        "p99 ms",
        "refresh/s",
        "CPU µs/ref",
        "KiB/account"
    );
    for n in sizes {
        run(n, &token_url);
    }
    round_trip(&token_url);
    let _ = server.kill();
    let _ = server.wait();
}

fn run(n: usize, token_url: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let paths = Paths::under(dir.path());
    let mut settings = local_provider(token_url);
    let vault = Vault::new(Arc::new(MemoryStore::default()));
    let now = OffsetDateTime::now_utc();
    let mut state = StateFile::default();
    for i in 0..n {
        let name = format!("acct{i:05}");
        settings.accounts.push(AccountSettings {
            name: name.clone(),
            provider: "local".into(),
            git_hosts: vec![],
            git_username: None,
            ..AccountSettings::default()
        });
        let expires = now + time::Duration::seconds(LIFETIME_S);
        vault
            .save_tokens(
                &name,
                &TokenSet {
                    access_token: Secret::new(format!("a-{i}")),
                    refresh_token: Some(Secret::new(format!("r-{i}"))),
                    id_token: None,
                    expires_at: Some(expires),
                    obtained_at: now,
                    scopes: vec![],
                    refresh_expires_at: None,
                },
            )
            .expect("memory vault");
        state.accounts.insert(
            name,
            AccountRecord {
                system: Some(AccountState::Enabled),
                obtained_at: Some(now),
                expires_at: Some(expires),
                ..AccountRecord::default()
            },
        );
    }
    std::fs::create_dir_all(&paths.config_dir).expect("config dir");
    settings.save(&paths.settings_file()).expect("settings");
    state.save(&paths.state_file()).expect("state");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let rss_before = rss_kib();
    let engine = Engine::with_parts(paths, vault, Arc::new(LazyHttp::default())).expect("engine");
    let schedule: std::collections::HashMap<String, (OffsetDateTime, OffsetDateTime)> = engine
        .status()
        .accounts
        .iter()
        .map(|a| {
            let parse = |s: &Option<String>| {
                OffsetDateTime::parse(
                    s.as_deref().unwrap_or(""),
                    &time::format_description::well_known::Rfc3339,
                )
                .expect("rfc3339")
            };
            (
                a.name.clone(),
                (parse(&a.next_refresh), parse(&a.expires_at)),
            )
        })
        .collect();
    let (lateness, late_past_expiry, elapsed, cpu) = rt.block_on(async {
        let mut events = engine.subscribe();
        let cpu0 = cpu_time();
        engine.start_scheduler();
        let started = Instant::now();
        let mut seen = std::collections::HashSet::new();
        let mut lateness = Vec::with_capacity(n);
        let mut past_expiry = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(LIFETIME_S as u64 + 30);
        while seen.len() < n {
            let ev = tokio::time::timeout_at(deadline, events.recv()).await;
            let Ok(Ok(Event::Refreshed { account })) = ev else {
                if ev.is_err() {
                    break;
                }
                continue;
            };
            if seen.insert(account.clone()) {
                let at = OffsetDateTime::now_utc();
                let (sched, exp) = schedule[&account];
                lateness.push((at - sched).whole_microseconds() as f64 / 1000.0);
                if at >= exp {
                    past_expiry += 1;
                }
            }
        }
        (lateness, past_expiry, started.elapsed(), cpu_time() - cpu0)
    });
    let rss_after = rss_kib();
    let mut sorted = lateness.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        sorted
            .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    // Refreshes spread over the jitter window (a quarter of the lead), not over the whole run.
    let window = elapsed.as_secs_f64().max(1e-9);
    println!(
        "{:>7} {:>9} {:>9} {:>10.1} {:>10.1} {:>10.1} {:>12.0} {:>12.2}",
        n,
        lateness.len(),
        late_past_expiry,
        pct(0.5),
        pct(0.99),
        lateness.len() as f64 / window,
        cpu.as_secs_f64() * 1e6 / lateness.len().max(1) as f64,
        rss_after.saturating_sub(rss_before) as f64 / n as f64,
    );
    drop(engine);
    rt.shutdown_timeout(Duration::from_secs(1));
}

/// One refresh through the engine (single flight, lock, keychain write, state) against a bare
/// HTTP POST of the same form to the same endpoint with the same client: medians of 300 each.
fn round_trip(token_url: &str) {
    use tokentray_core::http::{Http, HttpRequest};
    let dir = tempfile::tempdir().expect("temp dir");
    let paths = Paths::under(dir.path());
    let mut settings = local_provider(token_url);
    settings.accounts.push(AccountSettings {
        name: "one".into(),
        provider: "local".into(),
        git_hosts: vec![],
        git_username: None,
        ..AccountSettings::default()
    });
    std::fs::create_dir_all(&paths.config_dir).expect("config dir");
    settings.save(&paths.settings_file()).expect("settings");
    let vault = Vault::new(Arc::new(MemoryStore::default()));
    let now = OffsetDateTime::now_utc();
    vault
        .save_tokens(
            "one",
            &TokenSet {
                access_token: Secret::new("a"),
                refresh_token: Some(Secret::new("r")),
                id_token: None,
                expires_at: Some(now + time::Duration::seconds(LIFETIME_S)),
                obtained_at: now,
                scopes: vec![],
                refresh_expires_at: None,
            },
        )
        .expect("memory vault");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let http = Arc::new(LazyHttp::default());
    let engine = Engine::with_parts(paths, vault, http.clone()).expect("engine");
    let (engine_ms, bare_ms) = rt.block_on(async {
        engine.start_scheduler();
        let mut engine_ms = Vec::new();
        let mut bare_ms = Vec::new();
        for i in 0..320 {
            let t = Instant::now();
            engine.refresh("one").await.expect("refresh");
            let e = t.elapsed().as_secs_f64() * 1000.0;
            let t = Instant::now();
            let answer = http
                .send(HttpRequest {
                    method: "POST".into(),
                    url: token_url.to_owned(),
                    headers: vec![(
                        "content-type".into(),
                        "application/x-www-form-urlencoded".into(),
                    )],
                    body: b"grant_type=refresh_token&refresh_token=R1&client_id=bench".to_vec(),
                })
                .await
                .expect("bare POST");
            assert_eq!(answer.status, 200);
            let b = t.elapsed().as_secs_f64() * 1000.0;
            // The first few warm the connection pool and the allocator.
            if i >= 20 {
                engine_ms.push(e);
                bare_ms.push(b);
            }
        }
        (engine_ms, bare_ms)
    });
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (e, b) = (median(engine_ms), median(bare_ms));
    println!();
    println!("refresh round trip, median of 300 (ms): through the engine {e:.3}, bare HTTP POST {b:.3}, ratio {:.2}x", e / b);
    drop(engine);
    rt.shutdown_timeout(Duration::from_secs(1));
}

/// Settings with one provider, `local`, for the benchmark's token endpoint.
fn local_provider(token_url: &str) -> Settings {
    let mut settings = Settings::default();
    settings.providers.insert(
        "local".into(),
        ProviderSettings {
            token_url: token_url.to_owned(),
            client_id: "bench".into(),
            ..ProviderSettings::default()
        },
    );
    settings
}

/// User + system CPU time of this process.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Fields 14 and 15 (utime, stime), counted after the ")" that ends field 2.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// A minimal HTTP/1.1 token endpoint: every POST gets fresh 60-second tokens. Keep-alive.
fn token_server() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("{}", listener.local_addr().expect("addr").port());
        std::io::stdout().flush().expect("flush");
        let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let counter = counter.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut reader = tokio::io::BufReader::new(read);
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let json = format!(r#"{{"access_token":"A{i}","refresh_token":"R{i}","expires_in":{LIFETIME_S},"token_type":"Bearer"}}"#);
                    let resp = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{json}", json.len());
                    if write.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
}
