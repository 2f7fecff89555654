//! Network-namespace labs for the firehose tests: namespaces, a bridge segment, veth pairs,
//! an nftables masquerading router, nftables random loss. Everything runs `ip` and `nft`;
//! namespace names carry the test process id and a counter, so parallel tests never clash,
//! and [`Lab`]'s `Drop` kills what runs inside and deletes every namespace it made, also when a
//! test panics. Needs root and iproute2 + nftables; a test without them fails loudly.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Runs `f` on a thread that has entered network namespace `ns`.
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("setns {path}: {e}"));
        f()
    })
    .join()
    .expect("thread in network namespace")
}

/// Runs a command; panics with its output if it fails.
pub fn run(program: &str, args: &[&str]) -> String {
    let o = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} (tests/run installs iproute2 and nftables): {e}")
        });
    assert!(
        o.status.success(),
        "{program} {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Panics unless this process is root and `ip` and `nft` run.
pub fn require_root_and_tools() {
    let uid = run("id", &["-u"]);
    assert_eq!(
        uid.trim(),
        "0",
        "network-namespace tests need root (CAP_NET_ADMIN, CAP_SYS_ADMIN)"
    );
    run("ip", &["-V"]);
    run("nft", &["--version"]);
}

/// Where `ip netns exec` finds a namespace's own `/etc` files.
const ETC_NETNS: &str = "/etc/netns";

/// A set of namespaces that is torn down on drop.
pub struct Lab {
    prefix: String,
    made: Vec<String>,
    /// The `/etc/netns/NS/` folders [`Lab::hosts`] made.
    etc: Vec<std::path::PathBuf>,
}

impl Lab {
    /// A new lab; checks root and tools first.
    pub fn new() -> Lab {
        require_root_and_tools();
        static N: AtomicU32 = AtomicU32::new(0);
        Lab {
            prefix: format!(
                "msm{}x{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ),
            made: Vec::new(),
            etc: Vec::new(),
        }
    }

    /// Gives namespace `ns` its own hosts file naming each `(name, ip)`: `ip netns exec`
    /// bind-mounts `/etc/netns/NS/hosts` over `/etc/hosts` for what it starts afterwards, so
    /// getaddrinfo (msmd's outbound HTTPS client, Node) finds these names there. Removed when
    /// the lab is dropped.
    pub fn hosts(&mut self, ns: &str, names: &[(&str, &str)]) {
        remove_stale_etc();
        let etc = std::path::Path::new(ETC_NETNS).join(ns);
        std::fs::create_dir_all(&etc).expect("create /etc/netns/NS (needs root)");
        let mut h = String::from("127.0.0.1 localhost\n::1 localhost\n");
        for (name, ip) in names {
            h.push_str(&format!("{ip} {name}\n"));
        }
        std::fs::write(etc.join("hosts"), h).expect("write the namespace's hosts file");
        self.etc.push(etc);
    }

    /// Makes namespace `name` (lo up, no IPv6 DAD delay); returns its full name.
    pub fn ns(&mut self, name: &str) -> String {
        let full = format!("{}-{name}", self.prefix);
        run("ip", &["netns", "add", &full]);
        self.made.push(full.clone());
        self.exec(&full, &["ip", "link", "set", "lo", "up"]);
        self.exec(
            &full,
            &[
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ],
        );
        full
    }

    /// Runs a command inside `ns`.
    pub fn exec(&self, ns: &str, args: &[&str]) -> String {
        let mut all = vec!["netns", "exec", ns];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// Runs `nft -f -` with `rules` inside `ns`.
    pub fn nft(&self, ns: &str, rules: &str) {
        use std::io::Write;
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "nft", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("nft");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(rules.as_bytes())
            .expect("write rules");
        assert!(
            child.wait().expect("nft").success(),
            "nft rules failed:\n{rules}"
        );
    }

    /// A bridge `br0` (multicast snooping off, so multicast floods) inside `ns`.
    pub fn bridge(&self, ns: &str) {
        self.exec(
            ns,
            &[
                "ip",
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ],
        );
        self.exec(ns, &["ip", "link", "set", "br0", "up"]);
    }

    /// A veth pair `port` (in `sw`, enslaved to its `br0`) ↔ `ifname` in `ns`, with `cidr`,
    /// and a multicast route out of it.
    pub fn attach(&self, sw: &str, port: &str, ns: &str, ifname: &str, cidr: &str) {
        self.exec(
            sw,
            &[
                "ip", "link", "add", port, "type", "veth", "peer", "name", ifname, "netns", ns,
            ],
        );
        self.exec(sw, &["ip", "link", "set", port, "master", "br0", "up"]);
        self.exec(ns, &["ip", "link", "set", ifname, "up"]);
        self.exec(ns, &["ip", "addr", "add", cidr, "dev", ifname]);
        self.exec(ns, &["ip", "route", "add", "224.0.0.0/4", "dev", ifname]);
    }

    /// A home network behind a masquerading router: `rtr` gets `wan_cidr` on the bridge of
    /// `sw` and `lan_gw/len` towards `home`, which gets `home_cidr` and a default route via
    /// the router. Multicast is not routed across it.
    pub fn nat_router(
        &self,
        sw: &str,
        rtr: &str,
        home: &str,
        wan_cidr: &str,
        lan_gw_cidr: &str,
        home_cidr: &str,
    ) {
        self.attach(sw, "rtr-p", rtr, "wan0", wan_cidr);
        self.exec(
            rtr,
            &[
                "ip", "link", "add", "home0", "type", "veth", "peer", "name", "eth0", "netns", home,
            ],
        );
        self.exec(rtr, &["ip", "link", "set", "home0", "up"]);
        self.exec(rtr, &["ip", "addr", "add", lan_gw_cidr, "dev", "home0"]);
        self.exec(home, &["ip", "link", "set", "eth0", "up"]);
        self.exec(home, &["ip", "addr", "add", home_cidr, "dev", "eth0"]);
        let gw = lan_gw_cidr.split('/').next().unwrap_or(lan_gw_cidr);
        self.exec(home, &["ip", "route", "add", "default", "via", gw]);
        self.exec(rtr, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        self.nft(
            rtr,
            "table ip msmnat {\n  chain post { type nat hook postrouting priority srcnat; policy accept;\n    oifname \"wan0\" masquerade\n  }\n}\n",
        );
    }

    /// Drops a random tenth of UDP datagrams to `port` that `ns` receives (nft numgen; the
    /// kernel here has no netem).
    pub fn udp_loss_tenth(&self, ns: &str, port: u16) {
        self.udp_loss(ns, port, 1);
    }

    /// Drops a random `tenths`/10 of UDP datagrams to `port` that `ns` receives.
    pub fn udp_loss(&self, ns: &str, port: u16, tenths: u32) {
        self.nft(
            ns,
            &format!(
                "table inet msmloss {{\n  chain input {{ type filter hook input priority 0; policy accept;\n    udp dport {port} numgen random mod 10 < {tenths} counter drop\n  }}\n}}\n"
            ),
        );
    }

    /// Drops every UDP datagram to `port` that `ns` receives, until [`Lab::unblock_udp`].
    pub fn block_udp(&self, ns: &str, port: u16) {
        self.nft(
            ns,
            &format!(
                "table inet msmblock {{\n  chain input {{ type filter hook input priority 0; policy accept;\n    udp dport {port} counter drop\n  }}\n}}\n"
            ),
        );
    }

    /// Removes the rule of [`Lab::block_udp`].
    pub fn unblock_udp(&self, ns: &str) {
        self.exec(ns, &["nft", "delete", "table", "inet", "msmblock"]);
    }

    /// Counters of the loss rule: packets dropped.
    pub fn loss_dropped(&self, ns: &str) -> u64 {
        let out = self.exec(ns, &["nft", "list", "table", "inet", "msmloss"]);
        out.split("counter packets ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

/// Removes the `/etc/netns/msm…` folders of earlier labs whose namespace is gone (a test
/// process killed before its `Drop` ran).
fn remove_stale_etc() {
    let Ok(dir) = std::fs::read_dir(ETC_NETNS) else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("msm") && !std::path::Path::new("/run/netns").join(&name).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Default for Lab {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in &self.made {
            let pids = Command::new("ip")
                .args(["netns", "pids", ns])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            for pid in pids
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        for ns in self.made.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        for etc in &self.etc {
            let _ = std::fs::remove_dir_all(etc);
        }
    }
}
