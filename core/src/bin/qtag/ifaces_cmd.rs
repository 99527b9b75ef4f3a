//! `qtag ifaces`: per-interface totals from iface_stat_fmt.

use std::io::Write;

use qtag::{Counters, IfaceFmt};
use serde_json::{json, Map, Value};

use crate::args::IfacesArgs;
use crate::fmt::{bytes, Table};

pub fn run(a: &IfacesArgs) -> qtag::Result<()> {
    let mut ifaces = IfaceFmt::read()?;
    ifaces.sort_by(|x, y| y.counters.total_bytes().cmp(&x.counters.total_bytes()).then(x.name.cmp(&y.name)));
    let text = if a.json {
        let v: Vec<Value> = ifaces
            .iter()
            .map(|i| {
                let mut m = Map::new();
                m.insert("iface".into(), json!(i.name));
                for (name, v) in Counters::NAMES.iter().zip(i.counters.to_array()) {
                    m.insert((*name).into(), json!(v));
                }
                Value::Object(m)
            })
            .collect();
        format!("{}\n", json!({ "ifaces": v }))
    } else {
        let mut t = Table::new(&[
            ("IFACE", false), ("RX", true), ("TX", true), ("RX PKTS", true), ("TX PKTS", true),
            ("RX TCP", true), ("RX UDP", true), ("TX TCP", true), ("TX UDP", true),
        ]);
        for i in &ifaces {
            let c = &i.counters;
            t.push(vec![
                i.name.clone(),
                bytes(c.rx_bytes, a.bytes),
                bytes(c.tx_bytes, a.bytes),
                c.rx_packets.to_string(),
                c.tx_packets.to_string(),
                bytes(c.rx_tcp_bytes, a.bytes),
                bytes(c.rx_udp_bytes, a.bytes),
                bytes(c.tx_tcp_bytes, a.bytes),
                bytes(c.tx_udp_bytes, a.bytes),
            ]);
        }
        t.render()
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
