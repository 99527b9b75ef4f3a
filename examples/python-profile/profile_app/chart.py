"""The SVG bar chart: received and sent bytes per category, a pair of bars each."""

from xml.sax.saxutils import escape

WIDTH, LABEL_W, BAR_MAX, ROW_H, TOP = 760, 170, 450, 56, 60
RX_COLOR, TX_COLOR = "#3b7dd8", "#e8833a"


def human(n):
    """1536 -> '1.5 KiB'."""
    v, units = float(n), ["B", "KiB", "MiB", "GiB", "TiB"]
    u = 0
    while abs(v) >= 1024 and u + 1 < len(units):
        v, u = v / 1024, u + 1
    return f"{n} B" if u == 0 else f"{v:.1f} {units[u]}"


def chart(report):
    lines = report.categories + [report.untagged]
    biggest = max([1] + [line.traffic[k] for line in lines for k in ("rx_bytes", "tx_bytes")])
    height = TOP + ROW_H * len(lines) + 40
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
         f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13">',
         '<rect width="100%" height="100%" fill="white"/>',
         f'<text x="16" y="26" font-size="17" font-weight="bold">Bytes per category '
         f'(uid {report.uid}, {escape(report.iface)}, {report.period})</text>']
    for i, line in enumerate(lines):
        y = TOP + ROW_H * i
        label = "untagged remainder" if line.tag is None else f"{line.name} ({line.tag:#x})"
        s.append(f'<text x="16" y="{y + 18}">{escape(label)}</text>')
        s.append(f'<text x="16" y="{y + 36}" fill="#666">{line.share:.1f}% of uid total</text>')
        for k, (v, color) in enumerate(((line.traffic["rx_bytes"], RX_COLOR),
                                        (line.traffic["tx_bytes"], TX_COLOR))):
            by = y + 4 + 22 * k
            w = max(1, BAR_MAX * max(v, 0) // biggest)
            s.append(f'<rect x="{LABEL_W}" y="{by}" width="{w}" height="18" fill="{color}"/>')
            s.append(f'<text x="{LABEL_W + w + 6}" y="{by + 14}">{human(v)}</text>')
    ly = height - 22
    s.append(f'<rect x="{LABEL_W}" y="{ly - 12}" width="14" height="14" fill="{RX_COLOR}"/>'
             f'<text x="{LABEL_W + 20}" y="{ly}">received</text>')
    s.append(f'<rect x="{LABEL_W + 110}" y="{ly - 12}" width="14" height="14" fill="{TX_COLOR}"/>'
             f'<text x="{LABEL_W + 130}" y="{ly}">sent</text>')
    s.append("</svg>")
    return "\n".join(s) + "\n"
