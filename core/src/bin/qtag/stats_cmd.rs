//! `qtag stats`: the stats table, or JSON.

use std::collections::BTreeMap;
use std::io::Write;

use qtag::{Counters, Filter, Stats, StatsRow};
use serde_json::{json, Map, Value};

use crate::args::StatsArgs;
use crate::fmt::{bytes, set_name, tag_label, Table};

pub fn run(a: &StatsArgs) -> qtag::Result<()> {
    let stats = match &a.file {
        Some(p) => Stats::read_from(p)?,
        None => Stats::read()?,
    };
    let filter = Filter {
        uid: a.uid,
        tag: a.tag.map(|t| t.0),
        iface: a.iface.as_deref(),
        set: a.set.map(|s| s.0),
    };
    let rows: Vec<&StatsRow> = stats.matching(&filter).collect();
    let text = if a.json { json_text(&stats, &rows) } else { table_text(&stats, &rows, a) };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// One row as a JSON object: iface, tag, uid, set and the 16 counters.
pub fn row_json(stats: &Stats, r: &StatsRow) -> Value {
    let mut m = Map::new();
    m.insert("iface".into(), json!(stats.iface_name(r.iface)));
    m.insert("tag".into(), json!(r.tag));
    m.insert("uid".into(), json!(r.uid));
    m.insert("set".into(), json!(r.set));
    for (name, v) in Counters::NAMES.iter().zip(r.counters.to_array()) {
        m.insert((*name).into(), json!(v));
    }
    Value::Object(m)
}

fn json_text(stats: &Stats, rows: &[&StatsRow]) -> String {
    let rows: Vec<Value> = rows.iter().map(|r| row_json(stats, r)).collect();
    let mut s = json!({ "rows": rows }).to_string();
    s.push('\n');
    s
}

type Ifaces<'a> = Vec<(&'a str, Counters)>;
type Sets<'a> = Vec<(u32, Ifaces<'a>)>;
type Tags<'a> = Vec<(u32, Sets<'a>)>;

fn weight(rows: &[(&str, Counters)]) -> u64 {
    rows.iter().map(|(_, c)| c.total_bytes()).sum()
}

fn table_text(stats: &Stats, rows: &[&StatsRow], a: &StatsArgs) -> String {
    // uid → tag → set → ifaces
    let mut tree: BTreeMap<u32, BTreeMap<u32, BTreeMap<u32, Ifaces<'_>>>> = BTreeMap::new();
    for r in rows.iter().filter(|r| a.all || !r.counters.is_zero()) {
        tree.entry(r.uid)
            .or_default()
            .entry(r.tag)
            .or_default()
            .entry(r.set)
            .or_default()
            .push((stats.iface_name(r.iface), r.counters));
    }
    // Sort every level by bytes, biggest first (a uid by its biggest tag, i.e. its total).
    let mut uids: Vec<(u32, Tags<'_>)> = tree
        .into_iter()
        .map(|(uid, tags)| {
            let mut tags: Tags<'_> = tags
                .into_iter()
                .map(|(tag, sets)| {
                    let mut sets: Sets<'_> = sets.into_iter().collect();
                    for (_, ifs) in &mut sets {
                        ifs.sort_by(|x, y| y.1.total_bytes().cmp(&x.1.total_bytes()).then(x.0.cmp(y.0)));
                    }
                    sets.sort_by_key(|(s, ifs)| (std::cmp::Reverse(weight(ifs)), *s));
                    (tag, sets)
                })
                .collect();
            let tw = |sets: &Sets<'_>| sets.iter().map(|(_, i)| weight(i)).sum::<u64>();
            tags.sort_by_key(|(t, sets)| (std::cmp::Reverse(tw(sets)), *t));
            (uid, tags)
        })
        .collect();
    let uw = |tags: &Tags<'_>| {
        tags.iter().map(|(_, s)| s.iter().map(|(_, i)| weight(i)).sum::<u64>()).max().unwrap_or(0)
    };
    uids.sort_by_key(|(u, tags)| (std::cmp::Reverse(uw(tags)), *u));

    let mut t = Table::new(&[
        ("UID", true), ("TAG", false), ("SET", false), ("IFACE", false),
        ("RX", true), ("TX", true), ("RX PKTS", true), ("TX PKTS", true),
    ]);
    for (uid, tags) in &uids {
        let mut first_uid = true;
        for (tag, sets) in tags {
            let mut first_tag = true;
            for (set, ifs) in sets {
                let mut first_set = true;
                for (iface, c) in ifs {
                    t.push(vec![
                        if first_uid { uid.to_string() } else { String::new() },
                        if first_tag { tag_label(*tag) } else { String::new() },
                        if first_set { set_name(*set) } else { String::new() },
                        (*iface).to_string(),
                        bytes(c.rx_bytes, a.bytes),
                        bytes(c.tx_bytes, a.bytes),
                        c.rx_packets.to_string(),
                        c.tx_packets.to_string(),
                    ]);
                    (first_uid, first_tag, first_set) = (false, false, false);
                }
            }
        }
    }
    if uids.is_empty() {
        return "no traffic recorded (for the uids you may see)\n".into();
    }
    t.render()
}
