//! `android.net.TrafficStats`-style getters: one number each, [`UNSUPPORTED`] (-1) when
//! the number cannot be had, as Android does.
//!
//! - `uid_*`: the uid's total (tag 0 rows, every interface and counter set) from `stats`.
//!   [`UNSUPPORTED`] when `stats` cannot be read, or when `uid` is not the caller's and no
//!   row of it is visible (Android N+ returns UNSUPPORTED for other uids; qtag answers
//!   when the reader has stats privilege and so sees them). The caller's own uid with no
//!   traffic yet gives 0.
//! - `total_*`: the `total_skb_*` columns of `iface_stat_fmt` added over all interfaces
//!   (loopback included). [`UNSUPPORTED`] when the file cannot be read.
//! - `iface_*`: one interface's line of `iface_stat_fmt`. [`UNSUPPORTED`] when the file
//!   cannot be read or the interface is not listed.

use crate::counters::Counters;
use crate::iface::IfaceFmt;
use crate::stats::Stats;
use crate::tags::UNSUPPORTED;

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn uid_stat(uid: u32, pick: fn(&Counters) -> u64) -> i64 {
    let Ok(stats) = Stats::read() else { return UNSUPPORTED };
    // SAFETY: getuid has no preconditions.
    let me = unsafe { libc::getuid() };
    if uid != me && !stats.rows().iter().any(|r| r.uid == uid) {
        return UNSUPPORTED;
    }
    clamp(pick(&stats.uid_total(uid)))
}

fn total_stat(pick: fn(&Counters) -> u64) -> i64 {
    match IfaceFmt::read() {
        Ok(v) => clamp(v.iter().map(|i| pick(&i.counters)).fold(0u64, u64::saturating_add)),
        Err(_) => UNSUPPORTED,
    }
}

fn iface_stat(iface: &str, pick: fn(&Counters) -> u64) -> i64 {
    match IfaceFmt::read() {
        Ok(v) => v.iter().find(|i| i.name == iface).map_or(UNSUPPORTED, |i| clamp(pick(&i.counters))),
        Err(_) => UNSUPPORTED,
    }
}

macro_rules! getters {
    ($kind:ident, $field:ident, $uid:ident, $total:ident, $iface:ident) => {
        #[doc = concat!("Bytes or packets (`", stringify!($field), "`) billed to `uid`; see the module docs for UNSUPPORTED.")]
        ///
        /// ```no_run
        #[doc = concat!("let v = qtag::", stringify!($uid), "(unsafe { libc::getuid() });")]
        /// assert!(v >= 0 || v == qtag::UNSUPPORTED);
        /// ```
        pub fn $uid(uid: u32) -> i64 {
            uid_stat(uid, |c| c.$field)
        }

        #[doc = concat!("`", stringify!($field), "` of all interfaces since the module loaded, or UNSUPPORTED.")]
        ///
        /// ```no_run
        #[doc = concat!("let v = qtag::", stringify!($total), "();")]
        /// ```
        pub fn $total() -> i64 {
            total_stat(|c| c.$field)
        }

        #[doc = concat!("`", stringify!($field), "` of one interface, or UNSUPPORTED.")]
        ///
        /// ```no_run
        #[doc = concat!("let v = qtag::", stringify!($iface), "(\"lo\");")]
        /// ```
        pub fn $iface(iface: &str) -> i64 {
            iface_stat(iface, |c| c.$field)
        }
    };
}

getters!(rx_bytes, rx_bytes, uid_rx_bytes, total_rx_bytes, iface_rx_bytes);
getters!(rx_packets, rx_packets, uid_rx_packets, total_rx_packets, iface_rx_packets);
getters!(tx_bytes, tx_bytes, uid_tx_bytes, total_tx_bytes, iface_tx_bytes);
getters!(tx_packets, tx_packets, uid_tx_packets, total_tx_packets, iface_tx_packets);
