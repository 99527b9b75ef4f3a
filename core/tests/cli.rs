//! The `qtag` binary on the host: fixtures through --file / QTAG_PROC_DIR, and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn qtag(args: &[&str], proc_dir: Option<&Path>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qtag"));
    c.args(args);
    match proc_dir {
        Some(d) => c.env("QTAG_PROC_DIR", d),
        None => c.env("QTAG_PROC_DIR", "/nonexistent/qtag-test"),
    };
    c.output().unwrap()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A stand-in /proc/net/xt_qtaguid made of the fixtures.
fn proc_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("qtag-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    for (src, dst) in [("stats.txt", "stats"), ("ctrl.txt", "ctrl"), ("iface_stat_fmt.txt", "iface_stat_fmt")] {
        std::fs::copy(fixture(src), d.join(dst)).unwrap();
    }
    d
}

#[test]
fn stats_json_matches_the_library() {
    let f = fixture("stats.txt");
    let o = qtag(&["stats", "--json", "--file", f.to_str().unwrap()], None);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = v["rows"].as_array().unwrap();
    let lib = qtag::Stats::read_from(&f).unwrap();
    assert_eq!(rows.len(), lib.rows().len());
    for (j, r) in rows.iter().zip(lib.rows()) {
        assert_eq!(j["iface"], lib.iface_name(r.iface));
        assert_eq!(j["tag"].as_u64(), Some(u64::from(r.tag)));
        assert_eq!(j["tx_bytes"].as_u64(), Some(r.counters.tx_bytes));
        assert_eq!(j["rx_udp_packets"].as_u64(), Some(r.counters.rx_udp_packets));
    }
    // Filters.
    let o = qtag(&["stats", "--json", "--file", f.to_str().unwrap(), "--uid", "1000", "--tag", "download"], None);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 2);
    assert!(v["rows"].as_array().unwrap().iter().all(|r| r["tag"] == 0xFFFF_FF01u32));
}

#[test]
fn stats_table_is_grouped_and_sorted() {
    let d = proc_dir("table");
    let o = qtag(&["stats"], Some(&d));
    assert!(o.status.success());
    let t = stdout(&o);
    let lines: Vec<&str> = t.lines().collect();
    assert!(lines[0].contains("UID") && lines[0].contains("IFACE"), "{t}");
    // uid 1000 has the most bytes: first; its eth0 total before lo.
    assert!(lines[1].trim_start().starts_with("1000") && lines[1].contains("eth0"), "{t}");
    assert!(t.contains("download") && t.contains("0x1001") && t.contains("1.0 MiB"), "{t}");
    // Zero rows hidden unless --all.
    let all = stdout(&qtag(&["stats", "--all"], Some(&d)));
    assert!(all.lines().count() > lines.len());
    let exact = stdout(&qtag(&["stats", "--bytes", "--iface", "eth0", "--uid", "10007"], Some(&d)));
    assert!(exact.contains(" 500") && exact.contains(" 600") && !exact.contains("lo "), "{exact}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn sockets_and_top_run_on_fixtures() {
    let d = proc_dir("sockets");
    let o = qtag(&["sockets"], Some(&d));
    assert!(o.status.success());
    assert!(stdout(&o).contains("3 tagged socket(s)"));
    let o = qtag(&["sockets", "--json"], Some(&d));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["sockets"][1]["tag"], 0xFFFF_FF01u32);
    assert_eq!(v["events"]["match_calls"], 1000);
    let o = qtag(&["ifaces"], Some(&d));
    assert!(o.status.success());
    let t = stdout(&o);
    assert!(t.lines().nth(1).unwrap().starts_with("eth0"), "biggest first: {t}");
    let o = qtag(&["ifaces", "--json", "--bytes"], Some(&d));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ifaces"][1]["iface"], "lo");
    assert_eq!(v["ifaces"][1]["tx_udp_bytes"], 10400);
    let o = qtag(&["top", "-n", "2", "-d", "0.05"], Some(&d));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = stdout(&o);
    assert_eq!(t.matches("qtag top").count(), 2, "{t}");
    assert!(t.contains("0 B/s"), "second frame shows rates: {t}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn exit_codes() {
    // 3: module not loaded, with how to load it.
    let o = qtag(&["stats"], None);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("modprobe xt_qtaguid"));
    assert_eq!(qtag(&["counter-set", "1000", "fg"], None).status.code(), Some(3));
    // 2: usage.
    assert_eq!(qtag(&["counter-set", "1000", "7"], None).status.code(), Some(2));
    assert_eq!(qtag(&["delete", "nonsense", "1"], None).status.code(), Some(2));
    assert_eq!(qtag(&["frobnicate"], None).status.code(), Some(2));
    // 1: runtime error (malformed file), naming the line.
    let bad = std::env::temp_dir().join(format!("qtag-cli-bad-{}", std::process::id()));
    std::fs::write(&bad, format!("{}\n3 lo 0x0 0 0 {}\n", qtag::STATS_HEADER, ["0"; 16].join(" "))).unwrap();
    let o = qtag(&["stats", "--file", bad.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("stats line 2"));
    std::fs::remove_file(bad).unwrap();
    // 0 and the documented codes in --help.
    for args in [&["--help"][..], &["stats", "--help"], &["top", "--help"], &["delete", "--help"]] {
        let o = qtag(args, None);
        assert_eq!(o.status.code(), Some(0));
        assert!(stdout(&o).contains("4  permission denied"), "{args:?}");
    }
}
