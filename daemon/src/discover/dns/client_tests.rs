use super::*;

/// The answer to `q` (a query as bytes) with `flags` and, when given, one TXT record.
fn reply(q: &[u8], flags: u16, txt: Option<&str>) -> Vec<u8> {
    let mut m = q.to_vec();
    m[2..4].copy_from_slice(&(0x8000 | flags).to_be_bytes());
    if let Some(t) = txt {
        m[6..8].copy_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60]);
        m.extend_from_slice(&((t.len() + 1) as u16).to_be_bytes());
        m.push(t.len() as u8);
        m.extend_from_slice(t.as_bytes());
    }
    m
}

/// A server on one port: over UDP it first sends a datagram with another id, then the
/// answer truncated; over TCP it answers in full.
async fn server() -> SocketAddr {
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = udp.local_addr().unwrap();
    let tcp = tokio::net::TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        loop {
            let (n, from) = udp.recv_from(&mut buf).await.unwrap();
            let mut spoof = reply(&buf[..n], 0, Some("spoofed"));
            spoof[0] ^= 0xff;
            udp.send_to(&spoof, from).await.unwrap();
            udp.send_to(&reply(&buf[..n], 0x0200, None), from)
                .await
                .unwrap();
        }
    });
    tokio::spawn(async move {
        loop {
            let (mut s, _) = tcp.accept().await.unwrap();
            let len = usize::from(s.read_u16().await.unwrap());
            let mut q = vec![0u8; len];
            s.read_exact(&mut q).await.unwrap();
            let r = reply(&q, 0, Some("v=msm1 over tcp"));
            s.write_all(&(r.len() as u16).to_be_bytes()).await.unwrap();
            s.write_all(&r).await.unwrap();
        }
    });
    addr
}

#[tokio::test]
async fn a_truncated_answer_is_asked_again_over_tcp_and_spoofs_are_ignored() {
    let r = Resolver::new(&[server().await], Duration::from_secs(2), 1);
    let found = r.lookup("_msm.a.test", Qtype::Txt).await.unwrap();
    assert_eq!(found.records, vec![Record::Txt("v=msm1 over tcp".into())]);
    assert_eq!(found.ttl, Duration::from_secs(60));
}

#[tokio::test]
async fn a_silent_server_times_out_and_the_next_one_answers() {
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let r = Resolver::new(
        &[silent.local_addr().unwrap(), server().await],
        Duration::from_millis(300),
        1,
    );
    let t = std::time::Instant::now();
    assert!(r.lookup("_msm.a.test", Qtype::Txt).await.is_ok());
    assert!(t.elapsed() >= Duration::from_millis(300));
    let only_silent = Resolver::new(
        &[silent.local_addr().unwrap()],
        Duration::from_millis(200),
        2,
    );
    match only_silent.lookup("a.test", Qtype::A).await {
        Err(LookupError::Failed(why)) => assert!(why.contains("timed out"), "{why}"),
        other => panic!("{other:?}"),
    }
}
