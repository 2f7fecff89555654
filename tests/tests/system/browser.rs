//! The web client in a real browser: headless Chromium (Debian's `/usr/bin/chromium`) driven by
//! `tests/browser/live.mjs` (playwright-core) against two nodes, a.test and b.test, found
//! through a private dnsmasq with TXT-pinned SRV records.
//!
//! Chromium and node are required: `tests/run` installs them, and a machine without them fails
//! this test with a message rather than skipping it.

use msm_tests::lab::{free_port, key_of, node_records, Dns, LabNode};
use msm_tests::Node;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PW: &str = "a long password";
/// The browser that runs the client.
const CHROMIUM: &str = "/usr/bin/chromium";
/// Longest the browser script may run (it stops itself after 200 s).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(260);
/// Screenshots the script must leave.
const SHOTS: [&str; 3] = ["alice-timeline.png", "bob-compose.png", "alice-phone.png"];
/// Screenshots of the client's rough edges, each as `NAME-desktop.png` and `NAME-phone.png`
/// (390 px wide).
const EDGE_SHOTS: [&str; 21] = [
    "noscript",
    "installed",
    "follow-error",
    "labels",
    "rtl",
    "long-post",
    "focus",
    "bidi",
    "tabs",
    "reply-audience",
    "draft",
    "offline",
    "password",
    "notifications",
    "thread",
    "content-warning",
    "list",
    "avatar",
    "pictures-compose",
    "pictures",
    "viewer",
];
/// Widths of the two window sizes the script uses.
const DESKTOP_WIDTH: u32 = 1000;
const PHONE_WIDTH: u32 = 390;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Fails loudly unless node and Chromium are here; installs playwright-core if it is missing.
fn prepare() {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node is not installed (tests/run installs nodejs and npm): {node:?}"
    );
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing (tests/run installs Debian's chromium)"
    );
    let dir = browser_dir();
    if !dir.join("node_modules/playwright-core").exists() {
        let s = Command::new("npm")
            .args(["ci", "--silent", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("run npm (tests/run installs npm)");
        assert!(s.success(), "npm ci in {} failed: {s}", dir.display());
    }
}

/// The binary embeds the client at build time, and `cargo test` does not rebuild it: make sure
/// the node serves the files in `daemon/static/`, not an older build of them.
fn served_client_is_current(node: &Node) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../daemon/static");
    for (path, file) in [
        ("/", "index.html"),
        ("/app.js", "app.js"),
        ("/app.css", "app.css"),
        ("/manifest.webmanifest", "manifest.webmanifest"),
    ] {
        let r = node.http("GET", path, &[], None);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        let on_disk = std::fs::read(dir.join(file)).expect("static file");
        assert!(
            r.body == on_disk,
            "{} serves another {file} than daemon/static/{file}: rebuild it (cargo build -p msmd)",
            msm_tests::msmd_bin().display()
        );
    }
}

/// The last `n` lines of a log.
fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[test]
fn two_people_in_two_browsers_see_posts_live_and_safely() {
    prepare();
    let dns_port = free_port();
    let a = LabNode::new("a.test", &["alice"], PW, dns_port, "");
    let b = LabNode::new("b.test", &["bob"], PW, dns_port, "");
    let (na, nb) = (a.start_with(&[]), b.start_with(&[]));
    let mut records = node_records("a.test", a.port, Some(&key_of(&na)));
    records.extend(node_records("b.test", b.port, Some(&key_of(&nb))));
    let _dns = Dns::start(dns_port, &records);

    served_client_is_current(&na);

    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser-shots");
    std::fs::create_dir_all(&shots).unwrap();
    let all_shots: Vec<String> = SHOTS
        .iter()
        .map(|s| s.to_string())
        .chain(
            EDGE_SHOTS
                .iter()
                .flat_map(|s| [format!("{s}-desktop.png"), format!("{s}-phone.png")]),
        )
        .collect();
    for s in &all_shots {
        let _ = std::fs::remove_file(shots.join(s));
    }

    let mut child = Command::new("node")
        .arg(browser_dir().join("live.mjs"))
        .current_dir(browser_dir())
        .env("MSM_A_URL", format!("http://{}", na.addr))
        .env("MSM_B_URL", format!("http://{}", nb.addr))
        .env("MSM_A_NAME", "alice")
        .env("MSM_A_PASSWORD", PW)
        .env("MSM_B_NAME", "bob")
        .env("MSM_B_PASSWORD", PW)
        .env("MSM_SHOTS", &shots)
        .env("MSM_CHROMIUM", CHROMIUM)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start node");
    // Stream the script's output as it comes, and keep it for the checks below.
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            // Straight to stderr, past the test harness's capture, so it shows as it runs.
            let _ = std::io::stderr().write_all(&buf[..n]);
            all.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&all).into_owned()
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for node") {
            break s;
        }
        if t0.elapsed() > SCRIPT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the browser script ran past {SCRIPT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = reader.join().expect("output reader");
    assert!(
        status.success(),
        "the browser script failed ({status}).\n--- a.test log ---\n{}\n--- b.test log ---\n{}",
        tail(&na.log(), 40),
        tail(&nb.log(), 40)
    );
    assert!(out.contains("live_push_median_ms: "), "{out}");
    for s in &all_shots {
        let p = shots.join(s);
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(
            bytes.len() > 1000 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{} is not a PNG screenshot ({} bytes)",
            p.display(),
            bytes.len()
        );
        // IHDR: the width is the first field after the signature, length and chunk type.
        let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        let want = if s.ends_with("-phone.png") {
            Some(PHONE_WIDTH)
        } else if s.ends_with("-desktop.png") {
            Some(DESKTOP_WIDTH)
        } else {
            None
        };
        assert!(
            want.is_none_or(|w| w == width),
            "{} is {width} px wide, not {want:?}",
            p.display()
        );
    }
}
