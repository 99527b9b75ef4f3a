//! `qtag top`: per-uid and per-tag rates, refreshed until `q`.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use qtag::{Counters, Filter, Stats};

use crate::args::TopArgs;
use crate::fmt::{human_bytes, rate, tag_label, Table};
use crate::term::{rows, stdout_is_tty, wait_key, RawMode};

type Snapshot = HashMap<(u32, u32), Counters>;

fn snapshot() -> qtag::Result<Snapshot> {
    let s = Stats::read()?;
    Ok(s.aggregate(&Filter::default(), |r| (r.uid, r.tag)).into_iter().collect())
}

fn frame(now: &Snapshot, prev: Option<&Snapshot>, secs: f64, a: &TopArgs, limit: usize) -> String {
    let mut lines: Vec<((u32, u32), f64, f64, Counters)> = now
        .iter()
        .map(|(k, c)| {
            let d = prev.and_then(|p| p.get(k)).map_or(Counters::default(), |old| c.delta_since(old));
            let (rx, tx) = match prev {
                Some(_) => (d.rx_bytes as f64 / secs, d.tx_bytes as f64 / secs),
                None => (0.0, 0.0),
            };
            (*k, rx, tx, *c)
        })
        .collect();
    lines.sort_by(|x, y| {
        (y.1 + y.2)
            .total_cmp(&(x.1 + x.2))
            .then(y.3.total_bytes().cmp(&x.3.total_bytes()))
            .then(x.0.cmp(&y.0))
    });
    let mut t = Table::new(&[
        ("UID", true), ("TAG", false), ("RX RATE", true), ("TX RATE", true),
        ("RX TOTAL", true), ("TX TOTAL", true),
    ]);
    for ((uid, tag), rx, tx, c) in lines.iter().take(limit) {
        let (rx, tx) = if prev.is_some() { (rate(*rx), rate(*tx)) } else { ("-".into(), "-".into()) };
        t.push(vec![uid.to_string(), tag_label(*tag), rx, tx, human_bytes(c.rx_bytes), human_bytes(c.tx_bytes)]);
    }
    let uids = now.keys().filter(|(_, t)| *t == 0).count();
    format!(
        "qtag top: every {:.1}s, {} uid(s), {} tagged categories; q quits\n\n{}",
        a.interval,
        uids,
        now.len() - uids,
        t.render()
    )
}

pub fn run(a: &TopArgs) -> qtag::Result<()> {
    let tty = stdout_is_tty();
    let raw = RawMode::enter();
    let mut out = std::io::stdout().lock();
    if tty {
        // Alternate screen, hidden cursor.
        out.write_all(b"\x1b[?1049h\x1b[?25l")?;
    }
    let result = (|| -> qtag::Result<()> {
        let interval = Duration::from_secs_f64(a.interval);
        let mut prev: Option<(Snapshot, Instant)> = None;
        let mut n = 0u64;
        loop {
            let now = snapshot()?;
            let at = Instant::now();
            let secs = prev.as_ref().map_or(a.interval, |(_, t)| at.duration_since(*t).as_secs_f64().max(1e-3));
            let limit = a.rows.unwrap_or_else(|| rows().map_or(usize::MAX, |r| r.saturating_sub(4).max(1)));
            let text = frame(&now, prev.as_ref().map(|p| &p.0), secs, a, limit);
            if tty {
                out.write_all(b"\x1b[H\x1b[2J")?;
                out.write_all(text.replace('\n', "\r\n").as_bytes())?;
            } else {
                out.write_all(text.as_bytes())?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
            n += 1;
            if a.iterations != 0 && n >= a.iterations {
                return Ok(());
            }
            prev = Some((now, at));
            let deadline = at + interval;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                if !raw.active() {
                    std::thread::sleep(left);
                    break;
                }
                if let Some(b'q' | b'Q' | 3 | 4) = wait_key(left) {
                    return Ok(());
                }
            }
        }
    })();
    if tty {
        out.write_all(b"\x1b[?25h\x1b[?1049l")?;
        out.flush()?;
    }
    drop(raw);
    result
}
