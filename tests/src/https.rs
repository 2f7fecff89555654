//! A lab web site over HTTPS for WebFinger: a private CA and a certificate made with the
//! `openssl` command, served by Python's `http.server` on loopback. Each domain the site answers
//! for has its own JRD document (read anew on every request, so a test can write documents
//! after the nodes they name have started); every request path is logged for the test to read.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = r#"
import http.server, json, ssl, sys
port, docs, cert, key, log = sys.argv[1:6]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(log, "a") as f:
            f.write(self.headers.get("Host", "") + " " + self.path + "\n")
        host = self.headers.get("Host", "").split(":")[0]
        body = json.load(open(docs)).get(host)
        if body is None or not self.path.startswith("/.well-known/webfinger?"):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        b = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/jrd+json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
"#;

/// The running site; stopped when dropped.
pub struct WebSite {
    child: Child,
    dir: tempfile::TempDir,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// Runs `openssl ARGS` in `dir`; fails loudly if it is missing or refuses.
pub fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is not installed (tests/run installs it)");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

impl WebSite {
    /// Starts a site on `port` whose certificate names `domains`, signed by a fresh CA.
    pub fn start(port: u16, domains: &[&str]) -> WebSite {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let san: Vec<String> = domains.iter().map(|n| format!("DNS:{n}")).collect();
        std::fs::write(
            d.join("ext.cnf"),
            format!(
                "subjectAltName={}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
                san.join(",")
            ),
        )
        .unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=msm lab CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ]);
        openssl(d, &ca);
        let mut csr = vec!["req"];
        csr.extend(ec);
        csr.extend([
            "-keyout",
            "site.key",
            "-out",
            "site.csr",
            "-subj",
            "/CN=lab site",
        ]);
        openssl(d, &csr);
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "site.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "site.pem",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
            ],
        );
        std::fs::write(d.join("docs.json"), "{}").unwrap();
        std::fs::write(d.join("server.py"), SERVER).unwrap();
        let mut child = Command::new("python3")
            .arg(d.join("server.py"))
            .arg(port.to_string())
            .args(["docs.json", "site.pem", "site.key", "requests.log"].map(|f| d.join(f)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python3 (tests/run installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the lab web site did not start");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let t0 = Instant::now();
        while TcpStream::connect(addr).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "no web site on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        WebSite { child, dir, addr }
    }

    /// The CA certificate (PEM) that signed the site's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Serves `jrd` as the WebFinger answer for `domain`.
    pub fn set_document(&self, domain: &str, jrd: &serde_json::Value) {
        let p = self.dir.path().join("docs.json");
        let mut docs: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        docs[domain] = serde_json::Value::String(jrd.to_string());
        let tmp = p.with_extension("tmp");
        std::fs::write(&tmp, docs.to_string()).unwrap();
        std::fs::rename(tmp, p).unwrap();
    }

    /// `host path` of every request so far.
    pub fn requests(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("requests.log")).unwrap_or_default()
    }
}

impl Drop for WebSite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
