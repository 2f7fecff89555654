//! Harness for black-box system tests: starts real `msmd` processes and talks to them over
//! HTTP, signals and the command line, exactly as a user or a script would.
//!
//! The binary is `$MSMD_BIN` if set, else `target/debug/msmd` of this workspace (`./tests/run`
//! builds it first). Every node listens on `127.0.0.1:0`; its address is read from its log.

pub mod fake_inbox;
pub mod fedify;
pub mod hostile;
pub mod https;
pub mod lab;
pub mod mastodon;
pub mod netns;
pub mod node_tls;
pub mod relay;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a node may take to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a node may take to stop after SIGTERM.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A `[limits]` section that lifts the posting limits, for tests and benchmarks that post far
/// more than a person would (the limits themselves are tested in `hostile_api`).
pub const UNLIMITED_POSTING: &str =
    "[limits]\npost_burst = 100000\nposts_per_hour = 100000\ndaily_post_bytes = 1073741824\n";

/// Path of the msmd binary under test.
pub fn msmd_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MSMD_BIN") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/msmd");
    assert!(
        p.exists(),
        "no msmd binary at {}: run `cargo build -p msmd` or set MSMD_BIN",
        p.display()
    );
    p
}

/// Runs `msmd ARGS` to completion with `stdin` as its input.
pub fn msmd(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(msmd_bin())
        .args(args)
        .env_remove("MSMD_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start msmd");
    // A command that fails early may exit before it reads its input: not an error here.
    let mut stdin_pipe = child.stdin.take().expect("stdin");
    if let Err(e) = stdin_pipe.write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    drop(stdin_pipe);
    child.wait_with_output().expect("msmd output")
}

/// Text of a process's stdout and stderr together.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A running `msmd run`.
pub struct Node {
    child: Child,
    /// Where it answers HTTP.
    pub addr: SocketAddr,
    /// Where it takes links from other nodes.
    pub links: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    /// The network namespace it runs in (HTTP requests are made from inside it).
    netns: Option<String>,
}

impl Node {
    /// Starts `msmd run --data DIR --listen 127.0.0.1:0 EXTRA...` and waits until it listens.
    pub fn start(data: &Path, extra: &[&str]) -> Node {
        Self::spawn(Command::new(msmd_bin()), None, data, extra)
    }

    /// Like [`Node::start`], inside network namespace `ns` (`ip netns exec NS msmd run ...`).
    pub fn start_in(ns: &str, data: &Path, extra: &[&str]) -> Node {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns]).arg(msmd_bin());
        Self::spawn(cmd, Some(ns.to_string()), data, extra)
    }

    fn spawn(mut cmd: Command, netns: Option<String>, data: &Path, extra: &[&str]) -> Node {
        let mut child = run_args(&mut cmd, data, extra)
            .spawn()
            .expect("start msmd run");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let t0 = Instant::now();
        loop {
            let found = |marker: &str| -> Option<SocketAddr> {
                let v = find_in(&log, marker)?;
                Some(
                    v.split_whitespace()
                        .next()?
                        .parse()
                        .expect("address in log"),
                )
            };
            if let (Some(addr), Some(links)) = (
                found("HTTP listening addr="),
                found("links listening addr="),
            ) {
                return Node {
                    child,
                    addr,
                    links,
                    log,
                    netns,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "msmd exited with {status} before listening:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
            assert!(
                t0.elapsed() < START_TIMEOUT,
                "msmd did not start:\n{}",
                log.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Everything the node logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The text after `marker` on the first log line that has it.
    pub fn log_value(&self, marker: &str) -> Option<String> {
        find_in(&self.log, marker)
    }

    /// Waits until the log has `needle`, or panics after `timeout`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) {
        let t0 = Instant::now();
        while !self.log().contains(needle) {
            assert!(
                t0.elapsed() < timeout,
                "no {needle:?} in log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), sig).expect("kill");
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn stop(mut self) -> (ExitStatus, String) {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let status = self.wait_exit(STOP_TIMEOUT);
        std::thread::sleep(Duration::from_millis(50));
        (status, self.log())
    }

    /// Waits for a process that is already exiting (after a signal sent with [`Node::signal`]).
    pub fn stop_after_exit(mut self) -> (ExitStatus, String) {
        let status = self.wait_exit(STOP_TIMEOUT);
        std::thread::sleep(Duration::from_millis(50));
        (status, self.log())
    }

    /// SIGKILL, as a power cut would.
    pub fn kill9(mut self) {
        self.signal(nix::sys::signal::Signal::SIGKILL);
        self.wait_exit(STOP_TIMEOUT);
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let t0 = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(t0.elapsed() < timeout, "msmd did not exit:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// An HTTP request to this node.
    pub fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        let Some(ns) = &self.netns else {
            return request(self.addr, method, path, headers, body.map(str::as_bytes))
                .unwrap_or_else(|e| panic!("HTTP request: {e:?}\n{}", self.log()));
        };
        let (addr, ns) = (self.addr, ns.clone());
        let (method, path) = (method.to_string(), path.to_string());
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let body = body.map(|b| b.as_bytes().to_vec());
        netns::in_netns(&ns, move || {
            let h: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            request(addr, &method, &path, &h, body.as_deref())
        })
        .expect("HTTP request in a network namespace")
    }

    /// Logs in; returns the bearer token.
    pub fn login(&self, name: &str, password: &str) -> String {
        let r = self.post_json(
            "/api/v1/session",
            None,
            &serde_json::json!({"name": name, "password": password}),
        );
        assert_eq!(r.status, 200, "log-in of {name} failed: {}", r.text());
        r.json()["token"].as_str().expect("token").to_string()
    }

    /// POSTs JSON, with a bearer token if given.
    pub fn post_json(&self, path: &str, token: Option<&str>, v: &serde_json::Value) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut h = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            h.push(("Authorization", a));
        }
        self.http("POST", path, &h, Some(&v.to_string()))
    }

    /// `POST /api/v1/follows` of `address` as the user of `token`: the status and the answer.
    pub fn follow(&self, token: &str, address: &str) -> (u16, serde_json::Value) {
        let r = self.post_json(
            "/api/v1/follows",
            Some(token),
            &serde_json::json!({ "address": address }),
        );
        (r.status, r.json())
    }

    /// The node's message count from /healthz.
    pub fn message_count(&self) -> u64 {
        self.http("GET", "/healthz", &[], None).json()["messages"]
            .as_u64()
            .expect("messages")
    }

    /// Every visible post of `who`, newest first, following the pages.
    pub fn all_posts(&self, who: &str, token: Option<&str>) -> Vec<serde_json::Value> {
        let auth = token.map(|t| format!("Bearer {t}"));
        let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        let mut out = Vec::new();
        let mut before = String::new();
        loop {
            let r = self.http(
                "GET",
                &format!("/api/v1/users/{who}/posts?limit=200{before}"),
                &h,
                None,
            );
            assert_eq!(r.status, 200, "{}", r.text());
            let v = r.json();
            out.extend(v["posts"].as_array().unwrap().iter().cloned());
            match v["next_before"].as_u64() {
                Some(n) => before = format!("&before={n}"),
                None => return out,
            }
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_in(log: &Mutex<Vec<String>>, marker: &str) -> Option<String> {
    let log = log.lock().unwrap();
    log.iter()
        .find_map(|l| l.split_once(marker).map(|(_, rest)| rest.to_string()))
}

/// `cmd` set up as `msmd run --data DATA` on loopback ports chosen by the kernel, then `extra`,
/// with stderr piped (the log) and no stdin or stdout.
pub fn run_args<'a>(cmd: &'a mut Command, data: &Path, extra: &[&str]) -> &'a mut Command {
    cmd.arg("run")
        .arg("--data")
        .arg(data)
        .args(["--listen", "127.0.0.1:0", "--links", "127.0.0.1:0"])
        .args(extra)
        .env_remove("MSMD_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
}

/// An HTTP response.
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body (de-chunked).
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request over a fresh connection (`Connection: close`).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> std::io::Result<Resp> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    raw(addr, &bytes)
}

/// Sends raw bytes and parses whatever HTTP response comes back.
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    s.write_all(bytes)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    parse_response(&buf).ok_or_else(|| {
        std::io::Error::other(format!("bad response: {:?}", String::from_utf8_lossy(&buf)))
    })
}

/// Parses an HTTP response read whole (the connection closed after it).
pub fn parse_response(buf: &[u8]) -> Option<Resp> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = buf[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body)?;
    }
    Some(Resp {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&b[..nl]).ok()?.trim(), 16).ok()?;
        b = &b[nl + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// A fresh data directory, initialised for `domain`, with `users` as (name, password, owner).
pub fn data_dir(domain: &str, users: &[(&str, &str, bool)]) -> tempfile::TempDir {
    keyed_data_dir(domain, users).0
}

/// [`data_dir`], and the node key `msmd init` made (`ed25519:...`), for DNS pins made before
/// the node starts.
pub fn keyed_data_dir(domain: &str, users: &[(&str, &str, bool)]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().unwrap();
    let o = msmd(&["init", "--data", d, "--domain", domain], "");
    assert!(o.status.success(), "init: {}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let key = out
        .split("(node key ")
        .nth(1)
        .and_then(|k| k.split(')').next())
        .unwrap_or_else(|| panic!("no node key in {out:?}"))
        .to_string();
    for (name, pw, owner) in users {
        let mut args = vec!["user", "add", name, "--data", d, "--password-stdin"];
        if *owner {
            args.push("--owner");
        }
        let o = msmd(&args, &format!("{pw}\n"));
        assert!(o.status.success(), "user add {name}: {}", text(&o));
    }
    (dir, key)
}

/// Fails loudly unless python3 has `package` at exactly `version` (`tests/run` installs the
/// pinned Python packages from PyPI).
pub fn require_python_package(package: &str, version: &str) {
    let o = std::process::Command::new("python3")
        .args([
            "-c",
            &format!("import importlib.metadata as m; print(m.version({package:?}))"),
        ])
        .output();
    let got = o
        .as_ref()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    assert_eq!(
        got, version,
        "python3 lacks {package}=={version} (tests/run installs it from PyPI): {o:?}"
    );
}

/// The major version of Node the JavaScript tools need (Fedify, masto).
pub const NODE_MAJOR: &str = "v22.";

/// Node 22 from `DIR/node_modules`, installed with `npm ci` in `DIR` (its `package.json`
/// pins `node` 22 and `package`) when either is missing; fails loudly without it.
pub fn npm_node22(dir: &Path, package: &str) -> PathBuf {
    let node = dir.join("node_modules/.bin/node");
    if !node.exists() || !dir.join("node_modules").join(package).exists() {
        let s = Command::new("npm")
            .args(["ci", "--silent", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .status()
            .expect("run npm (tests/run installs npm)");
        assert!(s.success(), "npm ci in {} failed: {s}", dir.display());
    }
    let v = Command::new(&node).arg("--version").output();
    let v = v
        .as_ref()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    assert!(
        v.starts_with(NODE_MAJOR),
        "{} is not Node 22: {v:?}",
        node.display()
    );
    node
}
