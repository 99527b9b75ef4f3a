//! The one error type of qtag, and the one table that maps kernel errnos to it.
//!
//! Bindings map [`Error`] once per language; [`Error::errno`] and [`Error::code`] give
//! them the POSIX number and name so no binding needs its own table.

use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::path::PathBuf;

/// Result alias used throughout the crate.
///
/// ```
/// fn check() -> qtag::Result<()> { Ok(()) }
/// assert!(check().is_ok());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The privilege a refused operation needed.
///
/// ```
/// use qtag::Privilege;
/// assert_eq!(Privilege::ModifyNetworkAccounting.to_string(),
///            "MODIFY_NETWORK_ACCOUNTING (CAP_NET_ADMIN or the module's acct_gid group)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Privilege {
    /// Billing another uid, changing counter sets, deleting another uid's data
    /// (Android's `net_bw_acct`; CAP_NET_ADMIN or the `acct_gid` group here).
    ModifyNetworkAccounting,
    /// Reading other uids' stats rows and tagged sockets (Android's `net_bw_stats`;
    /// CAP_NET_ADMIN or the `stats_gid` group here).
    Stats,
}

impl Privilege {
    /// The privilege's short name, as the SDKs spell it.
    ///
    /// ```
    /// assert_eq!(qtag::Privilege::Stats.name(), "READ_NETWORK_USAGE_HISTORY");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Privilege::ModifyNetworkAccounting => "MODIFY_NETWORK_ACCOUNTING",
            Privilege::Stats => "READ_NETWORK_USAGE_HISTORY",
        }
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self {
            Privilege::ModifyNetworkAccounting => "CAP_NET_ADMIN or the module's acct_gid group",
            Privilege::Stats => "CAP_NET_ADMIN or the module's stats_gid group",
        };
        write!(f, "{} ({how})", self.name())
    }
}

/// Everything that can go wrong in qtag.
///
/// ```
/// let e = qtag::Error::BadFd { fd: 42 };
/// assert_eq!(e.errno(), libc::EBADF);
/// assert_eq!(e.code(), "EBADF");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The `/proc/net/xt_qtaguid` files are absent.
    #[error(
        "the xt_qtaguid kernel module is not loaded ({} is missing); load it with \
         `sudo modprobe xt_qtaguid`, or from a source tree with \
         `sudo modprobe nf_socket_ipv4 nf_socket_ipv6 && sudo insmod kmod/xt_qtaguid.ko`",
        path.display()
    )]
    ModuleNotLoaded {
        /// The file that was looked for.
        path: PathBuf,
    },
    /// The kernel refused for lack of a privilege.
    #[error("permission denied: this needs {privilege}")]
    PermissionDenied {
        /// Which privilege was missing.
        privilege: Privilege,
    },
    /// The file descriptor is open but not a socket.
    #[error("file descriptor {fd} is not a socket")]
    NotASocket {
        /// The offending descriptor.
        fd: RawFd,
    },
    /// The socket is not an IPv4 or IPv6 socket: only those can be tagged.
    #[error("socket {fd} is not an IPv4 or IPv6 socket; only those can be tagged")]
    UnsupportedSocket {
        /// The offending descriptor.
        fd: RawFd,
    },
    /// The file descriptor is not open.
    #[error("file descriptor {fd} is not open")]
    BadFd {
        /// The offending descriptor.
        fd: RawFd,
    },
    /// `untag_socket` on a socket that carries no tag.
    #[error("socket {fd} is not tagged")]
    NotTagged {
        /// The offending descriptor.
        fd: RawFd,
    },
    /// The per-uid limit of tagged sockets (module parameter `max_sock_tags`) is reached.
    #[error("too many tagged sockets for this uid (module parameter max_sock_tags)")]
    TagLimitReached,
    /// An argument is out of range or was rejected by the kernel.
    #[error("invalid argument `{which}`: {reason}")]
    InvalidArgument {
        /// The argument's name (`tag`, `uid`, `set`, `fd`, ...).
        which: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// A `/proc/net/xt_qtaguid` file did not have the expected format.
    #[error("{file} line {line}: {reason}")]
    Format {
        /// Which file (`stats`, `ctrl`, `iface_stat_fmt`, ...).
        file: &'static str,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// Any other I/O failure.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Error {
    /// The POSIX errno that best describes this error (what Python's `OSError.errno` or
    /// Node's `code` should carry).
    ///
    /// ```
    /// use qtag::{Error, Privilege};
    /// let e = Error::PermissionDenied { privilege: Privilege::ModifyNetworkAccounting };
    /// assert_eq!(e.errno(), libc::EPERM);
    /// ```
    pub fn errno(&self) -> i32 {
        match self {
            Error::ModuleNotLoaded { .. } => libc::ENOENT,
            Error::PermissionDenied { .. } => libc::EPERM,
            Error::NotASocket { .. } => libc::ENOTSOCK,
            Error::UnsupportedSocket { .. } => libc::EAFNOSUPPORT,
            Error::BadFd { .. } => libc::EBADF,
            Error::NotTagged { .. } => libc::EINVAL,
            Error::TagLimitReached => libc::EMFILE,
            Error::InvalidArgument { .. } => libc::EINVAL,
            Error::Format { .. } => libc::EIO,
            Error::Io(e) => e.raw_os_error().unwrap_or(libc::EIO),
        }
    }

    /// The symbolic name of [`Error::errno`] (`"EPERM"`, `"EBADF"`, ...), for Node's
    /// `error.code`.
    ///
    /// ```
    /// assert_eq!(qtag::Error::TagLimitReached.code(), "EMFILE");
    /// ```
    pub fn code(&self) -> &'static str {
        match self.errno() {
            libc::ENOENT => "ENOENT",
            libc::EPERM => "EPERM",
            libc::EACCES => "EACCES",
            libc::ENOTSOCK => "ENOTSOCK",
            libc::EAFNOSUPPORT => "EAFNOSUPPORT",
            libc::EBADF => "EBADF",
            libc::EINVAL => "EINVAL",
            libc::EMFILE => "EMFILE",
            libc::EIO => "EIO",
            libc::EINTR => "EINTR",
            libc::ENOMEM => "ENOMEM",
            libc::EFAULT => "EFAULT",
            _ => "EUNKNOWN",
        }
    }

    pub(crate) fn invalid(which: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument { which, reason: reason.into() }
    }

    pub(crate) fn format(file: &'static str, line: usize, reason: impl Into<String>) -> Self {
        Error::Format { file, line, reason: reason.into() }
    }
}

/// Into `std::io::Error`, for code that works in `io::Result`: the kind follows
/// [`Error::errno`], the message is kept (an [`Error::Io`] is returned as it was).
///
/// ```
/// let e: std::io::Error = qtag::Error::BadFd { fd: 3 }.into();
/// assert_eq!(e.to_string(), "file descriptor 3 is not open");
/// ```
impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io(e) => e,
            other => io::Error::new(io::Error::from_raw_os_error(other.errno()).kind(), other),
        }
    }
}

/// The operation a failing system call belonged to; selects the errno mapping.
///
/// ```
/// use qtag::{Error, Op};
/// let e = Op::Untag { fd: 7 }.error(libc::EINVAL);
/// assert!(matches!(e, Error::NotTagged { fd: 7 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `t <fd> ...`
    Tag {
        /// The socket being tagged.
        fd: RawFd,
    },
    /// `u <fd>`
    Untag {
        /// The socket being untagged.
        fd: RawFd,
    },
    /// `s <set> <uid>`
    SetCounterSet,
    /// `d <tag> <uid>`
    DeleteTagData,
    /// Opening a file under `/proc/net/xt_qtaguid`.
    Open {
        /// The file's full path.
        path: PathBuf,
        /// Whether reading it is a stats read (stats privilege) or a ctrl write.
        privilege: Privilege,
    },
}

impl Op {
    /// Map the errno a failed call of this operation returned to an [`Error`].
    ///
    /// This is the single errno table of qtag (the commands are in kmod/README.md):
    ///
    /// | errno | t | u | s | d | open |
    /// |---|---|---|---|---|---|
    /// | EBADF | BadFd | BadFd | – | – | – |
    /// | ENOTSOCK | NotASocket | NotASocket | – | – | – |
    /// | EPERM, EACCES | PermissionDenied(acct) | same | same | same | PermissionDenied(file's) |
    /// | EAFNOSUPPORT | UnsupportedSocket | – | – | – | – |
    /// | EMFILE | TagLimitReached | – | – | – | – |
    /// | EINVAL | InvalidArgument(command) | NotTagged | InvalidArgument(set) | InvalidArgument(tag) | – |
    /// | ENOENT | – | – | – | – | ModuleNotLoaded |
    ///
    /// Anything else becomes [`Error::Io`] with the errno kept.
    ///
    /// ```
    /// use qtag::{Error, Op};
    /// assert!(matches!(Op::Tag { fd: 3 }.error(libc::EMFILE), Error::TagLimitReached));
    /// assert!(matches!(Op::Tag { fd: 3 }.error(libc::ENOTSOCK), Error::NotASocket { fd: 3 }));
    /// ```
    pub fn error(&self, errno: i32) -> Error {
        use Privilege::ModifyNetworkAccounting as Acct;
        match (self, errno) {
            (Op::Open { path, .. }, libc::ENOENT) => Error::ModuleNotLoaded { path: path.clone() },
            (Op::Open { privilege, .. }, libc::EPERM | libc::EACCES) => {
                Error::PermissionDenied { privilege: *privilege }
            }
            (_, libc::EPERM | libc::EACCES) => Error::PermissionDenied { privilege: Acct },
            (Op::Tag { fd } | Op::Untag { fd }, libc::EBADF) => Error::BadFd { fd: *fd },
            (Op::Tag { fd } | Op::Untag { fd }, libc::ENOTSOCK) => Error::NotASocket { fd: *fd },
            (Op::Tag { fd }, libc::EAFNOSUPPORT) => Error::UnsupportedSocket { fd: *fd },
            (Op::Tag { .. }, libc::EMFILE) => Error::TagLimitReached,
            (Op::Untag { fd }, libc::EINVAL) => Error::NotTagged { fd: *fd },
            (Op::Tag { .. }, libc::EINVAL) => {
                Error::invalid("command", "the kernel rejected the tag command")
            }
            (Op::SetCounterSet, libc::EINVAL) => {
                Error::invalid("set", "the kernel rejected the counter set")
            }
            (Op::DeleteTagData, libc::EINVAL) => {
                Error::invalid("tag", "the kernel rejected the delete command")
            }
            (_, e) => Error::Io(io::Error::from_raw_os_error(e)),
        }
    }
}
