//! Tests against the real xt_qtaguid module. They need the module loaded and root, so
//! they are ignored by a plain `cargo test`; scripts/vm/suites/20-core runs them inside
//! the test VM with `QTAG_VM=1 vm-tests --include-ignored --test-threads=1`.
//!
//! Each test uses tags and uids of its own and looks at deltas or at freshly deleted
//! tags, so the order of tests does not matter.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use qtag::{Counters, Error, Filter, Privilege, Stats};

const WHY: &str = "needs the xt_qtaguid module (run in the VM: scripts/test --only 20-core)";
const NOBODY: u32 = 65534;

/// Tests share the module's state: one at a time even if run with several threads.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    assert_eq!(std::env::var("QTAG_VM").as_deref(), Ok("1"), "{WHY}; set QTAG_VM=1 to run");
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn me() -> u32 {
    unsafe { libc::getuid() }
}

fn udp(v6: bool) -> Option<(UdpSocket, UdpSocket)> {
    let host = if v6 { "[::1]:0" } else { "127.0.0.1:0" };
    let tx = UdpSocket::bind(host).ok()?;
    let rx = UdpSocket::bind(host).ok()?;
    rx.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    Some((tx, rx))
}

/// Send `n` datagrams of `len` payload bytes to `rx` and receive them all.
fn send(tx: &UdpSocket, rx: &UdpSocket, n: usize, len: usize) {
    let to: SocketAddr = rx.local_addr().unwrap();
    let buf = vec![0x5a; len];
    let mut got = vec![0; len + 1];
    for _ in 0..n {
        assert_eq!(tx.send_to(&buf, to).unwrap(), len);
        assert_eq!(rx.recv(&mut got).unwrap(), len);
    }
}

/// Bytes of `n` IPv4 UDP datagrams of `len` payload bytes: 20 (IP) + 8 (UDP) + len each.
fn v4(n: usize, len: usize) -> u64 {
    (n * (len + 28)) as u64
}

fn rows(uid: u32, tag: u32) -> Counters {
    Stats::read().unwrap().sum(&Filter { uid: Some(uid), tag: Some(tag), ..Default::default() })
}

fn fresh(tag: u32, uid: Option<u32>) {
    qtag::delete_tag_data(tag, uid).unwrap();
    assert!(rows(uid.unwrap_or_else(me), tag).is_zero(), "tag {tag:#x} not cleared by delete");
}

/// Run `f` in a forked child as uid/gid `NOBODY` with no groups; the child's return
/// value is its exit code (0 = pass). Returns the exit code.
fn as_nobody(f: impl FnOnce() -> i32) -> i32 {
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let code = unsafe {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setresgid(NOBODY, NOBODY, NOBODY) != 0
                || libc::setresuid(NOBODY, NOBODY, NOBODY) != 0
            {
                100
            } else {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101)
            }
        };
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child died: status {status}");
    libc::WEXITSTATUS(status)
}

#[test]
#[ignore = "needs the xt_qtaguid module (VM)"]
fn threads_with_different_tags_are_billed_exactly() {
    let _s = serial();
    let plan = [(0x7a01u32, 10usize, 100usize), (0x7a02, 20, 200), (0x7a03, 30, 300)];
    for (tag, _, _) in plan {
        fresh(tag, None);
    }
    let total_before = rows(me(), 0);
    let handles: Vec<_> = plan
        .into_iter()
        .map(|(tag, n, len)| {
            std::thread::spawn(move || {
                qtag::set_thread_stats_tag(tag);
                let (tx, rx) = udp(false).unwrap();
                qtag::tag_socket(&tx).unwrap();
                send(&tx, &rx, n, len);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let stats = Stats::read().unwrap();
    let mut sent = 0;
    for (tag, n, len) in plan {
        let c = stats.sum(&Filter { uid: Some(me()), tag: Some(tag), iface: Some("lo"), set: None });
        assert_eq!(c.tx_bytes, v4(n, len), "tag {tag:#x} tx_bytes");
        assert_eq!(c.tx_packets, n as u64, "tag {tag:#x} tx_packets");
        assert_eq!(c.tx_udp_bytes, v4(n, len), "tag {tag:#x} tx_udp_bytes");
        assert_eq!((c.rx_bytes, c.tx_tcp_bytes, c.tx_other_bytes), (0, 0, 0), "tag {tag:#x}");
        sent += v4(n, len);
    }
    // The uid total includes tagged traffic (and the untagged receivers' rx).
    let total = stats.uid_total(me()).delta_since(&total_before);
    assert!(total.tx_bytes >= sent, "uid total tx {} < tagged {sent}", total.tx_bytes);
    assert!(total.rx_bytes >= sent, "uid total rx {} < sent {sent}", total.rx_bytes);
}

#[test]
#[ignore = "needs the xt_qtaguid module (VM)"]
fn ipv6_udp_is_billed_with_its_header() {
    let _s = serial();
    let Some((tx, rx)) = udp(true) else {
        eprintln!("no ::1 in this VM; skipping the IPv6 check");
        return;
    };
    fresh(0x7a10, None);
    qtag::tag_socket_with(&tx, 0x7a10, None).unwrap();
    send(&tx, &rx, 7, 333);
    let c = rows(me(), 0x7a10);
    assert_eq!((c.tx_bytes, c.tx_packets), (7 * (333 + 48), 7));
}

#[test]
#[ignore = "needs the xt_qtaguid module (VM)"]
fn guards_restore_and_the_tag_is_taken_at_tag_time() {
    let _s = serial();
    let (ta, tb) = (0x7a21u32, 0x7a22u32);
    fresh(ta, None);
    fresh(tb, None);
    let (s1, rx) = udp(false).unwrap();
    let (s2, _) = udp(false).unwrap();
    {
        let _g = qtag::tag_scope(ta);
        qtag::tag_socket(&s1).unwrap();
        {
            let _inner = qtag::tag_scope(tb);
            assert_eq!(qtag::get_thread_stats_tag(), Some(tb));
        }
        assert_eq!(qtag::get_thread_stats_tag(), Some(ta));
    }
    assert_eq!(qtag::thread_state(), qtag::ThreadState::default());
    // No thread state: tag_socket has nothing to do; s2 stays untagged.
    qtag::tag_socket(&s2).unwrap();
    // Changing the thread tag later does not move s1's traffic.
    qtag::set_thread_stats_tag(tb);
    send(&s1, &rx, 5, 50);
    send(&s2, &rx, 3, 50);
    qtag::clear_thread_stats_tag();
    assert_eq!(rows(me(), ta).tx_bytes, v4(5, 50));
    assert!(rows(me(), tb).is_zero());
    // The listing shows s1 with its tag, uid and our pid.
    let l = qtag::CtrlListing::read().unwrap();
    let mine: Vec<_> = l.sockets.iter().filter(|s| s.tag == ta).collect();
    assert_eq!(mine.len(), 1, "{:?}", l.sockets);
    assert_eq!((mine[0].uid, mine[0].pid), (me(), i64::from(std::process::id())));
    assert!(l.event("sockets_tagged").unwrap_or(0) >= 1);
    // Untag: later traffic is no longer billed to the tag.
    qtag::untag_socket(&s1).unwrap();
    send(&s1, &rx, 4, 50);
    assert_eq!(rows(me(), ta).tx_bytes, v4(5, 50));
}

#[test]
#[ignore = "needs the xt_qtaguid module (VM)"]
fn billing_another_uid_with_privilege() {
    let _s = serial();
    let (tag, uid) = (0x7a31u32, 4242u32);
    fresh(tag, Some(uid));
    let before = rows(uid, 0);
    let (tx, rx) = udp(false).unwrap();
    qtag::tag_socket_with(&tx, tag, Some(uid)).unwrap();
    send(&tx, &rx, 9, 64);
    assert_eq!(rows(uid, tag).tx_bytes, v4(9, 64));
    assert_eq!(rows(uid, 0).delta_since(&before).tx_bytes, v4(9, 64), "uid total");
    // Thread uid works the same way.
    let (tx2, _) = udp(false).unwrap();
    {
        let _g = qtag::scope(Some(tag), Some(uid));
        qtag::tag_socket(&tx2).unwrap();
    }
    send(&tx2, &rx, 1, 10);
    assert_eq!(rows(uid, tag).tx_bytes, v4(9, 64) + v4(1, 10));
    // TrafficStats getters agree (root may read every uid).
    assert_eq!(qtag::uid_tx_bytes(uid), rows(uid, 0).tx_bytes as i64);
    assert_eq!(qtag::uid_tx_packets(uid), rows(uid, 0).tx_packets as i64);
}

#[test]
#[ignore = "needs the xt_qtaguid module (VM)"]
fn without_privilege_other_uids_are_refused() {
    let _s = serial();
    // Make sure the parent has a ctrl descriptor, so the child must not reuse it.
    qtag::delete_tag_data(0x7a41, None).unwrap();
    let code = as_nobody(|| {
        let denied = |r: qtag::Result<()>| {
            matches!(r, Err(Error::PermissionDenied { privilege: Privilege::ModifyNetworkAccounting }))
        };
        if qtag::delete_tag_data(0x7a41, None).is_err() {
            return 12; // own data: allowed
        }
        let (tx, rx) = udp(false).unwrap();
        if !denied(qtag::tag_socket_with(&tx, 0x7a41, Some(4242))) {
            return 1;
        }
        {
            let _g = qtag::scope(Some(0x7a41), Some(4242));
            if !denied(qtag::tag_socket(&tx)) {
                return 2;
            }
        }
        if qtag::tag_socket_with(&tx, 0x7a41, None).is_err() {
            return 3;
        }
        if qtag::tag_socket_with(&tx, 0x7a41, Some(NOBODY)).is_err() {
            return 4;
        }
        if !denied(qtag::set_counter_set(Some(NOBODY), 1)) {
            return 5;
        }
        if !denied(qtag::delete_tag_data(0, Some(4242))) {
            return 6;
        }
        send(&tx, &rx, 2, 20);
        let Ok(stats) = Stats::read() else { return 7 };
        if stats.rows().iter().any(|r| r.uid != NOBODY) {
            return 8; // an unprivileged reader sees only its own rows
        }
        if stats.sum(&Filter { tag: Some(0x7a41), ..Default::default() }).tx_bytes != v4(2, 20) {
            return 9;
        }
        if qtag::uid_tx_bytes(4242) != qtag::UNSUPPORTED {
            return 10;
        }
        if qtag::delete_tag_data(0x7a41, None).is_err() {
            return 11;
        }
        0
    });
    assert_eq!(code, 0, "unprivileged child failed check {code} (see the test's source)");
}

#[test]
#[ignore = "needs the xt_qtaguid module (VM)"]
fn bad_and_non_socket_descriptors() {
    let _s = serial();
    qtag::delete_tag_data(0x7a51, None).unwrap(); // ctrl is open before we close fds
    let (sock, _) = udp(false).unwrap();
    let closed = sock.into_raw_fd();
    unsafe { libc::close(closed) };
    assert!(matches!(qtag::tag_socket_with_raw(closed, 0x7a51, None), Err(Error::BadFd { fd }) if fd == closed));
    assert!(matches!(qtag::untag_socket_raw(closed), Err(Error::BadFd { .. })));
    assert!(matches!(qtag::tag_socket_raw(closed), Err(Error::BadFd { .. })), "no thread state: still checked");
    let file = std::fs::File::open("/dev/null").unwrap();
    assert!(matches!(qtag::tag_socket_with(&file, 0x7a51, None), Err(Error::NotASocket { .. })));
    assert!(matches!(qtag::untag_socket(&file), Err(Error::NotASocket { .. })));
    assert!(matches!(qtag::tag_socket(&file), Err(Error::NotASocket { .. })));
    let (untagged, _) = udp(false).unwrap();
    assert!(matches!(qtag::untag_socket(&untagged), Err(Error::NotTagged { fd }) if fd == untagged.as_raw_fd()));
    let (unix, _) = std::os::unix::net::UnixStream::pair().unwrap();
    let r = qtag::tag_socket_with(&unix, 0x7a51, None);
    assert!(matches!(r, Err(Error::UnsupportedSocket { fd }) if fd == unix.as_raw_fd()), "{r:?}");
    assert_eq!(r.unwrap_err().errno(), libc::EAFNOSUPPORT);
}

#[test]
#[ignore = "needs the xt_qtaguid module (VM)"]
fn counter_sets_and_delete() {
    let _s = serial();
    let uid = 4243u32;
    fresh(0, Some(uid));
    let (tx, rx) = udp(false).unwrap();
    qtag::tag_socket_with(&tx, 0x7a61, Some(uid)).unwrap();
    qtag::set_counter_set(Some(uid), qtag::COUNTER_SET_FOREGROUND).unwrap();
    send(&tx, &rx, 4, 100);
    qtag::set_counter_set(Some(uid), qtag::COUNTER_SET_DEFAULT).unwrap();
    send(&tx, &rx, 2, 100);
    let sets = Stats::read().unwrap().by_set(Some(uid));
    let get = |set: u32| sets.iter().find(|s| s.0 == set).map(|s| s.1.tx_bytes).unwrap_or(0);
    assert_eq!((get(1), get(0)), (v4(4, 100), v4(2, 100)));
    assert!(matches!(qtag::set_counter_set(Some(uid), 2), Err(Error::InvalidArgument { which: "set", .. })));
    // Delete one tag: its rows go, the uid's totals stay.
    qtag::delete_tag_data(0x7a61, Some(uid)).unwrap();
    assert!(rows(uid, 0x7a61).is_zero());
    assert_eq!(rows(uid, 0).tx_bytes, v4(6, 100));
    // Delete everything of the uid.
    qtag::delete_tag_data(0, Some(uid)).unwrap();
    assert!(Stats::read().unwrap().rows().iter().all(|r| r.uid != uid));
}

#[test]
#[ignore = "needs the xt_qtaguid module (VM)"]
fn closed_sockets_lose_their_tag() {
    let _s = serial();
    let tag = 0x7a71u32;
    let (tx, _) = udp(false).unwrap();
    qtag::tag_socket_with(&tx, tag, None).unwrap();
    let count = || qtag::CtrlListing::read().unwrap().sockets.iter().filter(|s| s.tag == tag).count();
    assert_eq!(count(), 1);
    drop(tx);
    let t0 = Instant::now();
    while count() != 0 && t0.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(count(), 0, "tag still listed {:?} after close", t0.elapsed());
}

#[test]
#[ignore = "needs the xt_qtaguid module (VM)"]
fn cli_json_agrees_with_the_library() {
    let _s = serial();
    let (tag, uid) = (0x7a81u32, 4244u32);
    fresh(0, Some(uid));
    let (tx, rx) = udp(false).unwrap();
    qtag::tag_socket_with(&tx, tag, Some(uid)).unwrap();
    send(&tx, &rx, 3, 77);
    let cli = cli_copy();
    let out = Command::new(&cli).args(["stats", "--json", "--uid", &uid.to_string()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stats = Stats::read().unwrap();
    let lib: Vec<_> = stats.matching(&Filter { uid: Some(uid), ..Default::default() }).collect();
    let json = v["rows"].as_array().unwrap();
    assert_eq!(json.len(), lib.len());
    assert!(!lib.is_empty());
    for (j, r) in json.iter().zip(&lib) {
        assert_eq!(j["iface"], stats.iface_name(r.iface));
        assert_eq!((j["tag"].as_u64(), j["uid"].as_u64(), j["set"].as_u64()),
                   (Some(u64::from(r.tag)), Some(u64::from(r.uid)), Some(u64::from(r.set))));
        for (name, val) in Counters::NAMES.iter().zip(r.counters.to_array()) {
            assert_eq!(j[*name].as_u64(), Some(val), "{name}");
        }
    }
    let tagged: u64 = json.iter().filter(|j| j["tag"] == tag).map(|j| j["tx_bytes"].as_u64().unwrap()).sum();
    assert_eq!(tagged, v4(3, 77));
    // The table and the sockets listing run too.
    for args in [&["stats"][..], &["stats", "--tag", "0x7a81"], &["sockets"], &["sockets", "--json"], &["ifaces"], &["top", "-n", "2", "-d", "0.1"]] {
        let out = Command::new(&cli).args(args).output().unwrap();
        assert!(out.status.success(), "qtag {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // Exit codes: 4 for a refused privileged command, 2 for bad usage, 0 as root.
    let nobody = Command::new(&cli).args(["counter-set", "4244", "1"]).uid(NOBODY).gid(NOBODY).output().unwrap();
    assert_eq!(nobody.status.code(), Some(4), "{}", String::from_utf8_lossy(&nobody.stderr));
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("MODIFY_NETWORK_ACCOUNTING"));
    let usage = Command::new(&cli).args(["counter-set", "4244", "9"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
    let ok = Command::new(&cli).args(["delete", "0", "4244"]).output().unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(Stats::read().unwrap().rows().iter().all(|r| r.uid != uid));
}

#[test]
#[ignore = "needs the xt_qtaguid module (VM)"]
fn traffic_getters_and_iface_files() {
    let _s = serial();
    let (tx, rx) = udp(false).unwrap();
    send(&tx, &rx, 1, 1);
    assert!(qtag::total_tx_bytes() > 0);
    assert!(qtag::total_rx_packets() > 0);
    assert!(qtag::iface_tx_bytes("lo") > 0);
    assert_eq!(qtag::iface_rx_bytes("qtag-none0"), qtag::UNSUPPORTED);
    assert!(qtag::uid_rx_bytes(me()) > 0);
    let fmt = qtag::IfaceFmt::read().unwrap();
    assert!(fmt.iter().any(|i| i.name == "lo"));
    let all = qtag::IfaceStat::read_all().unwrap();
    assert!(all.iter().any(|i| i.name == "lo" && i.active));
    let lo = qtag::read_iface_counter("lo", qtag::IfaceCounter::TxPackets).unwrap();
    assert!(lo > 0);
    assert!(matches!(qtag::read_iface_counter("qtag-none0", qtag::IfaceCounter::RxBytes),
        Err(Error::InvalidArgument { which: "iface", .. })));
}

/// The CLI binary, copied where an unprivileged uid may run it.
fn cli_copy() -> std::path::PathBuf {
    let src = std::env::var_os("QTAG_CLI")
        .map(std::path::PathBuf::from)
        .or_else(|| option_env!("CARGO_BIN_EXE_qtag").map(Into::into))
        .expect("QTAG_CLI or a build with the cli feature");
    let dir = std::env::temp_dir().join(format!("qtag-vm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dst = dir.join("qtag");
    if !dst.exists() {
        std::fs::copy(&src, &dst).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o755)).unwrap();
    dst
}

#[test]
#[ignore = "needs the xt_qtaguid module (VM)"]
fn tag_limit_gives_tag_limit_reached() {
    let _s = serial();
    // The limit can be changed at run time: use a small one, restore it afterwards.
    const PARAM: &str = "/sys/module/xt_qtaguid/parameters/max_sock_tags";
    struct Restore(String);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = std::fs::write(PARAM, &self.0);
        }
    }
    let _restore = Restore(std::fs::read_to_string(PARAM).unwrap().trim().to_string());
    let _ = std::fs::write(PARAM, "8");
    let limit: usize = std::fs::read_to_string(PARAM).unwrap().trim().parse().unwrap();
    let want = (limit + 64) as libc::rlim_t;
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) };
    if rl.rlim_cur < want {
        rl.rlim_cur = want;
        rl.rlim_max = rl.rlim_max.max(want);
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) }, 0, "raise RLIMIT_NOFILE");
    }
    let (uid, tag) = (4245u32, 0x7a91u32);
    fresh(0, Some(uid));
    let socks: Vec<UdpSocket> = (0..limit).map(|_| UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
    for s in &socks {
        qtag::tag_socket_with(s, tag, Some(uid)).unwrap();
    }
    let extra = UdpSocket::bind("127.0.0.1:0").unwrap();
    let r = qtag::tag_socket_with(&extra, tag, Some(uid));
    assert!(matches!(r, Err(Error::TagLimitReached)), "tag #{} of uid {uid}: {r:?}", limit + 1);
    assert_eq!(r.unwrap_err().errno(), libc::EMFILE);
    // Untagging one frees a place.
    qtag::untag_socket(&socks[0]).unwrap();
    qtag::tag_socket_with(&extra, tag, Some(uid)).unwrap();
    drop(socks);
    drop(extra);
    qtag::delete_tag_data(0, Some(uid)).unwrap();
}

#[test]
#[ignore = "needs the xt_qtaguid module (VM)"]
fn module_reload_is_survived() {
    let _s = serial();
    let Some(ko) = std::env::var_os("QTAG_KO") else {
        eprintln!("QTAG_KO not set; skipping the reload check");
        return;
    };
    let (tx, rx) = udp(false).unwrap();
    qtag::tag_socket_with(&tx, 0x7aa1, None).unwrap(); // ctrl is open now
    let run = |cmd: &str, args: &[&std::ffi::OsStr]| {
        let st = Command::new(cmd).args(args).status().unwrap();
        assert!(st.success(), "{cmd} {args:?}: {st}");
    };
    run("rmmod", &["xt_qtaguid".as_ref()]);
    let r = qtag::tag_socket_with(&tx, 0x7aa1, None);
    let gone = matches!(r, Err(Error::ModuleNotLoaded { .. }));
    run("insmod", &[ko.as_os_str()]);
    assert!(gone, "after rmmod: {r:?}");
    assert!(Stats::read().is_ok());
    // The same process goes on with the new module: same descriptor, reopened.
    qtag::tag_socket_with(&tx, 0x7aa1, None).unwrap();
    send(&tx, &rx, 2, 10);
    assert_eq!(rows(me(), 0x7aa1).tx_bytes, v4(2, 10));
}
