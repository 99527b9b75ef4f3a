//! Text formatting shared by the subcommands.

/// Bytes in IEC units: `512 B`, `1.5 KiB`, `3.2 GiB`.
pub fn human_bytes(v: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if v < 1024 {
        return format!("{v} B");
    }
    let mut x = v as f64;
    let mut u = 0;
    while x >= 1024.0 && u < UNITS.len() - 1 {
        x /= 1024.0;
        u += 1;
    }
    format!("{x:.1} {}", UNITS[u])
}

/// Bytes as asked: human units or exact.
pub fn bytes(v: u64, exact: bool) -> String {
    if exact { v.to_string() } else { human_bytes(v) }
}

/// A rate in bytes per second.
pub fn rate(v: f64) -> String {
    format!("{}/s", human_bytes(v.max(0.0).round() as u64))
}

/// How a tag is shown: `total` for 0, the Android name for reserved ones, else hex.
pub fn tag_label(tag: u32) -> String {
    if tag == 0 {
        return "total".into();
    }
    match qtag::tag_name(tag) {
        Some(n) => n.trim_start_matches("TAG_SYSTEM_").to_ascii_lowercase(),
        None => format!("{tag:#x}"),
    }
}

/// How a counter set is shown.
pub fn set_name(set: u32) -> String {
    match set {
        0 => "default".into(),
        1 => "foreground".into(),
        n => n.to_string(),
    }
}

/// A table printed with columns padded to their widest cell; `right[i]` right-aligns.
pub struct Table {
    head: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(head: &[(&'static str, bool)]) -> Table {
        Table {
            head: head.iter().map(|h| h.0).collect(),
            right: head.iter().map(|h| h.1).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    pub fn render(&self) -> String {
        let n = self.head.len();
        let mut w: Vec<usize> = self.head.iter().map(|h| h.len()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
            let mut s = String::new();
            for (i, c) in cells.enumerate().take(n) {
                if i > 0 {
                    s.push_str("  ");
                }
                let pad = w[i].saturating_sub(c.chars().count());
                if self.right[i] {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(s.trim_end());
            out.push('\n');
        };
        line(&mut out, &mut self.head.iter().copied());
        for r in &self.rows {
            line(&mut out, &mut r.iter().map(String::as_str));
        }
        out
    }
}
