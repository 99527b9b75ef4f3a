//! The text of ctrl commands, formatted without allocation, exactly as libcutils writes
//! them (kmod/README.md, "Files"): `t <fd> <tag<<32> <uid>`, `u <fd>`, `s <set> <uid>`,
//! `d <tag<<32> <uid>`, with `-1` for "the caller's uid".

use std::os::fd::RawFd;

/// A formatted ctrl command: at most 64 bytes on the stack.
///
/// ```
/// let c = qtag::Command::tag(5, 1, None);
/// assert_eq!(c.as_bytes(), b"t 5 4294967296 -1");
/// ```
#[derive(Clone, Copy)]
pub struct Command {
    buf: [u8; 64],
    len: usize,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Command").field(&String::from_utf8_lossy(self.as_bytes())).finish()
    }
}

/// A uid as libcutils prints it (`%d` of a `uid_t`), `-1` for self.
fn wire_uid(uid: Option<u32>) -> i32 {
    uid.map_or(-1, |u| u as i32)
}

impl Command {
    fn verb(verb: u8) -> Command {
        let mut buf = [0u8; 64];
        buf[0] = verb;
        Command { buf, len: 1 }
    }

    fn arg(self, n: i64) -> Command {
        self.number(n < 0, n.unsigned_abs())
    }

    fn arg_u64(self, n: u64) -> Command {
        self.number(false, n)
    }

    /// Appends ` <n>` in decimal. Digits by hand, not `core::fmt`: formatting was a fifth
    /// of a binding's `tag_socket`. The longest command, "t -2147483648
    /// 18446744069414584320 -2147483648", is 46 bytes: the buffer cannot run out.
    fn number(mut self, negative: bool, magnitude: u64) -> Command {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut rest = magnitude;
        loop {
            i -= 1;
            digits[i] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        self.buf[self.len] = b' ';
        self.len += 1;
        if negative {
            self.buf[self.len] = b'-';
            self.len += 1;
        }
        let digits = &digits[i..];
        self.buf[self.len..self.len + digits.len()].copy_from_slice(digits);
        self.len += digits.len();
        self
    }

    /// `t <fd> <tag<<32> <uid>`: tag socket `fd`, billing `uid` (`None`: the caller).
    ///
    /// ```
    /// assert_eq!(qtag::Command::tag(3, 2, Some(1000)).as_bytes(), b"t 3 8589934592 1000");
    /// ```
    pub fn tag(fd: RawFd, tag: u32, uid: Option<u32>) -> Command {
        Command::verb(b't').arg(fd.into()).arg_u64(u64::from(tag) << 32).arg(wire_uid(uid).into())
    }

    /// `u <fd>`: untag socket `fd`.
    ///
    /// ```
    /// assert_eq!(qtag::Command::untag(9).as_bytes(), b"u 9");
    /// ```
    pub fn untag(fd: RawFd) -> Command {
        Command::verb(b'u').arg(fd.into())
    }

    /// `s <set> <uid>`: make `set` the active counter set of `uid`.
    ///
    /// ```
    /// assert_eq!(qtag::Command::set_counter_set(1, Some(1000)).as_bytes(), b"s 1 1000");
    /// ```
    pub fn set_counter_set(set: u32, uid: Option<u32>) -> Command {
        Command::verb(b's').arg(set.into()).arg(wire_uid(uid).into())
    }

    /// `d <tag<<32> <uid>`: delete tag data (`tag` 0: everything of `uid`).
    ///
    /// ```
    /// assert_eq!(qtag::Command::delete_tag_data(0, None).as_bytes(), b"d 0 -1");
    /// ```
    pub fn delete_tag_data(tag: u32, uid: Option<u32>) -> Command {
        Command::verb(b'd').arg_u64(u64::from(tag) << 32).arg(wire_uid(uid).into())
    }

    /// The bytes written to ctrl (no trailing newline).
    ///
    /// ```
    /// assert_eq!(qtag::Command::untag(1).as_bytes().len(), 3);
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}
