//! Parse throughput of `Stats::parse` on a synthetic stats file.
//!
//!     cargo run --release -p qtag --example stats_bench [ROWS]
//!
//! Prints rows/s and MB/s for parsing alone (the text is built in memory first).

use std::fmt::Write;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize = std::env::args().nth(1).map_or(Ok(1_000_000), |s| s.parse())?;
    let mut text = String::with_capacity(rows * 120);
    text.push_str(qtag::STATS_HEADER);
    text.push('\n');
    let ifaces = ["lo", "eth0", "wlan0", "rmnet_data0"];
    for i in 0..rows {
        let (uid, tag) = (10_000 + (i / 8) % 5000, if i % 4 == 0 { 0u64 } else { ((i % 97) as u64) << 32 });
        write!(text, "{} {} 0x{:x} {} {}", i + 2, ifaces[i % 4], tag, uid, i % 2)?;
        // Realistic: set 1 rows and the "other" protocol columns are mostly zero.
        for c in 0..16u64 {
            let v = if i % 2 == 1 || c >= 8 && c % 4 < 2 { 0 } else { (i as u64 * 7919 + c * 104_729) % 1_000_000_000 };
            write!(text, " {v}")?;
        }
        text.push('\n');
    }
    let bytes = text.as_bytes();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let s = qtag::Stats::parse(bytes)?;
        let dt = t.elapsed().as_secs_f64();
        assert_eq!(s.rows().len(), rows);
        best = best.min(dt);
    }
    println!(
        "{rows} rows, {:.1} MB: best {:.1} ms = {:.2} M rows/s, {:.0} MB/s",
        bytes.len() as f64 / 1e6,
        best * 1e3,
        rows as f64 / best / 1e6,
        bytes.len() as f64 / best / 1e6
    );
    Ok(())
}
