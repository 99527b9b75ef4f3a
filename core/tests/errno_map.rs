//! The errno table: every (operation, errno) pair the kernel documents.

use qtag::{Error, Op, Privilege};

fn open(privilege: Privilege) -> Op {
    Op::Open { path: "/proc/net/xt_qtaguid/ctrl".into(), privilege }
}

#[test]
fn tag_errors() {
    let t = Op::Tag { fd: 9 };
    assert!(matches!(t.error(libc::EBADF), Error::BadFd { fd: 9 }));
    assert!(matches!(t.error(libc::ENOTSOCK), Error::NotASocket { fd: 9 }));
    assert!(matches!(t.error(libc::EMFILE), Error::TagLimitReached));
    assert!(matches!(t.error(libc::EAFNOSUPPORT), Error::UnsupportedSocket { fd: 9 }));
    assert!(matches!(t.error(libc::EPERM),
        Error::PermissionDenied { privilege: Privilege::ModifyNetworkAccounting }));
    assert!(matches!(t.error(libc::EINVAL), Error::InvalidArgument { which: "command", .. }));
}

#[test]
fn untag_errors() {
    let u = Op::Untag { fd: 4 };
    assert!(matches!(u.error(libc::EBADF), Error::BadFd { fd: 4 }));
    assert!(matches!(u.error(libc::ENOTSOCK), Error::NotASocket { fd: 4 }));
    assert!(matches!(u.error(libc::EINVAL), Error::NotTagged { fd: 4 }));
}

#[test]
fn counter_set_and_delete_errors() {
    assert!(matches!(Op::SetCounterSet.error(libc::EINVAL), Error::InvalidArgument { which: "set", .. }));
    assert!(matches!(Op::SetCounterSet.error(libc::EPERM), Error::PermissionDenied { .. }));
    assert!(matches!(Op::DeleteTagData.error(libc::EINVAL), Error::InvalidArgument { which: "tag", .. }));
    assert!(matches!(Op::DeleteTagData.error(libc::EACCES), Error::PermissionDenied { .. }));
}

#[test]
fn open_errors() {
    match open(Privilege::ModifyNetworkAccounting).error(libc::ENOENT) {
        e @ Error::ModuleNotLoaded { .. } => {
            let m = e.to_string();
            assert!(m.contains("modprobe xt_qtaguid") && m.contains("insmod kmod/xt_qtaguid.ko"), "{m}");
            assert_eq!(e.errno(), libc::ENOENT);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(open(Privilege::Stats).error(libc::EACCES),
        Error::PermissionDenied { privilege: Privilege::Stats }));
}

#[test]
fn unknown_errno_is_io_and_keeps_it() {
    let e = Op::Tag { fd: 1 }.error(libc::ENOMEM);
    assert!(matches!(e, Error::Io(_)));
    assert_eq!(e.errno(), libc::ENOMEM);
    assert_eq!(e.code(), "ENOMEM");
}

#[test]
fn errno_and_code_of_every_variant() {
    let cases: Vec<(Error, i32, &str)> = vec![
        (Error::ModuleNotLoaded { path: "/x".into() }, libc::ENOENT, "ENOENT"),
        (Error::PermissionDenied { privilege: Privilege::Stats }, libc::EPERM, "EPERM"),
        (Error::NotASocket { fd: 1 }, libc::ENOTSOCK, "ENOTSOCK"),
        (Error::BadFd { fd: 1 }, libc::EBADF, "EBADF"),
        (Error::UnsupportedSocket { fd: 1 }, libc::EAFNOSUPPORT, "EAFNOSUPPORT"),
        (Error::NotTagged { fd: 1 }, libc::EINVAL, "EINVAL"),
        (Error::TagLimitReached, libc::EMFILE, "EMFILE"),
        (Error::InvalidArgument { which: "uid", reason: "x".into() }, libc::EINVAL, "EINVAL"),
        (Error::Format { file: "stats", line: 3, reason: "x".into() }, libc::EIO, "EIO"),
        (Error::Io(std::io::Error::other("x")), libc::EIO, "EIO"),
    ];
    for (e, errno, code) in cases {
        assert_eq!((e.errno(), e.code()), (errno, code), "{e:?}");
    }
    let p = Error::PermissionDenied { privilege: Privilege::ModifyNetworkAccounting };
    assert!(p.to_string().contains("MODIFY_NETWORK_ACCOUNTING"), "{p}");
}
