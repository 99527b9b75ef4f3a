//! The per-category table, computed from the kernel's stats: rows of each category's tag
//! and the uid's total (tag 0) on one interface, summed over counter sets.

use qtag::{Filter, Stats};

use crate::work::Category;

/// Bytes and packets of one line of the table. Signed so that an untagged remainder that
/// came out negative (which would be a kernel accounting bug) shows as such.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub rx_bytes: i64,
    pub rx_packets: i64,
    pub tx_bytes: i64,
    pub tx_packets: i64,
}

impl Traffic {
    fn of(stats: &Stats, filter: &Filter<'_>) -> Traffic {
        let c = stats.sum(filter);
        let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        Traffic {
            rx_bytes: i(c.rx_bytes),
            rx_packets: i(c.rx_packets),
            tx_bytes: i(c.tx_bytes),
            tx_packets: i(c.tx_packets),
        }
    }

    pub fn bytes(&self) -> i64 {
        self.rx_bytes + self.tx_bytes
    }

    fn minus(self, o: Traffic) -> Traffic {
        Traffic {
            rx_bytes: self.rx_bytes - o.rx_bytes,
            rx_packets: self.rx_packets - o.rx_packets,
            tx_bytes: self.tx_bytes - o.tx_bytes,
            tx_packets: self.tx_packets - o.tx_packets,
        }
    }
}

/// One line of the table.
pub struct Line {
    pub name: &'static str,
    /// `None` for the untagged remainder.
    pub tag: Option<u32>,
    pub traffic: Traffic,
    /// Percent of the uid total's bytes (rx + tx).
    pub share: f64,
}

pub struct Report {
    pub uid: u32,
    pub iface: String,
    /// "during this run" or "since the module was loaded".
    pub period: &'static str,
    pub total: Traffic,
    pub categories: Vec<Line>,
    pub untagged: Line,
}

fn share(part: &Traffic, total: &Traffic) -> f64 {
    if total.bytes() == 0 {
        0.0
    } else {
        100.0 * part.bytes() as f64 / total.bytes() as f64
    }
}

impl Report {
    pub fn new(stats: &Stats, uid: u32, iface: &str, period: &'static str, categories: &[&Category]) -> Report {
        let on = |tag| Filter { uid: Some(uid), tag: Some(tag), iface: Some(iface), set: None };
        let total = Traffic::of(stats, &on(0));
        let mut tagged = Traffic::default();
        let categories: Vec<Line> = categories
            .iter()
            .map(|c| {
                let t = Traffic::of(stats, &on(c.tag));
                tagged = Traffic {
                    rx_bytes: tagged.rx_bytes + t.rx_bytes,
                    rx_packets: tagged.rx_packets + t.rx_packets,
                    tx_bytes: tagged.tx_bytes + t.tx_bytes,
                    tx_packets: tagged.tx_packets + t.tx_packets,
                };
                Line { name: c.name, tag: Some(c.tag), traffic: t, share: share(&t, &total) }
            })
            .collect();
        let rest = total.minus(tagged);
        let untagged = Line { name: "untagged", tag: None, traffic: rest, share: share(&rest, &total) };
        Report { uid, iface: iface.to_owned(), period, total, categories, untagged }
    }

    /// The table for people.
    pub fn text(&self) -> String {
        let mut s = format!(
            "Traffic of uid {} on {} {}, per category (kernel counters from \
             /proc/net/xt_qtaguid/stats)\n\n",
            self.uid, self.iface, self.period
        );
        s += &format!(
            "{:<20} {:>8} {:>12} {:>9} {:>12} {:>9} {:>7}\n",
            "category", "tag", "rx bytes", "rx pkts", "tx bytes", "tx pkts", "share"
        );
        let row = |name: &str, tag: &str, t: &Traffic, share: f64| {
            format!(
                "{:<20} {:>8} {:>12} {:>9} {:>12} {:>9} {:>6.1}%\n",
                name, tag, t.rx_bytes, t.rx_packets, t.tx_bytes, t.tx_packets, share
            )
        };
        for l in &self.categories {
            s += &row(l.name, &format!("{:#x}", l.tag.unwrap_or(0)), &l.traffic, l.share);
        }
        s += &row("untagged remainder", "-", &self.untagged.traffic, self.untagged.share);
        s += &row("uid total", "0x0", &self.total, 100.0);
        s += "\nThe untagged remainder is the uid's traffic on sockets it did not tag: here the\n\
              app's own local servers (each byte on lo is sent by one socket and received by\n\
              another), plus anything else this uid did on lo meanwhile.\n";
        s
    }

    /// The same table as one JSON object.
    pub fn json(&self, svg: Option<&str>) -> String {
        let traffic = |t: &Traffic| {
            format!(
                "\"rx_bytes\":{},\"rx_packets\":{},\"tx_bytes\":{},\"tx_packets\":{}",
                t.rx_bytes, t.rx_packets, t.tx_bytes, t.tx_packets
            )
        };
        let cats: Vec<String> = self
            .categories
            .iter()
            .map(|l| {
                format!(
                    "{{\"name\":\"{}\",\"tag\":{},{},\"share\":{}}}",
                    l.name,
                    l.tag.unwrap_or(0),
                    traffic(&l.traffic),
                    l.share
                )
            })
            .collect();
        let svg = match svg {
            Some(p) => format!("\"{}\"", p.replace('\\', "\\\\").replace('"', "\\\"")),
            None => "null".into(),
        };
        format!(
            "{{\"uid\":{},\"iface\":\"{}\",\"period\":\"{}\",\"total\":{{{}}},\"categories\":[{}],\
             \"untagged\":{{{},\"share\":{}}},\"svg\":{svg}}}\n",
            self.uid,
            self.iface,
            self.period,
            traffic(&self.total),
            cats.join(","),
            traffic(&self.untagged.traffic),
            self.untagged.share
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::work::CATEGORIES;

    fn stats() -> Stats {
        let row = |idx: u32, iface: &str, tag: u64, uid: u32, set: u32, c: [u64; 4]| {
            format!(
                "{idx} {iface} {:#x} {uid} {set} {} {} {} {} 0 0 0 0 0 0 0 0 0 0 0 0\n",
                tag << 32,
                c[0],
                c[1],
                c[2],
                c[3]
            )
        };
        let mut text = format!("{}\n", qtag::STATS_HEADER);
        text += &row(2, "lo", 0, 1000, 0, [1000, 10, 600, 8]);
        text += &row(3, "lo", 0, 1000, 1, [1000, 10, 400, 2]);
        text += &row(4, "lo", 0x1002, 1000, 0, [900, 6, 100, 3]);
        text += &row(5, "lo", 0x1002, 1000, 1, [100, 1, 0, 0]);
        text += &row(6, "lo", 0x1003, 1000, 0, [50, 1, 700, 5]);
        text += &row(7, "eth0", 0x1001, 1000, 0, [5000, 5, 5000, 5]);
        text += &row(8, "lo", 0x1001, 1001, 0, [5000, 5, 5000, 5]);
        Stats::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn rows_sum_over_sets_and_stay_on_iface_and_uid() {
        let r = Report::new(&stats(), 1000, "lo", "now", &CATEGORIES);
        assert_eq!(r.total, Traffic { rx_bytes: 2000, rx_packets: 20, tx_bytes: 1000, tx_packets: 10 });
        assert_eq!(r.categories[0].traffic, Traffic::default());
        assert_eq!(r.categories[1].traffic, Traffic { rx_bytes: 1000, rx_packets: 7, tx_bytes: 100, tx_packets: 3 });
        assert_eq!(r.untagged.traffic, Traffic { rx_bytes: 950, rx_packets: 12, tx_bytes: 200, tx_packets: 2 });
    }

    #[test]
    fn shares_add_up_to_100() {
        let r = Report::new(&stats(), 1000, "lo", "now", &CATEGORIES);
        let sum: f64 = r.categories.iter().map(|l| l.share).sum::<f64>() + r.untagged.share;
        assert!((sum - 100.0).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn no_traffic_gives_zero_shares() {
        let r = Report::new(&Stats::default(), 1000, "lo", "now", &CATEGORIES);
        assert!(r.categories.iter().all(|l| l.share == 0.0) && r.untagged.share == 0.0);
    }

    #[test]
    fn json_is_one_line_with_every_category() {
        let j = Report::new(&stats(), 1000, "lo", "now", &CATEGORIES).json(Some("/tmp/a \"b\".svg"));
        assert_eq!(j.lines().count(), 1);
        for c in CATEGORIES {
            assert!(j.contains(&format!("\"name\":\"{}\",\"tag\":{}", c.name, c.tag)));
        }
        assert!(j.contains("\"svg\":\"/tmp/a \\\"b\\\".svg\""));
    }
}
