//! `iface_stat_all`, `iface_stat_fmt` and `iface_stat/<if>/<counter>`.

use std::path::Path;

use crate::counters::Counters;
use crate::error::{Error, Privilege, Result};
use crate::lex::{dec_u64, lines, next_field, show};
use crate::paths::{proc_dir, ProcFile};
use crate::read::{read_path, read_proc};

/// The exact header of `iface_stat_fmt` (kmod/README.md, "Files").
///
/// ```
/// assert!(qtag::IFACE_STAT_FMT_HEADER.starts_with("ifname total_skb_rx_bytes"));
/// ```
pub const IFACE_STAT_FMT_HEADER: &str = "ifname total_skb_rx_bytes total_skb_rx_packets \
total_skb_tx_bytes total_skb_tx_packets rx_tcp_bytes rx_tcp_packets rx_udp_bytes rx_udp_packets \
rx_other_bytes rx_other_packets tx_tcp_bytes tx_tcp_packets tx_udp_bytes tx_udp_packets \
tx_other_bytes tx_other_packets";

/// One line of `iface_stat_all`.
///
/// ```
/// let v = qtag::IfaceStat::parse_all(b"lo 1 10 1 20 2 30 3 40 4\n")?;
/// assert_eq!((v[0].name.as_str(), v[0].active, v[0].tx_bytes, v[0].dev_tx_packets), ("lo", true, 20, 4));
/// # Ok::<(), qtag::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IfaceStat {
    /// Interface name.
    pub name: String,
    /// Whether the device currently exists.
    pub active: bool,
    /// Received bytes accumulated over earlier registrations of this name.
    pub rx_bytes: u64,
    /// Received packets, likewise.
    pub rx_packets: u64,
    /// Sent bytes, likewise.
    pub tx_bytes: u64,
    /// Sent packets, likewise.
    pub tx_packets: u64,
    /// The device's current received bytes (0 when gone, or when the line has 6 fields).
    pub dev_rx_bytes: u64,
    /// The device's current received packets.
    pub dev_rx_packets: u64,
    /// The device's current sent bytes.
    pub dev_tx_bytes: u64,
    /// The device's current sent packets.
    pub dev_tx_packets: u64,
}

impl IfaceStat {
    /// Read and parse `/proc/net/xt_qtaguid/iface_stat_all`.
    ///
    /// ```no_run
    /// for i in qtag::IfaceStat::read_all()? { println!("{} {}", i.name, i.rx_bytes); }
    /// # Ok::<(), qtag::Error>(())
    /// ```
    pub fn read_all() -> Result<Vec<IfaceStat>> {
        IfaceStat::parse_all(&read_proc(ProcFile::IfaceStatAll)?)
    }

    /// Parse the text of `iface_stat_all` (no header; 6 or 10 fields a line).
    ///
    /// ```
    /// assert!(qtag::IfaceStat::parse_all(b"lo x 1 2 3 4\n").is_err());
    /// ```
    pub fn parse_all(text: &[u8]) -> Result<Vec<IfaceStat>> {
        const FILE: &str = "iface_stat_all";
        let mut out = Vec::new();
        for (n, line) in lines(text) {
            let mut s = line;
            let name = next_field(&mut s).ok_or_else(|| Error::format(FILE, n, "empty line"))?;
            let mut v = [0u64; 9];
            let mut count = 0;
            while let Some(f) = next_field(&mut s) {
                if count == v.len() {
                    return Err(Error::format(FILE, n, "more than 10 fields"));
                }
                v[count] = dec_u64(f)
                    .ok_or_else(|| Error::format(FILE, n, format!("`{}` is not a number", show(f))))?;
                count += 1;
            }
            if count != 5 && count != 9 {
                return Err(Error::format(FILE, n, format!("{} fields where 6 or 10 expected", count + 1)));
            }
            if v[0] > 1 {
                return Err(Error::format(FILE, n, format!("active `{}` is not 0 or 1", v[0])));
            }
            out.push(IfaceStat {
                name: show(name),
                active: v[0] == 1,
                rx_bytes: v[1],
                rx_packets: v[2],
                tx_bytes: v[3],
                tx_packets: v[4],
                dev_rx_bytes: v[5],
                dev_rx_packets: v[6],
                dev_tx_bytes: v[7],
                dev_tx_packets: v[8],
            });
        }
        Ok(out)
    }
}

/// One line of `iface_stat_fmt`: an interface's totals, by protocol.
///
/// ```
/// let text = format!("{}\nlo {}\n", qtag::IFACE_STAT_FMT_HEADER, ["3"; 16].join(" "));
/// let v = qtag::IfaceFmt::parse(text.as_bytes())?;
/// assert_eq!((v[0].name.as_str(), v[0].counters.rx_bytes), ("lo", 3));
/// # Ok::<(), qtag::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IfaceFmt {
    /// Interface name.
    pub name: String,
    /// `total_skb_*` then the protocol columns, in [`Counters`] order.
    pub counters: Counters,
}

impl IfaceFmt {
    /// Read and parse `/proc/net/xt_qtaguid/iface_stat_fmt`.
    ///
    /// ```no_run
    /// let lo = qtag::IfaceFmt::read()?.into_iter().find(|i| i.name == "lo");
    /// # Ok::<(), qtag::Error>(())
    /// ```
    pub fn read() -> Result<Vec<IfaceFmt>> {
        IfaceFmt::parse(&read_proc(ProcFile::IfaceStatFmt)?)
    }

    /// Parse the text of `iface_stat_fmt`: the exact header, then 17 fields a line.
    ///
    /// ```
    /// assert!(qtag::IfaceFmt::parse(b"bogus header\n").is_err());
    /// ```
    pub fn parse(text: &[u8]) -> Result<Vec<IfaceFmt>> {
        const FILE: &str = "iface_stat_fmt";
        let mut it = lines(text);
        match it.next() {
            Some((_, h)) if h.trim_ascii_end() == IFACE_STAT_FMT_HEADER.as_bytes() => {}
            Some((_, h)) => return Err(Error::format(FILE, 1, format!("unexpected header `{}`", show(h)))),
            None => return Err(Error::format(FILE, 1, "empty file: no header")),
        }
        let mut out = Vec::new();
        for (n, line) in it {
            let mut s = line;
            let name = next_field(&mut s).ok_or_else(|| Error::format(FILE, n, "empty line"))?;
            let mut c = [0u64; 16];
            for (i, slot) in c.iter_mut().enumerate() {
                let f = next_field(&mut s)
                    .ok_or_else(|| Error::format(FILE, n, format!("missing {}", Counters::NAMES[i])))?;
                *slot = dec_u64(f).ok_or_else(|| Error::format(FILE, n, format!("`{}` is not a number", show(f))))?;
            }
            if next_field(&mut s).is_some() {
                return Err(Error::format(FILE, n, "more than 17 fields"));
            }
            out.push(IfaceFmt { name: show(name), counters: Counters::from_array(c) });
        }
        Ok(out)
    }
}

/// One of the files in `iface_stat/<iface>/`.
///
/// ```
/// assert_eq!(qtag::IfaceCounter::TxPackets.file_name(), "tx_packets");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfaceCounter {
    /// `rx_bytes`
    RxBytes,
    /// `rx_packets`
    RxPackets,
    /// `tx_bytes`
    TxBytes,
    /// `tx_packets`
    TxPackets,
    /// `active` (1 or 0)
    Active,
}

impl IfaceCounter {
    /// The file's name.
    ///
    /// ```
    /// assert_eq!(qtag::IfaceCounter::Active.file_name(), "active");
    /// ```
    pub fn file_name(self) -> &'static str {
        match self {
            IfaceCounter::RxBytes => "rx_bytes",
            IfaceCounter::RxPackets => "rx_packets",
            IfaceCounter::TxBytes => "tx_bytes",
            IfaceCounter::TxPackets => "tx_packets",
            IfaceCounter::Active => "active",
        }
    }
}

/// Read `/proc/net/xt_qtaguid/iface_stat/<iface>/<counter>`.
///
/// ```no_run
/// let rx = qtag::read_iface_counter("lo", qtag::IfaceCounter::RxBytes)?;
/// # Ok::<(), qtag::Error>(())
/// ```
pub fn read_iface_counter(iface: &str, counter: IfaceCounter) -> Result<u64> {
    if iface.is_empty() || iface.contains('/') || iface == "." || iface == ".." {
        return Err(Error::invalid("iface", format!("`{iface}` is not an interface name")));
    }
    let path = proc_dir().join("iface_stat").join(iface).join(counter.file_name());
    let text = read_path(Path::new(&path), Privilege::Stats).map_err(|e| match e {
        Error::ModuleNotLoaded { .. } if ProcFile::Ctrl.path().exists() => {
            Error::invalid("iface", format!("no interface `{iface}` has been seen"))
        }
        e => e,
    })?;
    dec_u64(text.trim_ascii()).ok_or_else(|| {
        Error::format("iface_stat", 1, format!("{}: `{}` is not a number", path.display(), show(&text)))
    })
}
