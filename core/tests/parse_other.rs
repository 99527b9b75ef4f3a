//! Parsing the ctrl listing and the iface files (real format fixtures and broken ones).

use qtag::{CtrlListing, Error, IfaceFmt, IfaceStat, IFACE_STAT_FMT_HEADER};

#[test]
fn ctrl_listing_fixture() {
    let l = CtrlListing::parse(include_bytes!("fixtures/ctrl.txt")).unwrap();
    assert_eq!(l.sockets.len(), 3);
    let s = l.sockets[0];
    assert_eq!((s.sock, s.tag, s.uid, s.pid, s.f_count), (1, 0x1001, 1000, 4242, 2));
    assert_eq!(l.sockets[1].tag, qtag::TAG_SYSTEM_DOWNLOAD);
    assert_eq!(l.sockets[1].sock, 0x2a);
    assert_eq!(l.sockets[2].tag, 0);
    assert_eq!(l.events.len(), 12);
    assert_eq!(l.event("sockets_tagged"), Some(5));
    assert_eq!(l.event("match_no_sk"), Some(100));
    assert_eq!(l.event("nope"), None);
}

#[test]
fn ctrl_listing_android_style_and_broken() {
    // Android printed sock=%p; a 0x prefix is accepted too.
    let l = CtrlListing::parse(b"sock=0xffff8880 tag=0x100000000 (uid=0) pid=1 f_count=1\nevents: a=1\n").unwrap();
    assert_eq!((l.sockets[0].sock, l.sockets[0].tag), (0xffff8880, 1));
    // Empty listing: only the events line.
    assert!(CtrlListing::parse(b"events:\n").unwrap().sockets.is_empty());
    for (bad, line) in [
        (&b""[..], 1),
        (b"sock=1 tag=0x0 (uid=0) pid=1 f_count=1\n", 2),
        (b"sock=1 tag=zz (uid=0) pid=1\nevents: a=1\n", 1),
        (b"sock=1 (uid=0) pid=1\nevents: a=1\n", 1),
        (b"events: a=1\nsock=1 tag=0x0 (uid=0) pid=1\n", 2),
        (b"events: a=x\n", 1),
        (b"garbage\nevents: a=1\n", 1),
    ] {
        match CtrlListing::parse(bad) {
            Err(Error::Format { file: "ctrl", line: l, .. }) => assert_eq!(l, line, "{}", String::from_utf8_lossy(bad)),
            other => panic!("{}: {other:?}", String::from_utf8_lossy(bad)),
        }
    }
}

#[test]
fn iface_stat_fmt_fixture() {
    let v = IfaceFmt::parse(include_bytes!("fixtures/iface_stat_fmt.txt")).unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].name, "lo");
    assert_eq!(v[0].counters.rx_bytes, 4180);
    assert_eq!(v[1].counters.tx_tcp_packets, 400);
    assert!(IfaceFmt::parse(format!("{IFACE_STAT_FMT_HEADER}\n").as_bytes()).unwrap().is_empty());
    let short = format!("{IFACE_STAT_FMT_HEADER}\nlo 1 2 3\n");
    assert!(matches!(IfaceFmt::parse(short.as_bytes()), Err(Error::Format { line: 2, .. })));
    let long = format!("{IFACE_STAT_FMT_HEADER}\nlo {}\n", ["1"; 17].join(" "));
    assert!(matches!(IfaceFmt::parse(long.as_bytes()), Err(Error::Format { line: 2, .. })));
    assert!(matches!(IfaceFmt::parse(b"lo 1 2\n"), Err(Error::Format { line: 1, .. })));
    assert!(matches!(IfaceFmt::parse(b""), Err(Error::Format { line: 1, .. })));
}

#[test]
fn iface_stat_all_fixture() {
    let v = IfaceStat::parse_all(include_bytes!("fixtures/iface_stat_all.txt")).unwrap();
    assert_eq!(v.len(), 3);
    assert!(v[0].active && !v[2].active);
    assert_eq!((v[1].rx_bytes, v[1].dev_rx_bytes, v[1].dev_tx_packets), (1_049_076, 2_000_000, 700));
    // The six-field form of older kernels.
    let old = IfaceStat::parse_all(b"wlan0 1 5 6 7 8\n").unwrap();
    assert_eq!((old[0].tx_packets, old[0].dev_rx_bytes), (8, 0));
    assert!(IfaceStat::parse_all(b"").unwrap().is_empty());
    for bad in [&b"lo 1 2 3\n"[..], b"lo 2 1 2 3 4\n", b"lo 1 1 2 3 4 5 6 7 8 9\n", b"lo 1 a 2 3 4\n"] {
        assert!(matches!(IfaceStat::parse_all(bad), Err(Error::Format { file: "iface_stat_all", .. })));
    }
}
