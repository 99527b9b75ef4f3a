//! The `stats` file: one row per (iface, tag, uid, counter set), parsed straight from
//! bytes with no allocation per row.

use std::path::Path;

use crate::counters::Counters;
use crate::error::{Error, Privilege, Result};
use crate::lex::{dec_u32, dec_u64, hex_u64, next_field, show};
use crate::paths::ProcFile;
use crate::read::{read_path, read_proc};

/// The exact first line of `stats` (kmod/README.md, "Files").
///
/// ```
/// assert!(qtag::STATS_HEADER.starts_with("idx iface acct_tag_hex uid_tag_int cnt_set "));
/// ```
pub const STATS_HEADER: &str = "idx iface acct_tag_hex uid_tag_int cnt_set rx_bytes rx_packets \
tx_bytes tx_packets rx_tcp_bytes rx_tcp_packets rx_udp_bytes rx_udp_packets rx_other_bytes \
rx_other_packets tx_tcp_bytes tx_tcp_packets tx_udp_bytes tx_udp_packets tx_other_bytes \
tx_other_packets";

/// An interface of a [`Stats`] snapshot; [`Stats::iface_name`] gives its name.
///
/// ```
/// let s = qtag::Stats::parse(format!("{}\n2 lo 0x0 0 0 {}\n", qtag::STATS_HEADER,
///     ["1"; 16].join(" ")).as_bytes())?;
/// assert_eq!(s.iface_name(s.rows()[0].iface), "lo");
/// # Ok::<(), qtag::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfaceId(u16);

impl IfaceId {
    /// Position in [`Stats::ifaces`].
    ///
    /// ```
    /// # let s = qtag::Stats::parse(format!("{}\n2 lo 0x0 0 0 {}\n", qtag::STATS_HEADER, ["1"; 16].join(" ")).as_bytes())?;
    /// assert_eq!(s.rows()[0].iface.index(), 0);
    /// # Ok::<(), qtag::Error>(())
    /// ```
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// One line of `stats`.
///
/// ```
/// let s = qtag::Stats::parse(format!("{}\n2 eth0 0x2a 1000 1 {}\n", qtag::STATS_HEADER,
///     ["7"; 16].join(" ")).as_bytes())?;
/// let r = s.rows()[0];
/// assert_eq!((r.tag, r.uid, r.set, r.counters.rx_bytes), (0x2a, 1000, 1, 7));
/// # Ok::<(), qtag::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatsRow {
    /// The interface.
    pub iface: IfaceId,
    /// The tag (32 bits; 0 = the uid's total).
    pub tag: u32,
    /// The billed uid.
    pub uid: u32,
    /// The counter set (0 default, 1 foreground).
    pub set: u32,
    /// The 16 counters.
    pub counters: Counters,
}

/// A parsed snapshot of `stats`: rows in file order plus the interface names.
///
/// ```no_run
/// let stats = qtag::Stats::read()?;
/// for row in stats.rows() {
///     println!("{} uid={} tag={:#x} rx={}", stats.iface_name(row.iface), row.uid, row.tag,
///              row.counters.rx_bytes);
/// }
/// # Ok::<(), qtag::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    ifaces: Vec<Box<str>>,
    rows: Vec<StatsRow>,
}

const FILE: &str = "stats";

/// The acct_tag column: the 32-bit tag itself (qtag's module), or Android's 64-bit
/// `tag << 32` form; both are accepted since a tag never has bits above 32.
fn parse_tag(f: &[u8], line: usize) -> Result<u32> {
    let v = hex_u64(f).ok_or_else(|| {
        Error::format(FILE, line, format!("acct_tag_hex `{}` is not 0x<hex>", show(f)))
    })?;
    if let Ok(t) = u32::try_from(v) {
        return Ok(t);
    }
    if v & 0xFFFF_FFFF != 0 {
        return Err(Error::format(FILE, line, format!("acct_tag_hex `{}` has bits in both halves", show(f))));
    }
    Ok((v >> 32) as u32)
}

impl Stats {
    /// Read and parse `/proc/net/xt_qtaguid/stats`. An unprivileged reader sees only its
    /// own uid's rows.
    ///
    /// ```no_run
    /// let total: u64 = qtag::Stats::read()?.rows().iter().map(|r| r.counters.rx_bytes).sum();
    /// # Ok::<(), qtag::Error>(())
    /// ```
    pub fn read() -> Result<Stats> {
        Stats::parse(&read_proc(ProcFile::Stats)?)
    }

    /// Read and parse a stats file at another path (a capture, a fixture).
    ///
    /// ```no_run
    /// let s = qtag::Stats::read_from("/tmp/stats.txt")?;
    /// # Ok::<(), qtag::Error>(())
    /// ```
    pub fn read_from(path: impl AsRef<Path>) -> Result<Stats> {
        Stats::parse(&read_path(path.as_ref(), Privilege::Stats)?)
    }

    /// Parse the text of a stats file. Checks the header exactly, 21 fields per row and
    /// `idx` consecutive from 2 (as Android's parser does); errors name the line.
    ///
    /// ```
    /// let bad = format!("{}\n3 lo 0x0 0 0 {}\n", qtag::STATS_HEADER, ["0"; 16].join(" "));
    /// let e = qtag::Stats::parse(bad.as_bytes()).unwrap_err();
    /// assert!(e.to_string().contains("line 2"));
    /// ```
    pub fn parse(text: &[u8]) -> Result<Stats> {
        let mut rest = text;
        let header = take_line(&mut rest);
        let header = match header {
            Some(h) => h,
            None => return Err(Error::format(FILE, 1, "empty file: no header")),
        };
        if trim_end(header) != STATS_HEADER.as_bytes() {
            return Err(Error::format(FILE, 1, format!("unexpected header `{}`", show(header))));
        }
        let mut stats = Stats { ifaces: Vec::new(), rows: Vec::with_capacity(text.len() / 96) };
        let mut last_iface: Option<(usize, IfaceId)> = None;
        let mut line_no = 1usize;
        let mut pos = text.len() - rest.len();
        while pos < text.len() {
            line_no += 1;
            // Fast path: one pass over the bytes, no slicing into fields.
            if let Some((row, next)) = stats.fast_row(text, pos, line_no, &mut last_iface) {
                stats.rows.push(row);
                pos = next;
                continue;
            }
            // Slow path: the field-by-field parser finds what is wrong and says so.
            let mut r = &text[pos..];
            let line = take_line(&mut r).unwrap_or_default();
            let row = stats.parse_row(line, line_no, &mut last_iface)?;
            stats.rows.push(row);
            pos = text.len() - r.len();
        }
        Ok(stats)
    }

    /// Parse the row starting at `text[i]` if it is well formed; returns the row and the
    /// offset of the next line. `None` means "let the slow path explain".
    #[inline]
    fn fast_row(
        &mut self,
        text: &[u8],
        mut i: usize,
        line_no: usize,
        last_iface: &mut Option<(usize, IfaceId)>,
    ) -> Option<(StatsRow, usize)> {
        let s = text;
        if fast::dec(s, &mut i)? != line_no as u64 || !fast::sep(s, &mut i) {
            return None;
        }
        let start = i;
        while i < s.len() && !matches!(s[i], b' ' | b'\t' | b'\n') {
            i += 1;
        }
        let iface = self.intern(&s[start..i], line_no, last_iface).ok()?;
        if !fast::sep(s, &mut i) {
            return None;
        }
        let tag = fast::tag(s, &mut i)?;
        if !fast::sep(s, &mut i) {
            return None;
        }
        let uid = u32::try_from(fast::dec(s, &mut i)?).ok()?;
        if !fast::sep(s, &mut i) {
            return None;
        }
        let set = u32::try_from(fast::dec(s, &mut i)?).ok()?;
        let mut c = [0u64; 16];
        for slot in c.iter_mut() {
            if !fast::sep(s, &mut i) {
                return None;
            }
            *slot = fast::dec(s, &mut i)?;
        }
        while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\r') {
            i += 1;
        }
        match s.get(i) {
            None => {}
            Some(b'\n') => i += 1,
            Some(_) => return None,
        }
        Some((StatsRow { iface, tag, uid, set, counters: Counters::from_array(c) }, i))
    }

    fn parse_row(
        &mut self,
        line: &[u8],
        line_no: usize,
        last_iface: &mut Option<(usize, IfaceId)>,
    ) -> Result<StatsRow> {
        let mut s = line;
        let missing = |what: &str| Error::format(FILE, line_no, format!("missing {what}"));
        let idx = next_field(&mut s).ok_or_else(|| missing("idx"))?;
        match dec_u64(idx) {
            Some(i) if i == line_no as u64 => {}
            Some(i) => {
                return Err(Error::format(FILE, line_no, format!("idx {i} where {line_no} expected")))
            }
            None => return Err(Error::format(FILE, line_no, format!("idx `{}` is not a number", show(idx)))),
        }
        let iface = next_field(&mut s).ok_or_else(|| missing("iface"))?;
        let iface = self.intern(iface, line_no, last_iface)?;
        let tag = parse_tag(next_field(&mut s).ok_or_else(|| missing("acct_tag_hex"))?, line_no)?;
        let uid_f = next_field(&mut s).ok_or_else(|| missing("uid_tag_int"))?;
        let uid = dec_u32(uid_f).ok_or_else(|| {
            Error::format(FILE, line_no, format!("uid_tag_int `{}` is not a uid", show(uid_f)))
        })?;
        let set_f = next_field(&mut s).ok_or_else(|| missing("cnt_set"))?;
        let set = dec_u32(set_f).ok_or_else(|| {
            Error::format(FILE, line_no, format!("cnt_set `{}` is not a number", show(set_f)))
        })?;
        let mut c = [0u64; 16];
        for (i, slot) in c.iter_mut().enumerate() {
            let f = next_field(&mut s).ok_or_else(|| missing(Counters::NAMES[i]))?;
            *slot = dec_u64(f).ok_or_else(|| {
                Error::format(FILE, line_no, format!("{} `{}` is not a number", Counters::NAMES[i], show(f)))
            })?;
        }
        if let Some(extra) = next_field(&mut s) {
            return Err(Error::format(FILE, line_no, format!("extra field `{}` after 21 fields", show(extra))));
        }
        Ok(StatsRow { iface, tag, uid, set, counters: Counters::from_array(c) })
    }

    fn intern(
        &mut self,
        name: &[u8],
        line_no: usize,
        last: &mut Option<(usize, IfaceId)>,
    ) -> Result<IfaceId> {
        if let Some((i, id)) = *last {
            if self.ifaces[i].as_bytes() == name {
                return Ok(id);
            }
        }
        let i = match self.ifaces.iter().position(|n| n.as_bytes() == name) {
            Some(i) => i,
            None => {
                let s = std::str::from_utf8(name).map_err(|_| {
                    Error::format(FILE, line_no, format!("iface `{}` is not UTF-8", show(name)))
                })?;
                self.ifaces.push(s.into());
                self.ifaces.len() - 1
            }
        };
        let id = IfaceId(u16::try_from(i).map_err(|_| Error::format(FILE, line_no, "more than 65535 interfaces"))?);
        *last = Some((i, id));
        Ok(id)
    }

    /// The same interfaces with other rows (rows must use this snapshot's ids).
    pub(crate) fn with_rows(&self, rows: Vec<StatsRow>) -> Stats {
        Stats { ifaces: self.ifaces.clone(), rows }
    }

    /// The rows, in file order.
    ///
    /// ```
    /// assert!(qtag::Stats::default().rows().is_empty());
    /// ```
    pub fn rows(&self) -> &[StatsRow] {
        &self.rows
    }

    /// The interface names, indexed by [`IfaceId::index`].
    ///
    /// ```
    /// assert_eq!(qtag::Stats::default().ifaces().len(), 0);
    /// ```
    pub fn ifaces(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.ifaces.iter().map(|s| &**s)
    }

    /// The name of an interface of this snapshot (`"?"` for an id from another one).
    ///
    /// ```
    /// # let s = qtag::Stats::parse(format!("{}\n2 wlan0 0x0 0 0 {}\n", qtag::STATS_HEADER, ["1"; 16].join(" ")).as_bytes())?;
    /// assert_eq!(s.iface_name(s.rows()[0].iface), "wlan0");
    /// # Ok::<(), qtag::Error>(())
    /// ```
    pub fn iface_name(&self, id: IfaceId) -> &str {
        self.ifaces.get(id.index()).map_or("?", |s| s)
    }

    /// The id of a named interface, if it has rows.
    ///
    /// ```
    /// assert_eq!(qtag::Stats::default().iface_id("lo"), None);
    /// ```
    pub fn iface_id(&self, name: &str) -> Option<IfaceId> {
        self.ifaces.iter().position(|n| &**n == name).map(|i| IfaceId(i as u16))
    }
}

/// Single-pass scanners for the fast path; each returns `None`/`false` on anything
/// unusual so the slow path can report it.
mod fast {
    /// Decimal digits at `s[*i..]`, advancing `i`; `None` if none or on overflow.
    #[inline(always)]
    pub(super) fn dec(s: &[u8], i: &mut usize) -> Option<u64> {
        let start = *i;
        let mut v: u64 = 0;
        while let Some(&b) = s.get(*i) {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v.wrapping_mul(10).wrapping_add(u64::from(d));
            *i += 1;
        }
        match *i - start {
            0 => None,
            1..=19 => Some(v),
            _ => crate::lex::dec_u64(&s[start..*i]),
        }
    }

    /// One or more blanks, advancing `i`.
    #[inline(always)]
    pub(super) fn sep(s: &[u8], i: &mut usize) -> bool {
        let start = *i;
        while let Some(b' ' | b'\t') = s.get(*i) {
            *i += 1;
        }
        *i > start
    }

    /// `0x<hex>` as a tag (either encoding), advancing `i`.
    #[inline(always)]
    pub(super) fn tag(s: &[u8], i: &mut usize) -> Option<u32> {
        if s.get(*i..*i + 2)? != b"0x" {
            return None;
        }
        *i += 2;
        let start = *i;
        let mut v: u64 = 0;
        while let Some(&b) = s.get(*i) {
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => break,
            };
            v = (v << 4) | u64::from(d);
            *i += 1;
        }
        if *i == start || *i - start > 16 {
            return None;
        }
        match u32::try_from(v) {
            Ok(t) => Some(t),
            Err(_) if v & 0xFFFF_FFFF == 0 => Some((v >> 32) as u32),
            Err(_) => None,
        }
    }
}

/// Split off the next line (without its '\n'); `None` at the end.
#[inline]
fn take_line<'a>(s: &mut &'a [u8]) -> Option<&'a [u8]> {
    if s.is_empty() {
        return None;
    }
    match s.iter().position(|&b| b == b'\n') {
        Some(i) => {
            let l = &s[..i];
            *s = &s[i + 1..];
            Some(l)
        }
        None => {
            let l = *s;
            *s = &[];
            Some(l)
        }
    }
}

fn trim_end(s: &[u8]) -> &[u8] {
    let mut e = s.len();
    while e > 0 && matches!(s[e - 1], b' ' | b'\t' | b'\r') {
        e -= 1;
    }
    &s[..e]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_forms() {
        assert_eq!(parse_tag(b"0x0", 2).unwrap(), 0);
        assert_eq!(parse_tag(b"0x2a", 2).unwrap(), 0x2a);
        assert_eq!(parse_tag(b"0x2a00000000", 2).unwrap(), 0x2a);
        assert_eq!(parse_tag(b"0xffffff0100000000", 2).unwrap(), 0xffff_ff01);
        assert!(parse_tag(b"0x2a00000001", 2).is_err());
        assert!(parse_tag(b"2a", 2).is_err());
    }

    #[test]
    fn fast_decimal() {
        for v in [0u64, 1, 9, 10, 12_345_678, 99_999_999, 100_000_000, 1_234_567_890_123, u64::MAX] {
            for tail in [&b" "[..], b"\n", b"", b" 123456789 0 0 0"] {
                let text = [v.to_string().as_bytes(), tail].concat();
                let mut i = 0;
                assert_eq!(fast::dec(&text, &mut i), Some(v), "{v} {tail:?}");
                assert_eq!(i, v.to_string().len());
            }
        }
        let mut i = 0;
        assert_eq!(fast::dec(b"18446744073709551616 0", &mut i), None);
        let mut i = 0;
        assert_eq!(fast::dec(b"x1234567890", &mut i), None);
    }
}
