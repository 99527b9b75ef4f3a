//! The traffic between two snapshots, as a snapshot: every query works on it.

use std::collections::HashMap;

use crate::counters::Counters;
use crate::stats::{Stats, StatsRow};

impl Stats {
    /// What happened since `earlier`: this snapshot's rows with `earlier`'s counters of the
    /// same (iface, tag, uid, set) subtracted (clamped at 0, so rows reset by
    /// `delete_tag_data` in between count from 0). Rows only in `earlier` are dropped.
    /// Android's `startDataProfiling` / `stopDataProfiling` in one call.
    ///
    /// ```
    /// let h = qtag::STATS_HEADER;
    /// let before = qtag::Stats::parse(format!("{h}\n2 lo 0x2a 1000 0 {}\n", ["5"; 16].join(" ")).as_bytes())?;
    /// let after = qtag::Stats::parse(format!("{h}\n2 lo 0x2a 1000 0 {}\n", ["8"; 16].join(" ")).as_bytes())?;
    /// let d = after.delta_since(&before);
    /// assert_eq!(d.uid_tags(1000)[0].1.rx_bytes, 3);
    /// # Ok::<(), qtag::Error>(())
    /// ```
    pub fn delta_since(&self, earlier: &Stats) -> Stats {
        let old: HashMap<(&str, u32, u32, u32), Counters> = earlier
            .rows()
            .iter()
            .map(|r| ((earlier.iface_name(r.iface), r.tag, r.uid, r.set), r.counters))
            .collect();
        let rows = self
            .rows()
            .iter()
            .map(|r| {
                let key = (self.iface_name(r.iface), r.tag, r.uid, r.set);
                let counters = old.get(&key).map_or(r.counters, |o| r.counters.delta_since(o));
                StatsRow { counters, ..*r }
            })
            .collect();
        self.with_rows(rows)
    }
}
