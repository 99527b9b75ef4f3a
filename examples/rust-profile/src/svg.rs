//! The SVG bar chart: received and sent bytes per category, one pair of bars each.

use crate::report::{Line, Report};

const WIDTH: i64 = 760;
const LABEL_W: i64 = 170;
const BAR_MAX: i64 = 450;
const ROW_H: i64 = 56;
const TOP: i64 = 60;
const RX_COLOR: &str = "#3b7dd8";
const TX_COLOR: &str = "#e8833a";

/// 1536 -> "1.5 KiB".
pub fn human(bytes: i64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v.abs() >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

pub fn chart(r: &Report) -> String {
    let lines: Vec<&Line> = r.categories.iter().chain(std::iter::once(&r.untagged)).collect();
    let max = lines
        .iter()
        .flat_map(|l| [l.traffic.rx_bytes, l.traffic.tx_bytes])
        .max()
        .unwrap_or(0)
        .max(1);
    let height = TOP + ROW_H * lines.len() as i64 + 40;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"13\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"16\" y=\"26\" font-size=\"17\" font-weight=\"bold\">Bytes per category \
         (uid {}, {}, {})</text>\n",
        r.uid,
        escape(&r.iface),
        r.period
    );
    for (i, l) in lines.iter().enumerate() {
        let y = TOP + ROW_H * i as i64;
        let label = match l.tag {
            Some(t) => format!("{} ({t:#x})", l.name),
            None => "untagged remainder".into(),
        };
        s += &format!(
            "<text x=\"16\" y=\"{}\">{}</text>\n<text x=\"16\" y=\"{}\" fill=\"#666\">{:.1}% of uid total</text>\n",
            y + 18,
            escape(&label),
            y + 36,
            l.share
        );
        for (k, (v, color)) in [(l.traffic.rx_bytes, RX_COLOR), (l.traffic.tx_bytes, TX_COLOR)].into_iter().enumerate() {
            let by = y + 4 + 22 * k as i64;
            let w = (BAR_MAX * v.max(0) / max).max(1);
            s += &format!(
                "<rect x=\"{LABEL_W}\" y=\"{by}\" width=\"{w}\" height=\"18\" fill=\"{color}\"/>\n\
                 <text x=\"{}\" y=\"{}\">{}</text>\n",
                LABEL_W + w + 6,
                by + 14,
                human(v)
            );
        }
    }
    let ly = height - 22;
    s += &format!(
        "<rect x=\"{LABEL_W}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"{RX_COLOR}\"/>\
         <text x=\"{}\" y=\"{ly}\">received</text>\n\
         <rect x=\"{}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"{TX_COLOR}\"/>\
         <text x=\"{}\" y=\"{ly}\">sent</text>\n</svg>\n",
        ly - 12,
        LABEL_W + 20,
        LABEL_W + 110,
        ly - 12,
        LABEL_W + 130
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(3 * 1024 * 1024), "3.0 MiB");
    }

    #[test]
    fn chart_has_a_bar_pair_per_line() {
        let r = crate::report::Report::new(&qtag::Stats::default(), 7, "lo", "now", &crate::work::CATEGORIES);
        let svg = chart(&r);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        // 4 lines × 2 bars + background + 2 legend swatches.
        assert_eq!(svg.matches("<rect").count(), 4 * 2 + 3);
        assert!(svg.contains("api (0x1001)") && svg.contains("untagged remainder"));
    }
}
