//! The tagged-socket listing read from `ctrl` (kmod/README.md, "Semantics": Listing).

use crate::error::{Error, Privilege, Result};
use crate::lex::{dec_i64, dec_u32, dec_u64, hex_u64, lines, next_field, show};
use crate::paths::ProcFile;
use crate::read::read_path;

/// A live tagged socket.
///
/// ```
/// let l = qtag::CtrlListing::parse(
///     b"sock=1f tag=0x2a000003e8 (uid=1000) pid=77 f_count=2\nevents: sockets_tagged=1\n")?;
/// let s = &l.sockets[0];
/// assert_eq!((s.sock, s.tag, s.uid, s.pid, s.f_count), (0x1f, 0x2a, 1000, 77, 2));
/// # Ok::<(), qtag::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaggedSocket {
    /// Opaque socket id (not an address).
    pub sock: u64,
    /// The tag (upper 32 bits of the kernel's 64-bit tag).
    pub tag: u32,
    /// The billed uid.
    pub uid: u32,
    /// The tgid of the process that tagged it.
    pub pid: i64,
    /// The file's reference count.
    pub f_count: u64,
}

/// What reading `ctrl` gives: the tagged sockets and the module's event counters.
///
/// ```no_run
/// let l = qtag::CtrlListing::read()?;
/// println!("{} tagged sockets, {:?} tagged so far", l.sockets.len(), l.event("sockets_tagged"));
/// # Ok::<(), qtag::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CtrlListing {
    /// The tagged sockets, in file order.
    pub sockets: Vec<TaggedSocket>,
    /// The `events:` counters, in file order (`sockets_tagged`, `match_calls`, ...).
    pub events: Vec<(String, u64)>,
}

const FILE: &str = "ctrl";

fn parse_socket(line: &[u8], n: usize) -> Result<TaggedSocket> {
    let mut s = line;
    let (mut sock, mut tag, mut uid, mut pid, mut f_count) = (None, None, None, None, None);
    while let Some(f) = next_field(&mut s) {
        let f = f.strip_prefix(b"(").unwrap_or(f);
        let f = f.strip_suffix(b")").unwrap_or(f);
        let Some(eq) = f.iter().position(|&b| b == b'=') else {
            return Err(Error::format(FILE, n, format!("`{}` is not key=value", show(f))));
        };
        let (k, v) = (&f[..eq], &f[eq + 1..]);
        let bad = || Error::format(FILE, n, format!("bad value in `{}`", show(f)));
        match k {
            b"sock" => {
                let hex = if v.starts_with(b"0x") { v.to_vec() } else { [b"0x", v].concat() };
                sock = Some(hex_u64(&hex).ok_or_else(bad)?);
            }
            b"tag" => tag = Some((hex_u64(v).ok_or_else(bad)? >> 32) as u32),
            b"uid" => uid = Some(dec_u32(v).ok_or_else(bad)?),
            b"pid" => pid = Some(dec_i64(v).ok_or_else(bad)?),
            b"f_count" => f_count = Some(dec_u64(v).ok_or_else(bad)?),
            _ => {} // fields added later are ignored
        }
    }
    let missing = |k: &str| Error::format(FILE, n, format!("missing {k}="));
    Ok(TaggedSocket {
        sock: sock.ok_or_else(|| missing("sock"))?,
        tag: tag.ok_or_else(|| missing("tag"))?,
        uid: uid.ok_or_else(|| missing("uid"))?,
        pid: pid.ok_or_else(|| missing("pid"))?,
        f_count: f_count.unwrap_or(0),
    })
}

impl CtrlListing {
    /// Read `/proc/net/xt_qtaguid/ctrl`. Without stats privilege only your own sockets
    /// are listed.
    ///
    /// ```no_run
    /// for s in qtag::CtrlListing::read()?.sockets { println!("{:#x} {}", s.tag, s.uid); }
    /// # Ok::<(), qtag::Error>(())
    /// ```
    pub fn read() -> Result<CtrlListing> {
        CtrlListing::parse(&read_path(&ProcFile::Ctrl.path(), Privilege::Stats)?)
    }

    /// Parse the text read from ctrl: socket lines, then one `events:` line.
    ///
    /// ```
    /// let l = qtag::CtrlListing::parse(b"events: sockets_tagged=3 delete_cmds=1\n")?;
    /// assert_eq!(l.event("delete_cmds"), Some(1));
    /// assert!(qtag::CtrlListing::parse(b"sock=1 tag=0x0\n").is_err());
    /// # Ok::<(), qtag::Error>(())
    /// ```
    pub fn parse(text: &[u8]) -> Result<CtrlListing> {
        let mut out = CtrlListing::default();
        let mut seen_events = false;
        for (n, line) in lines(text) {
            if seen_events {
                return Err(Error::format(FILE, n, "text after the events: line"));
            }
            if let Some(rest) = line.strip_prefix(b"events:") {
                seen_events = true;
                let mut s = rest;
                while let Some(f) = next_field(&mut s) {
                    let eq = f.iter().position(|&b| b == b'=');
                    let parsed = eq.and_then(|i| Some((show(&f[..i]), dec_u64(&f[i + 1..])?)));
                    let kv = parsed.ok_or_else(|| Error::format(FILE, n, format!("bad event `{}`", show(f))))?;
                    out.events.push(kv);
                }
            } else {
                out.sockets.push(parse_socket(line, n)?);
            }
        }
        if !seen_events {
            let n = lines(text).count() + 1;
            return Err(Error::format(FILE, n, "no events: line at the end"));
        }
        Ok(out)
    }

    /// The value of one event counter.
    ///
    /// ```
    /// assert_eq!(qtag::CtrlListing::default().event("match_calls"), None);
    /// ```
    pub fn event(&self, name: &str) -> Option<u64> {
        self.events.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }
}
