//! `qtag sockets`: the tagged-socket listing.

use std::io::Write;

use qtag::CtrlListing;
use serde_json::{json, Map, Value};

use crate::args::SocketsArgs;
use crate::fmt::{tag_label, Table};

pub fn run(a: &SocketsArgs) -> qtag::Result<()> {
    let listing = match &a.file {
        Some(p) => CtrlListing::parse(&std::fs::read(p)?)?,
        None => CtrlListing::read()?,
    };
    let text = if a.json {
        let socks: Vec<Value> = listing
            .sockets
            .iter()
            .map(|s| json!({"sock": format!("{:x}", s.sock), "tag": s.tag, "uid": s.uid,
                            "pid": s.pid, "f_count": s.f_count}))
            .collect();
        let events: Map<String, Value> = listing.events.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        format!("{}\n", json!({"sockets": socks, "events": events}))
    } else {
        let mut t = Table::new(&[("SOCK", false), ("TAG", false), ("UID", true), ("PID", true), ("F_COUNT", true)]);
        for s in &listing.sockets {
            let tag = if s.tag == 0 { "0".to_string() } else { tag_label(s.tag) };
            t.push(vec![format!("{:x}", s.sock), tag, s.uid.to_string(), s.pid.to_string(), s.f_count.to_string()]);
        }
        let ev: Vec<String> = listing.events.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}{} tagged socket(s); events: {}\n", t.render(), listing.sockets.len(), ev.join(" "))
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
