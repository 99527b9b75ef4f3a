//! Parsing `stats` (real format, captured from the module) and the queries on it.

use qtag::{Counters, Error, Filter, Stats, STATS_HEADER};

const FIXTURE: &str = include_str!("fixtures/stats.txt");

fn zeros() -> String {
    ["0"; 16].join(" ")
}

fn parse(text: &str) -> qtag::Result<Stats> {
    Stats::parse(text.as_bytes())
}

fn format_err(text: &str) -> (usize, String) {
    match parse(text) {
        Err(Error::Format { file, line, reason }) => {
            assert_eq!(file, "stats");
            (line, reason)
        }
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn fixture_rows() {
    let s = parse(FIXTURE).unwrap();
    assert_eq!(s.rows().len(), 12);
    let r = s.rows()[4];
    assert_eq!((s.iface_name(r.iface), r.tag, r.uid, r.set), ("lo", 0x1001, 1000, 0));
    assert_eq!(r.counters.tx_bytes, 7600);
    assert_eq!(r.counters.tx_udp_packets, 60);
    let d = s.rows()[8];
    assert_eq!(d.tag, qtag::TAG_SYSTEM_DOWNLOAD);
    assert_eq!(s.ifaces().collect::<Vec<_>>(), ["lo", "eth0"]);
    assert_eq!(s.iface_id("eth0").map(|i| i.index()), Some(1));
}

#[test]
fn fixture_queries() {
    let s = parse(FIXTURE).unwrap();
    let t = s.uid_total(1000);
    assert_eq!(t.rx_bytes, 1280 + 100 + 1_048_576);
    assert_eq!(t.tx_bytes, 12800 + 200 + 524_288);
    assert_eq!(t.tx_packets, 100 + 2 + 400);
    let tags = s.uid_tags(1000);
    assert_eq!(tags.iter().map(|t| t.0).collect::<Vec<_>>(), [0x1001, qtag::TAG_SYSTEM_DOWNLOAD]);
    assert_eq!(tags[0].1.tx_bytes, 7600);
    assert_eq!(tags[1].1.rx_bytes, 1_048_576);
    let ifs = s.by_iface(Some(1000));
    assert_eq!(ifs.iter().map(|i| i.0).collect::<Vec<_>>(), ["eth0", "lo"]);
    assert_eq!(ifs[1].1.tx_bytes, 13000);
    let sets = s.by_set(Some(1000));
    assert_eq!(sets[1], (1, Counters { rx_bytes: 100, rx_packets: 1, tx_bytes: 200, tx_packets: 2,
        rx_tcp_bytes: 100, rx_tcp_packets: 1, tx_tcp_bytes: 200, tx_tcp_packets: 2, ..Default::default() }));
    let total = s.total();
    assert_eq!(total.rx_bytes, 2800 + 1280 + 100 + 1_048_576 + 500);
    assert_eq!(s.by_uid().iter().map(|u| u.0).collect::<Vec<_>>(), [0, 1000, 10007]);
    let f = Filter { iface: Some("eth0"), tag: Some(0), ..Default::default() };
    assert_eq!(s.sum(&f).rx_packets, 805);
    assert_eq!(s.matching(&f).count(), 4);
    assert!(s.uid_total(4242).is_zero());
}

#[test]
fn header_only_and_trailing_newline() {
    assert!(parse(&format!("{STATS_HEADER}\n")).unwrap().rows().is_empty());
    assert!(parse(STATS_HEADER).unwrap().rows().is_empty());
    let no_nl = format!("{STATS_HEADER}\n2 lo 0x0 0 0 {}", zeros());
    assert_eq!(parse(&no_nl).unwrap().rows().len(), 1);
}

#[test]
fn both_tag_encodings() {
    let t = format!("{STATS_HEADER}\n2 lo 0x2a 0 0 {z}\n3 lo 0x2a00000000 0 0 {z}\n", z = zeros());
    let s = parse(&t).unwrap();
    assert_eq!(s.rows()[0].tag, 0x2a);
    assert_eq!(s.rows()[1].tag, 0x2a);
}

#[test]
fn malformed() {
    let z = zeros();
    assert_eq!(format_err("").0, 1);
    let (l, why) = format_err("idx iface something else\n");
    assert_eq!(l, 1);
    assert!(why.contains("header"), "{why}");
    // idx gap: Android rejects it.
    let (l, why) = format_err(&format!("{STATS_HEADER}\n2 lo 0x0 0 0 {z}\n4 lo 0x0 0 1 {z}\n"));
    assert_eq!(l, 3);
    assert!(why.contains("idx 4 where 3 expected"), "{why}");
    // idx not starting at 2.
    assert_eq!(format_err(&format!("{STATS_HEADER}\n1 lo 0x0 0 0 {z}\n")).0, 2);
    // Too few / too many fields.
    let (l, why) = format_err(&format!("{STATS_HEADER}\n2 lo 0x0 0 0 1 2 3\n"));
    assert_eq!(l, 2);
    assert!(why.contains("missing tx_tcp_packets") || why.contains("missing"), "{why}");
    assert!(format_err(&format!("{STATS_HEADER}\n2 lo 0x0 0 0 {z} 9\n")).1.contains("extra"));
    // Bad numbers.
    assert!(format_err(&format!("{STATS_HEADER}\n2 lo 0x0 abc 0 {z}\n")).1.contains("uid"));
    assert!(format_err(&format!("{STATS_HEADER}\n2 lo 0xzz 0 0 {z}\n")).1.contains("acct_tag"));
    assert!(format_err(&format!("{STATS_HEADER}\n2 lo 42 0 0 {z}\n")).1.contains("acct_tag"));
    assert!(format_err(&format!("{STATS_HEADER}\n2 lo 0x2a00000001 0 0 {z}\n")).1.contains("acct_tag"));
    let over = format!("{STATS_HEADER}\n2 lo 0x0 0 0 18446744073709551616 {}\n", ["0"; 15].join(" "));
    assert!(format_err(&over).1.contains("rx_bytes"));
    let neg = format!("{STATS_HEADER}\n2 lo 0x0 0 0 -1 {}\n", ["0"; 15].join(" "));
    assert!(format_err(&neg).1.contains("rx_bytes"));
    assert!(format_err(&format!("{STATS_HEADER}\n2 lo 0x0 4294967296 0 {z}\n")).1.contains("uid"));
    // An empty line in the middle is an error too, with its number.
    assert_eq!(format_err(&format!("{STATS_HEADER}\n2 lo 0x0 0 0 {z}\n\n")).0, 3);
    // The message names the file and line.
    let e = parse(&format!("{STATS_HEADER}\n7 lo 0x0 0 0 {z}\n")).unwrap_err();
    assert_eq!(e.to_string(), "stats line 2: idx 7 where 2 expected");
    assert_eq!(e.errno(), libc::EIO);
}

#[test]
fn max_values() {
    let t = format!("{STATS_HEADER}\n2 lo 0xffffffff 4294967295 1 18446744073709551615 {}\n", ["0"; 15].join(" "));
    let s = parse(&t).unwrap();
    assert_eq!(s.rows()[0].counters.rx_bytes, u64::MAX);
    assert_eq!(s.rows()[0].uid, u32::MAX);
    assert_eq!(s.rows()[0].tag, u32::MAX);
}

#[test]
fn read_from_file() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stats.txt");
    assert_eq!(Stats::read_from(&p).unwrap().rows().len(), 12);
    match Stats::read_from("/nonexistent/qtag/stats") {
        Err(Error::ModuleNotLoaded { path }) => assert!(path.ends_with("stats")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn delta_between_snapshots() {
    let before = parse(FIXTURE).unwrap();
    // Later: uid 1000's lo total grew, a new row appeared on a new iface, uid 10007 was
    // deleted and came back smaller.
    let later = FIXTURE
        .replace("4 lo 0x0 1000 0 1280 10 12800 100", "4 lo 0x0 1000 0 1280 10 13800 110")
        .replace("12 eth0 0x0 10007 0 500 5 600 6", "12 eth0 0x0 10007 0 50 1 60 1")
        + &format!("14 wlan0 0x0 1000 0 {}\n", ["1"; 16].join(" "));
    let after = parse(&later).unwrap();
    let d = after.delta_since(&before);
    assert_eq!(d.rows().len(), 13);
    assert_eq!(d.uid_total(1000).tx_bytes, 1000 + 1);
    assert_eq!(d.uid_total(1000).tx_packets, 10 + 1);
    assert_eq!(d.by_iface(Some(1000)).iter().map(|i| i.0).collect::<Vec<_>>(), ["eth0", "lo", "wlan0"]);
    assert!(d.uid_total(10007).is_zero(), "reset rows clamp at 0");
    assert!(d.uid_tags(1000).iter().all(|(_, c)| c.is_zero()));
    assert!(after.delta_since(&Stats::default()) == after);
}
