//! Minimal MQTT 3.1.1 benchmark client (loopback measurements only).
//! Copied unchanged from the project's shared anchors (anchors/mqttbench/); see bench/run.
//!
//! mqttbench idle   --port P --n N [--hold S] [--topic T]
//!     opens N subscriber connections (sequentially), prints "connected: N",
//!     then holds them for S seconds (default 3600) and exits.
//! mqttbench fanout --port P --n N --msgs M [--size B] [--rate R] [--window W]
//!     N subscribers on one topic, one publisher; QoS 0. With --rate the
//!     publisher is open-loop paced at R msg/s; otherwise it is closed-loop:
//!     it keeps at most W messages (default 200) ahead of the average
//!     subscriber, which measures the sustainable fan-out rate without drops.
//!     Prints `name: value` lines.

use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == name {
            if let Some(v) = it.next() {
                if let Ok(x) = v.parse() {
                    return x;
                }
                eprintln!("bad value for {name}: {v}");
                std::process::exit(2);
            }
        }
    }
    default
}

fn has_flag(args: &[String], name: &str) -> bool {
    args.iter().any(|a| a == name)
}

fn put_remlen(buf: &mut Vec<u8>, mut len: usize) {
    loop {
        let mut b = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            b |= 0x80;
        }
        buf.push(b);
        if len == 0 {
            break;
        }
    }
}

fn put_str(buf: &mut Vec<u8>, s: &[u8]) {
    buf.extend_from_slice(&(s.len() as u16).to_be_bytes());
    buf.extend_from_slice(s);
}

fn connect_pkt(client_id: &str, keepalive: u16) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, b"MQTT");
    body.push(4); // protocol level 3.1.1
    body.push(0x02); // clean session
    body.extend_from_slice(&keepalive.to_be_bytes());
    put_str(&mut body, client_id.as_bytes());
    let mut p = vec![0x10];
    put_remlen(&mut p, body.len());
    p.extend_from_slice(&body);
    p
}

fn subscribe_pkt(pid: u16, topic: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&pid.to_be_bytes());
    put_str(&mut body, topic.as_bytes());
    body.push(0); // QoS 0
    let mut p = vec![0x82];
    put_remlen(&mut p, body.len());
    p.extend_from_slice(&body);
    p
}

fn publish_hdr(topic: &str, payload_len: usize) -> Vec<u8> {
    let mut p = vec![0x30];
    put_remlen(&mut p, 2 + topic.len() + payload_len);
    put_str(&mut p, topic.as_bytes());
    p
}

/// Reads one complete MQTT packet (blocking). Returns (first byte, body).
fn read_packet(s: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let mut b = [0u8; 1];
    s.read_exact(&mut b)?;
    let t = b[0];
    let mut len = 0usize;
    let mut mul = 1usize;
    loop {
        s.read_exact(&mut b)?;
        len += (b[0] & 0x7f) as usize * mul;
        mul *= 128;
        if b[0] & 0x80 == 0 {
            break;
        }
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    Ok((t, body))
}

fn open_client(addr: &SocketAddr, id: &str, topic: Option<&str>) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    s.write_all(&connect_pkt(id, 600))?;
    let (t, body) = read_packet(&mut s)?;
    if t != 0x20 || body.len() < 2 || body[1] != 0 {
        return Err(std::io::Error::new(ErrorKind::Other, format!("bad CONNACK {t:#x} {body:?}")));
    }
    if let Some(topic) = topic {
        s.write_all(&subscribe_pkt(1, topic))?;
        let (t, body) = read_packet(&mut s)?;
        if t != 0x90 || body.len() < 3 || body[2] == 0x80 {
            return Err(std::io::Error::new(ErrorKind::Other, format!("bad SUBACK {t:#x} {body:?}")));
        }
    }
    Ok(s)
}

fn open_many(addr: &SocketAddr, n: usize, tag: &str, topic: &str) -> Vec<TcpStream> {
    let mut v = Vec::with_capacity(n);
    let pid = std::process::id();
    for i in 0..n {
        let id = format!("{tag}-{pid}-{i}");
        match open_client(addr, &id, Some(topic)) {
            Ok(s) => v.push(s),
            Err(e) => {
                eprintln!("connection {i} failed: {e}");
                println!("connect_failed_at: {i}");
                break;
            }
        }
    }
    v
}

fn cmd_idle(args: &[String]) {
    let port: u16 = arg(args, "--port", 1883);
    let n: usize = arg(args, "--n", 1000);
    let hold: u64 = arg(args, "--hold", 3600);
    let topic: String = arg(args, "--topic", "bench/idle".to_string());
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let t0 = Instant::now();
    let conns = open_many(&addr, n, "idle", &topic);
    println!("connected: {}", conns.len());
    println!("connect_secs: {:.3}", t0.elapsed().as_secs_f64());
    let _ = std::io::stdout().flush();
    std::thread::sleep(Duration::from_secs(hold));
    drop(conns);
}

struct ConnBuf {
    s: MioStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

const MAGIC_WARM: u8 = 0xAA;
const MAGIC_MEAS: u8 = 0x55;

fn cmd_fanout(args: &[String]) {
    let port: u16 = arg(args, "--port", 1883);
    let n: usize = arg(args, "--n", 1);
    let mut msgs: u64 = arg(args, "--msgs", 100_000_000);
    let warm: u64 = arg(args, "--warmup", 200);
    let size: usize = arg(args, "--size", 280);
    let rate: f64 = arg(args, "--rate", 0.0);
    // closed-loop limit, in deliveries outstanding (message window = max(2, D/N))
    let window_deliv: u64 = arg(args, "--window-deliv", 4000);
    let window: u64 = arg(args, "--window", (window_deliv / n as u64).max(2));
    let duration_s: f64 = arg(args, "--duration", 0.0);
    let idle_timeout: f64 = arg(args, "--timeout", 3.0);
    let topic: String = arg(args, "--topic", "bench/fan".to_string());
    let quiet = has_flag(args, "--quiet");
    assert!(size >= 17, "size must be >= 17");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();

    let t_start = Instant::now();
    let subs = open_many(&addr, n, "sub", &topic);
    if subs.len() != n {
        std::process::exit(1);
    }
    let mut publ = open_client(&addr, &format!("pub-{}", std::process::id()), None).expect("publisher connect");

    let epoch = Instant::now();
    let received = Arc::new(AtomicU64::new(0)); // measured + warmup deliveries
    let last_rx_ns = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));

    // Receiver thread: epoll over all subscriber sockets.
    let rx = {
        let received = received.clone();
        let last_rx_ns = last_rx_ns.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut poll = Poll::new().unwrap();
            let mut conns: Vec<ConnBuf> = Vec::with_capacity(subs.len());
            for (i, s) in subs.into_iter().enumerate() {
                s.set_nonblocking(true).unwrap();
                let mut ms = MioStream::from_std(s);
                poll.registry().register(&mut ms, Token(i), Interest::READABLE).unwrap();
                conns.push(ConnBuf { s: ms, buf: vec![0u8; 64 * 1024], start: 0, end: 0 });
            }
            let mut events = Events::with_capacity(1024);
            let mut lat: Vec<u32> = Vec::with_capacity(1 << 20);
            let mut meas_count: u64 = 0;
            let mut other_pkts: u64 = 0;
            let mut max_seq_seen = vec![0u64; conns.len()];
            let mut out_of_order: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                poll.poll(&mut events, Some(Duration::from_millis(50))).unwrap();
                for ev in events.iter() {
                    let idx = ev.token().0;
                    let c = &mut conns[idx];
                    loop {
                        if c.end == c.buf.len() {
                            // compact
                            c.buf.copy_within(c.start..c.end, 0);
                            c.end -= c.start;
                            c.start = 0;
                            if c.end == c.buf.len() {
                                let l = c.buf.len();
                                c.buf.resize(l * 2, 0);
                            }
                        }
                        match c.s.read(&mut c.buf[c.end..]) {
                            Ok(0) => {
                                eprintln!("subscriber {idx} closed by broker");
                                break;
                            }
                            Ok(k) => {
                                c.end += k;
                                let now_ns = epoch.elapsed().as_nanos() as u64;
                                let mut got = 0u64;
                                // parse complete packets
                                loop {
                                    let avail = &c.buf[c.start..c.end];
                                    if avail.len() < 2 {
                                        break;
                                    }
                                    let mut len = 0usize;
                                    let mut mul = 1usize;
                                    let mut p = 1;
                                    let mut complete_hdr = false;
                                    while p < avail.len() && p <= 4 {
                                        let b = avail[p];
                                        len += (b & 0x7f) as usize * mul;
                                        mul *= 128;
                                        p += 1;
                                        if b & 0x80 == 0 {
                                            complete_hdr = true;
                                            break;
                                        }
                                    }
                                    if !complete_hdr || avail.len() < p + len {
                                        break;
                                    }
                                    let typ = avail[0] >> 4;
                                    if typ == 3 {
                                        let body = &avail[p..p + len];
                                        let tl = u16::from_be_bytes([body[0], body[1]]) as usize;
                                        let pay = &body[2 + tl..];
                                        if pay.len() >= 17 {
                                            let seq = u64::from_le_bytes(pay[1..9].try_into().unwrap());
                                            let ts = u64::from_le_bytes(pay[9..17].try_into().unwrap());
                                            if seq < max_seq_seen[idx] {
                                                out_of_order += 1;
                                            }
                                            max_seq_seen[idx] = seq;
                                            if pay[0] == MAGIC_MEAS {
                                                meas_count += 1;
                                                let d = now_ns.saturating_sub(ts);
                                                if lat.len() < 50_000_000 {
                                                    lat.push(d.min(u32::MAX as u64) as u32);
                                                }
                                            }
                                            got += 1;
                                        }
                                    } else {
                                        other_pkts += 1;
                                    }
                                    c.start += p + len;
                                }
                                if c.start == c.end {
                                    c.start = 0;
                                    c.end = 0;
                                }
                                if got > 0 {
                                    received.fetch_add(got, Ordering::Release);
                                    last_rx_ns.store(now_ns, Ordering::Relaxed);
                                }
                            }
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                            Err(e) => {
                                eprintln!("read error on {idx}: {e}");
                                break;
                            }
                        }
                    }
                }
            }
            (lat, meas_count, other_pkts, out_of_order)
        })
    };

    let mut payload = vec![b'x'; size];
    let hdr = publish_hdr(&topic, size);
    let mut pkt = Vec::with_capacity(hdr.len() + size);
    let mut total = warm + msgs;
    let mut first_meas_ns = 0u64;
    let tpub0 = Instant::now();
    let interval_ns = if rate > 0.0 { 1e9 / rate } else { 0.0 };
    let mut waits: u64 = 0;
    let mut i: u64 = 0;
    while i < total {
        if duration_s > 0.0 && i > warm && first_meas_ns > 0
            && (epoch.elapsed().as_nanos() as u64).saturating_sub(first_meas_ns) as f64 / 1e9 >= duration_s
        {
            total = i;
            msgs = i - warm;
            break;
        }
        if rate > 0.0 {
            let target = Duration::from_nanos((i as f64 * interval_ns) as u64);
            let el = tpub0.elapsed();
            if el < target {
                std::thread::sleep(target - el);
            }
        } else {
            // closed loop: stay at most `window` messages ahead of the average subscriber
            let mut spins = 0u32;
            while i > window && received.load(Ordering::Acquire) / (n as u64) < i - window {
                spins += 1;
                if spins < 50 {
                    std::hint::spin_loop();
                } else {
                    std::thread::sleep(Duration::from_micros(20));
                    waits += 1;
                }
                if tpub0.elapsed().as_secs_f64() > 600.0 {
                    break;
                }
            }
        }
        let now_ns = epoch.elapsed().as_nanos() as u64;
        payload[0] = if i < warm { MAGIC_WARM } else { MAGIC_MEAS };
        payload[1..9].copy_from_slice(&i.to_le_bytes());
        payload[9..17].copy_from_slice(&now_ns.to_le_bytes());
        if i == warm {
            first_meas_ns = now_ns;
        }
        pkt.clear();
        pkt.extend_from_slice(&hdr);
        pkt.extend_from_slice(&payload);
        publ.write_all(&pkt).expect("publish write");
        i += 1;
    }
    let pub_done_ns = epoch.elapsed().as_nanos() as u64;
    // wait for deliveries to complete (or stall for idle_timeout)
    let expected_total = total * n as u64;
    let mut last_val = received.load(Ordering::Acquire);
    let mut last_change = Instant::now();
    loop {
        let v = received.load(Ordering::Acquire);
        if v >= expected_total {
            break;
        }
        if v != last_val {
            last_val = v;
            last_change = Instant::now();
        } else if last_change.elapsed().as_secs_f64() > idle_timeout {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    stop.store(true, Ordering::Relaxed);
    let (mut lat, meas_count, other_pkts, ooo) = rx.join().unwrap();
    let end_ns = last_rx_ns.load(Ordering::Relaxed);
    let _ = publ.write_all(&[0xE0, 0x00]);
    let dur = (end_ns.saturating_sub(first_meas_ns)) as f64 / 1e9;
    let pub_dur = (pub_done_ns.saturating_sub(first_meas_ns)) as f64 / 1e9;
    let expected = msgs * n as u64;
    lat.sort_unstable();
    let pct = |q: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        let k = ((lat.len() as f64 - 1.0) * q).round() as usize;
        lat[k] as f64 / 1000.0
    };
    let _ = quiet;
    println!("subscribers: {n}");
    println!("msg_size_bytes: {size}");
    println!("mode: {}", if rate > 0.0 { format!("open-loop {rate} msg/s") } else { format!("closed-loop window {window}") });
    println!("published: {msgs}");
    println!("expected_deliveries: {expected}");
    println!("delivered: {meas_count}");
    println!("delivered_incl_warmup: {}", received.load(Ordering::Acquire));
    println!("lost: {}", expected.saturating_sub(meas_count));
    println!("out_of_order: {ooo}");
    println!("non_publish_packets: {other_pkts}");
    println!("duration_s: {dur:.3}");
    println!("publish_rate_msg_s: {:.0}", msgs as f64 / pub_dur.max(1e-9));
    println!("delivered_msg_s: {:.0}", meas_count as f64 / dur.max(1e-9));
    println!("delivered_MB_s: {:.1}", meas_count as f64 * size as f64 / dur.max(1e-9) / 1e6);
    println!("lat_p50_us: {:.1}", pct(0.50));
    println!("lat_p90_us: {:.1}", pct(0.90));
    println!("lat_p99_us: {:.1}", pct(0.99));
    println!("lat_p999_us: {:.1}", pct(0.999));
    println!("lat_max_us: {:.1}", pct(1.0));
    println!("publisher_backoff_sleeps: {waits}");
    println!("client_cpu_s: {:.3}", self_cpu_s());
    println!("client_wall_s: {:.3}", t_start.elapsed().as_secs_f64());
}

/// utime+stime of this process from /proc/self/stat (all threads), seconds.
fn self_cpu_s() -> f64 {
    let st = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = match st.rfind(')') { Some(k) => &st[k + 2..], None => return f64::NAN };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // fields after ")": state(0) ... utime is field 14 overall => index 11 here
    let ut: f64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(f64::NAN);
    let stt: f64 = f.get(12).and_then(|x| x.parse().ok()).unwrap_or(f64::NAN);
    (ut + stt) / 100.0 // USER_HZ is 100 on Linux
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(|s| s.as_str()) {
        Some("idle") => cmd_idle(&args[2..]),
        Some("fanout") => cmd_fanout(&args[2..]),
        _ => {
            eprintln!("usage: mqttbench idle|fanout [--port P] [--n N] ...");
            std::process::exit(2);
        }
    }
}
