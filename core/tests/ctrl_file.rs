//! The ctrl descriptor against a stand-in ctrl file (QTAG_PROC_DIR): commands reach it
//! byte for byte, the descriptor is opened once, and a forked child opens its own.
//! One test in this binary: the process-wide descriptor is the thing under test.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

fn ctrl_fds(ctrl: &Path) -> Vec<i32> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            (target == ctrl).then(|| e.file_name().to_str()?.parse().ok())?
        })
        .collect()
}

#[test]
fn commands_fd_reuse_and_fork() {
    let dir: PathBuf = std::env::temp_dir().join(format!("qtag-ctrl-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ctrl = dir.join("ctrl");
    std::fs::write(&ctrl, b"").unwrap();
    std::env::set_var("QTAG_PROC_DIR", &dir);
    assert_eq!(qtag::proc_dir(), dir.as_path());

    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let fd = sock.as_raw_fd();

    // No thread state: nothing written, but the fd is still checked.
    qtag::tag_socket(&sock).unwrap();
    assert!(ctrl_fds(&ctrl).is_empty(), "nothing to do opens nothing");
    let file = std::fs::File::open("/dev/null").unwrap();
    assert!(matches!(qtag::tag_socket(&file), Err(qtag::Error::NotASocket { .. })));
    assert!(matches!(qtag::tag_socket_raw(1_000_000), Err(qtag::Error::BadFd { fd: 1_000_000 })));
    assert!(matches!(qtag::tag_socket_raw(-3), Err(qtag::Error::BadFd { fd: -3 })));

    {
        let _g = qtag::tag_scope(0x1001);
        qtag::tag_socket(&sock).unwrap();
    }
    {
        let _g = qtag::uid_scope(1000);
        qtag::tag_socket(&sock).unwrap(); // uid only: tag 0
    }
    qtag::tag_socket_with(&sock, 2, Some(10001)).unwrap();
    qtag::untag_socket(&sock).unwrap();
    qtag::set_counter_set(Some(10001), 1).unwrap();
    assert!(matches!(qtag::set_counter_set(None, 2), Err(qtag::Error::InvalidArgument { which: "set", .. })));
    qtag::delete_tag_data(0, None).unwrap();

    let written = std::fs::read_to_string(&ctrl).unwrap();
    let expect = format!(
        "t {fd} {} -1t {fd} 0 1000t {fd} 8589934592 10001u {fd}s 1 10001d 0 -1",
        0x1001u64 << 32
    );
    assert_eq!(written, expect);
    let fds = ctrl_fds(&ctrl);
    assert_eq!(fds.len(), 1, "one descriptor for all commands");
    let parent_fd = fds[0];

    // Fork: the child must open its own descriptor and close the inherited one.
    // SAFETY: the child only runs code below and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let code = (|| {
            if qtag::untag_socket(&sock).is_err() {
                return 10;
            }
            let fds = ctrl_fds(&ctrl);
            if fds.len() != 1 {
                return 11;
            }
            if fds[0] == parent_fd {
                return 12;
            }
            0
        })();
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status));
    assert_eq!(libc::WEXITSTATUS(status), 0, "child: 10 command failed, 11 fd count, 12 reused parent fd");
    // The parent still uses its own descriptor.
    assert_eq!(ctrl_fds(&ctrl), vec![parent_fd]);

    // Someone closes our descriptor behind our back: the next command reopens.
    unsafe { libc::close(parent_fd) };
    qtag::untag_socket(&sock).unwrap();
    assert_eq!(ctrl_fds(&ctrl).len(), 1);

    std::fs::remove_dir_all(&dir).unwrap();
}
