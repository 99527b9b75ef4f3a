//! Socket tagging and the other ctrl commands.

use std::os::fd::{AsFd, AsRawFd, RawFd};

use crate::command::Command;
use crate::ctrl::write_command;
use crate::error::{Error, Op, Result};
use crate::tags::validate_counter_set;
use crate::thread::{none_if_max, thread_state, ThreadState};

fn check_fd(fd: RawFd) -> Result<()> {
    if fd < 0 {
        return Err(Error::BadFd { fd });
    }
    Ok(())
}

/// Check that `fd` is an open socket without asking the kernel module.
fn check_socket(fd: RawFd) -> Result<()> {
    check_fd(fd)?;
    // SAFETY: fstat only writes into the zeroed struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EBADF);
        return Err(Op::Tag { fd }.error(e));
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(Error::NotASocket { fd });
    }
    Ok(())
}

/// Tag a socket with the calling thread's tag and uid (see
/// [`set_thread_stats_tag`](crate::set_thread_stats_tag)), as Android's
/// `TrafficStats.tagSocket` does. Tagging again replaces the previous tag.
///
/// When the thread has neither a tag nor a uid there is nothing to tell the kernel and
/// no command is written, but the descriptor is still checked: a closed descriptor
/// gives [`Error::BadFd`] and a non-socket [`Error::NotASocket`] either way, so a
/// program sees the same errors whatever its thread state.
///
/// A thread uid without a tag tags with tag 0 (billing only); a tag without a uid bills
/// the caller.
///
/// ```no_run
/// let sock = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// qtag::set_thread_stats_tag(0x1001);
/// qtag::tag_socket(&sock)?;
/// sock.send_to(b"hello", "127.0.0.1:9")?;
/// qtag::untag_socket(&sock)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn tag_socket(socket: impl AsFd) -> Result<()> {
    tag_socket_raw(socket.as_fd().as_raw_fd())
}

/// [`tag_socket`] for a raw descriptor (for bindings holding an `int`).
///
/// ```no_run
/// use std::os::fd::AsRawFd;
/// let sock = std::net::TcpListener::bind("127.0.0.1:0")?;
/// qtag::tag_socket_raw(sock.as_raw_fd())?;
/// # Ok::<(), qtag::Error>(())
/// ```
pub fn tag_socket_raw(fd: RawFd) -> Result<()> {
    tag_socket_in_state_raw(fd, thread_state())
}

/// [`tag_socket_raw`] with a given state instead of this thread's, for bindings that keep
/// the state themselves (Python keeps it per thread *and* asyncio task). The same rules:
/// `u32::MAX` means none (as in [`scope`](crate::scope)), and a state without tag and
/// uid only checks the descriptor.
///
/// ```no_run
/// let state = qtag::ThreadState { tag: Some(0x1001), uid: None };
/// assert!(matches!(qtag::tag_socket_in_state_raw(-1, state), Err(qtag::Error::BadFd { fd: -1 })));
/// ```
pub fn tag_socket_in_state_raw(fd: RawFd, state: ThreadState) -> Result<()> {
    let (tag, uid) = (state.tag.and_then(none_if_max), state.uid.and_then(none_if_max));
    if tag.is_none() && uid.is_none() {
        return check_socket(fd);
    }
    tag_socket_with_raw(fd, tag.unwrap_or(0), uid)
}

/// Tag a socket with an explicit tag, billed to `uid` (`None`: the caller). Billing
/// another uid needs MODIFY_NETWORK_ACCOUNTING ([`Error::PermissionDenied`] otherwise).
///
/// ```no_run
/// let sock = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// qtag::tag_socket_with(&sock, qtag::TAG_SYSTEM_DOWNLOAD, None)?;
/// # Ok::<(), qtag::Error>(())
/// ```
pub fn tag_socket_with(socket: impl AsFd, tag: u32, uid: Option<u32>) -> Result<()> {
    tag_socket_with_raw(socket.as_fd().as_raw_fd(), tag, uid)
}

/// [`tag_socket_with`] for a raw descriptor.
///
/// ```no_run
/// assert!(matches!(qtag::tag_socket_with_raw(-1, 1, None), Err(qtag::Error::BadFd { fd: -1 })));
/// ```
pub fn tag_socket_with_raw(fd: RawFd, tag: u32, uid: Option<u32>) -> Result<()> {
    check_fd(fd)?;
    write_command(&Command::tag(fd, tag, uid), Op::Tag { fd })
}

/// Remove a socket's tag; its later traffic is billed to its owner with tag 0.
/// [`Error::NotTagged`] if it has no tag.
///
/// ```no_run
/// let sock = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// qtag::tag_socket_with(&sock, 7, None)?;
/// qtag::untag_socket(&sock)?;
/// # Ok::<(), qtag::Error>(())
/// ```
pub fn untag_socket(socket: impl AsFd) -> Result<()> {
    untag_socket_raw(socket.as_fd().as_raw_fd())
}

/// [`untag_socket`] for a raw descriptor.
///
/// ```no_run
/// assert!(qtag::untag_socket_raw(-1).is_err());
/// ```
pub fn untag_socket_raw(fd: RawFd) -> Result<()> {
    check_fd(fd)?;
    write_command(&Command::untag(fd), Op::Untag { fd })
}

/// Make `set` (0 default/background, 1 foreground) the active counter set of `uid`
/// (`None`: the caller). Needs MODIFY_NETWORK_ACCOUNTING.
///
/// ```no_run
/// qtag::set_counter_set(Some(10001), qtag::COUNTER_SET_FOREGROUND)?;
/// # Ok::<(), qtag::Error>(())
/// ```
pub fn set_counter_set(uid: Option<u32>, set: u32) -> Result<()> {
    let set = validate_counter_set(i64::from(set))?;
    write_command(&Command::set_counter_set(set, uid), Op::SetCounterSet)
}

/// Delete accounting data of `uid` (`None`: the caller): with `tag` 0 everything (socket
/// tags, counter set, all rows), else only that tag's rows and socket tags. Deleting
/// another uid's data needs MODIFY_NETWORK_ACCOUNTING.
///
/// ```no_run
/// qtag::delete_tag_data(0x1001, None)?;
/// # Ok::<(), qtag::Error>(())
/// ```
pub fn delete_tag_data(tag: u32, uid: Option<u32>) -> Result<()> {
    write_command(&Command::delete_tag_data(tag, uid), Op::DeleteTagData)
}
