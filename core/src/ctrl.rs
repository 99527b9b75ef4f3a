//! The process's ctrl file descriptor: opened lazily (`O_WRONLY | O_CLOEXEC`) on first
//! use and reused for every command, so a tag costs one `write()`.
//!
//! Fork: the descriptor is stamped with the pid that opened it (the pid is cached and
//! forgotten in a fork child by a `pthread_atfork` handler). A child sees another pid
//! and opens its own (the kernel judges privilege by the credentials of the opener too,
//! so a child that dropped privileges must not use its parent's descriptor); the
//! inherited copy is closed when it still refers to the ctrl file.
//!
//! The state is one atomic word (no lock), so a fork at any moment leaves nothing held.
//!
//! Module reload: the old module's files answer EIO. A command that gets EIO reopens ctrl
//! into the same descriptor number (`dup3`) and is retried once; if the module is gone the
//! error is `ModuleNotLoaded`.

use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Once;

use crate::command::Command;
use crate::error::{Error, Op, Privilege, Result};
use crate::paths::ProcFile;

/// `pid << 32 | fd` of the open descriptor, 0 when none.
static STATE: AtomicU64 = AtomicU64::new(0);

fn pack(pid: i32, fd: RawFd) -> u64 {
    (u64::from(pid as u32) << 32) | u64::from(fd as u32)
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

fn open_ctrl() -> Result<RawFd> {
    let path = ProcFile::Ctrl.path();
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::invalid("QTAG_PROC_DIR", "contains a NUL byte"))?;
    loop {
        // SAFETY: `c` is a valid NUL-terminated path.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        if fd >= 0 {
            return Ok(fd);
        }
        match errno() {
            libc::EINTR => continue,
            e => {
                let op = Op::Open { path, privilege: Privilege::ModifyNetworkAccounting };
                return Err(op.error(e));
            }
        }
    }
}

fn same_file(a: RawFd, b: RawFd) -> bool {
    // SAFETY: fstat only writes into the zeroed structs.
    unsafe {
        let mut sa: libc::stat = std::mem::zeroed();
        let mut sb: libc::stat = std::mem::zeroed();
        libc::fstat(a, &mut sa) == 0
            && libc::fstat(b, &mut sb) == 0
            && sa.st_dev == sb.st_dev
            && sa.st_ino == sb.st_ino
    }
}

/// This process's pid, 0 until first asked and again in the child of a fork (a
/// `pthread_atfork` handler), so that a command costs one `write()` and no `getpid()`.
static PID: AtomicI32 = AtomicI32::new(0);
static ATFORK: Once = Once::new();

extern "C" fn forget_pid_in_child() {
    PID.store(0, Ordering::Relaxed);
}

fn current_pid() -> i32 {
    let pid = PID.load(Ordering::Relaxed);
    if pid != 0 {
        return pid;
    }
    ATFORK.call_once(|| {
        // SAFETY: registers a handler that only stores to an atomic (async-signal-safe).
        unsafe { libc::pthread_atfork(None, None, Some(forget_pid_in_child)) };
    });
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    PID.store(pid, Ordering::Relaxed);
    pid
}

/// The ctrl descriptor of this process, opening it if needed.
fn ctrl_fd() -> Result<RawFd> {
    let pid = current_pid();
    loop {
        let cur = STATE.load(Ordering::Acquire);
        if cur != 0 && (cur >> 32) as u32 == pid as u32 {
            return Ok(cur as u32 as RawFd);
        }
        let fd = open_ctrl()?;
        match STATE.compare_exchange(cur, pack(pid, fd), Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                let inherited = cur as u32 as RawFd;
                if cur != 0 && inherited != fd && same_file(inherited, fd) {
                    // SAFETY: the inherited descriptor is ours (same file, opened by us
                    // in the parent) and no thread of this process uses it.
                    unsafe { libc::close(inherited) };
                }
                return Ok(fd);
            }
            Err(_) => {
                // Another thread installed one first: use theirs.
                // SAFETY: `fd` was opened above and never shared.
                unsafe { libc::close(fd) };
            }
        }
    }
}

/// Forget a descriptor that turned out to be closed behind our back.
fn forget(fd: RawFd) {
    let pid = current_pid();
    let _ = STATE.compare_exchange(pack(pid, fd), 0, Ordering::AcqRel, Ordering::Relaxed);
}

/// Point descriptor `fd` at a freshly opened ctrl file. `dup3` swaps the file under the
/// number atomically, so threads writing through `fd` at this moment never see a closed
/// or reused descriptor.
fn reopen_in_place(fd: RawFd) -> Result<()> {
    let new = open_ctrl()?;
    // SAFETY: both descriptors are ours; dup3 replaces `fd` atomically.
    let r = unsafe { libc::dup3(new, fd, libc::O_CLOEXEC) };
    let err = errno();
    // SAFETY: `new` was opened above and is no longer needed.
    unsafe { libc::close(new) };
    if r < 0 {
        return Err(Error::Io(std::io::Error::from_raw_os_error(err)));
    }
    Ok(())
}

fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only inspects the descriptor table.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

/// Write one command to ctrl; map a failure through `op`'s errno table.
pub(crate) fn write_command(cmd: &Command, op: Op) -> Result<()> {
    let bytes = cmd.as_bytes();
    let mut retried = false;
    loop {
        let fd = ctrl_fd()?;
        // SAFETY: `bytes` is a valid buffer of the given length.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n >= 0 {
            if n as usize == bytes.len() {
                return Ok(());
            }
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::WriteZero,
                format!("short write to ctrl: {n} of {} bytes", bytes.len()),
            )));
        }
        let e = errno();
        if e == libc::EINTR {
            continue;
        }
        if e == libc::EBADF && !retried && !fd_is_open(fd) {
            // Someone closed our ctrl descriptor (e.g. a close-all-fds loop): reopen once.
            forget(fd);
            retried = true;
            continue;
        }
        if e == libc::EIO && !retried {
            // The module was unloaded since we opened ctrl: its old files answer EIO.
            // Reopen (ModuleNotLoaded if it is still gone) and retry once.
            reopen_in_place(fd)?;
            retried = true;
            continue;
        }
        return Err(op.error(e));
    }
}
