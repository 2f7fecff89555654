//! The firehose on other kinds of multicast group, in network namespaces: an IPv4
//! source-specific group (232/8, joined for the hub's address only, so the kernel drops a
//! stranger's datagrams before msmd sees them) and an IPv6 group.

use super::firehose::{
    firehose, internet, post_all, public_host, start_hub, start_public_node, wait_all_posts, N,
};
use msm_tests::netns::Lab;
use std::time::Duration;

#[test]
fn firehose_on_a_source_specific_group() {
    let mut lab = Lab::new();
    let (sw, hub_ns) = internet(&mut lab);
    let pub_ns = public_host(&mut lab, &sw);
    let stranger = lab.ns("strg");
    lab.attach(&sw, "strg-p", &stranger, "eth0", "198.51.100.5/24");
    let group = "group = \"232.7.7.7:7451\"\n";
    let (hub, _hd, key) = start_hub(&hub_ns, group);
    let (node, _nd) = start_public_node(&hub, &pub_ns, &key, group);
    node.wait_for_log("source-specific group", Duration::from_secs(10));
    // a stranger on the segment sends to the group: a source-specific join never delivers it
    lab.exec(
        &stranger,
        &[
            "python3",
            "-c",
            "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
             s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 4)\n\
             [s.sendto(b'\\x01' * 100, ('232.7.7.7', 7451)) for _ in range(200)]",
        ],
    );
    post_all(&hub);
    wait_all_posts(&node);
    let (h, f) = (firehose(&hub), firehose(&node));
    eprintln!("ssm: hub {h}\nssm: node {f}");
    assert_eq!(f["path"], "multicast", "{f}");
    assert_eq!(
        f["forged_dropped"].as_u64(),
        Some(0),
        "the kernel kept the stranger out: {f}"
    );
    assert!(
        f["multicast_received"].as_u64() <= h["datagrams_sent"].as_u64(),
        "only the hub's datagrams arrived: {f} {h}"
    );
    assert_eq!(f["stored"].as_u64(), Some(N), "{f}");
}

#[test]
fn firehose_on_an_ipv6_group() {
    let mut lab = Lab::new();
    let (sw, hub_ns) = internet(&mut lab);
    let pub_ns = public_host(&mut lab, &sw);
    let group = "group = \"[ff15::77]:7451\"\n";
    let (hub, _hd, key) = start_hub(&hub_ns, group);
    let (node, _nd) = start_public_node(&hub, &pub_ns, &key, group);
    post_all(&hub);
    wait_all_posts(&node);
    let f = firehose(&node);
    eprintln!("ipv6: node {f}");
    assert_eq!(f["path"], "multicast", "{f}");
    assert!(f["multicast_received"].as_u64() > Some(0), "{f}");
    assert_eq!(f["stored"].as_u64(), Some(N), "{f}");
    assert_eq!(f["relay_opened"].as_u64(), Some(0), "{f}");
}
