//! Stats snapshots: a uniffi object over [`qtag::Stats`] whose queries (the core's) return
//! records, which Kotlin sees as data classes.

use std::sync::Arc;

use crate::{i32_of, u32_of, QtagError};

/// Byte and packet counters (IP-layer bytes), the stats file's 16 columns.
#[derive(uniffi::Record)]
pub struct Counters {
    pub rx_bytes: i64,
    pub rx_packets: i64,
    pub tx_bytes: i64,
    pub tx_packets: i64,
    pub rx_tcp_bytes: i64,
    pub rx_tcp_packets: i64,
    pub rx_udp_bytes: i64,
    pub rx_udp_packets: i64,
    pub rx_other_bytes: i64,
    pub rx_other_packets: i64,
    pub tx_tcp_bytes: i64,
    pub tx_tcp_packets: i64,
    pub tx_udp_bytes: i64,
    pub tx_udp_packets: i64,
    pub tx_other_bytes: i64,
    pub tx_other_packets: i64,
}

impl From<qtag::Counters> for Counters {
    fn from(c: qtag::Counters) -> Self {
        let l = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        Counters {
            rx_bytes: l(c.rx_bytes),
            rx_packets: l(c.rx_packets),
            tx_bytes: l(c.tx_bytes),
            tx_packets: l(c.tx_packets),
            rx_tcp_bytes: l(c.rx_tcp_bytes),
            rx_tcp_packets: l(c.rx_tcp_packets),
            rx_udp_bytes: l(c.rx_udp_bytes),
            rx_udp_packets: l(c.rx_udp_packets),
            rx_other_bytes: l(c.rx_other_bytes),
            rx_other_packets: l(c.rx_other_packets),
            tx_tcp_bytes: l(c.tx_tcp_bytes),
            tx_tcp_packets: l(c.tx_tcp_packets),
            tx_udp_bytes: l(c.tx_udp_bytes),
            tx_udp_packets: l(c.tx_udp_packets),
            tx_other_bytes: l(c.tx_other_bytes),
            tx_other_packets: l(c.tx_other_packets),
        }
    }
}

/// One row of the stats file.
#[derive(uniffi::Record)]
pub struct StatsRow {
    pub iface: String,
    /// 0 = the uid's total; tags from 0x80000000 up are negative.
    pub tag: i32,
    pub uid: i32,
    /// Counter set: 0 default, 1 foreground.
    pub set: i32,
    pub counters: Counters,
}

/// Which rows a query takes; `null` matches anything.
#[derive(uniffi::Record)]
pub struct StatsFilter {
    #[uniffi(default = None)]
    pub uid: Option<i32>,
    #[uniffi(default = None)]
    pub tag: Option<i32>,
    #[uniffi(default = None)]
    pub iface: Option<String>,
    #[uniffi(default = None)]
    pub set: Option<i32>,
}

#[derive(uniffi::Record)]
pub struct TagCounters {
    pub tag: i32,
    pub counters: Counters,
}

#[derive(uniffi::Record)]
pub struct IfaceCounters {
    pub iface: String,
    pub counters: Counters,
}

#[derive(uniffi::Record)]
pub struct SetCounters {
    pub set: i32,
    pub counters: Counters,
}

#[derive(uniffi::Record)]
pub struct UidCounters {
    pub uid: i32,
    pub counters: Counters,
}

/// A parsed snapshot of `/proc/net/xt_qtaguid/stats` (an unprivileged reader sees only
/// its own uid's rows). Totals use the tag-0 rows: a uid's total includes its tags.
#[derive(uniffi::Object)]
pub struct Stats(qtag::Stats);

type Result<T> = std::result::Result<T, QtagError>;

fn filter_of(f: &StatsFilter) -> qtag::Filter<'_> {
    qtag::Filter { uid: f.uid.map(u32_of), tag: f.tag.map(u32_of), iface: f.iface.as_deref(), set: f.set.map(u32_of) }
}

impl Stats {
    fn row(&self, r: &qtag::StatsRow) -> StatsRow {
        StatsRow {
            iface: self.0.iface_name(r.iface).to_owned(),
            tag: i32_of(r.tag),
            uid: i32_of(r.uid),
            set: i32_of(r.set),
            counters: r.counters.into(),
        }
    }
}

#[uniffi::export]
impl Stats {
    /// Read and parse `/proc/net/xt_qtaguid/stats`.
    #[uniffi::constructor]
    pub fn read() -> Result<Arc<Self>> {
        Ok(Arc::new(Stats(qtag::Stats::read()?)))
    }

    /// Read and parse a stats file at another path.
    #[uniffi::constructor]
    pub fn read_from(path: String) -> Result<Arc<Self>> {
        Ok(Arc::new(Stats(qtag::Stats::read_from(path)?)))
    }

    /// Parse the text of a stats file.
    #[uniffi::constructor]
    pub fn parse(text: String) -> Result<Arc<Self>> {
        Ok(Arc::new(Stats(qtag::Stats::parse(text.as_bytes())?)))
    }

    /// Every row, in file order.
    pub fn rows(&self) -> Vec<StatsRow> {
        self.0.rows().iter().map(|r| self.row(r)).collect()
    }

    /// The rows matching `filter`, in file order.
    pub fn matching(&self, filter: StatsFilter) -> Vec<StatsRow> {
        self.0.matching(&filter_of(&filter)).map(|r| self.row(r)).collect()
    }

    /// The counters of the rows matching `filter`, added up.
    pub fn sum(&self, filter: StatsFilter) -> Counters {
        self.0.sum(&filter_of(&filter)).into()
    }

    /// Everything billed to `uid` (its tag-0 rows, all interfaces and counter sets).
    pub fn uid_total(&self, uid: i32) -> Counters {
        self.0.uid_total(u32_of(uid)).into()
    }

    /// `uid`'s traffic per tag (tags other than 0), sorted by tag as unsigned.
    pub fn uid_tags(&self, uid: i32) -> Vec<TagCounters> {
        let v = self.0.uid_tags(u32_of(uid));
        v.into_iter().map(|(t, c)| TagCounters { tag: i32_of(t), counters: c.into() }).collect()
    }

    /// Totals per interface (every uid, or only `uid`), sorted by name.
    #[uniffi::method(default(uid = None))]
    pub fn by_iface(&self, uid: Option<i32>) -> Vec<IfaceCounters> {
        let v = self.0.by_iface(uid.map(u32_of));
        v.into_iter().map(|(i, c)| IfaceCounters { iface: i.to_owned(), counters: c.into() }).collect()
    }

    /// Totals per counter set (every uid, or only `uid`), sorted by set.
    #[uniffi::method(default(uid = None))]
    pub fn by_set(&self, uid: Option<i32>) -> Vec<SetCounters> {
        let v = self.0.by_set(uid.map(u32_of));
        v.into_iter().map(|(s, c)| SetCounters { set: i32_of(s), counters: c.into() }).collect()
    }

    /// Totals per uid, sorted by uid as unsigned.
    pub fn by_uid(&self) -> Vec<UidCounters> {
        self.0.by_uid().into_iter().map(|(u, c)| UidCounters { uid: i32_of(u), counters: c.into() }).collect()
    }

    /// Everything this reader can see, added up.
    pub fn total(&self) -> Counters {
        self.0.total().into()
    }

    /// Interface names in order of first appearance.
    pub fn ifaces(&self) -> Vec<String> {
        self.0.ifaces().map(str::to_owned).collect()
    }

    /// The traffic between `earlier` and this snapshot (rows reset in between count from
    /// 0), a snapshot itself.
    pub fn delta_since(&self, earlier: Arc<Stats>) -> Arc<Stats> {
        Arc::new(Stats(self.0.delta_since(&earlier.0)))
    }
}
