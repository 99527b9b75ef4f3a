'use strict';
// The SVG bar chart: received and sent bytes per category, a pair of bars each.

const WIDTH = 760, LABEL_W = 170, BAR_MAX = 450, ROW_H = 56, TOP = 60;
const RX_COLOR = '#3b7dd8', TX_COLOR = '#e8833a';

/** 1536 -> "1.5 KiB". */
function human(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n, u = 0;
  while (Math.abs(v) >= 1024 && u + 1 < units.length) { v /= 1024; u++; }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

const escape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function chart(r) {
  const lines = [...r.categories, r.untagged];
  const biggest = Math.max(1, ...lines.flatMap((l) => [l.traffic.rxBytes, l.traffic.txBytes]));
  const height = TOP + ROW_H * lines.length + 40;
  const s = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
      `viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="13">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="16" y="26" font-size="17" font-weight="bold">Bytes per category ` +
      `(uid ${r.uid}, ${escape(r.iface)}, ${r.period})</text>`,
  ];
  lines.forEach((l, i) => {
    const y = TOP + ROW_H * i;
    const label = l.tag === null ? 'untagged remainder' : `${l.name} (0x${l.tag.toString(16)})`;
    s.push(`<text x="16" y="${y + 18}">${escape(label)}</text>`);
    s.push(`<text x="16" y="${y + 36}" fill="#666">${l.share.toFixed(1)}% of uid total</text>`);
    [[l.traffic.rxBytes, RX_COLOR], [l.traffic.txBytes, TX_COLOR]].forEach(([v, color], k) => {
      const by = y + 4 + 22 * k;
      const w = Math.max(1, Math.floor((BAR_MAX * Math.max(v, 0)) / biggest));
      s.push(`<rect x="${LABEL_W}" y="${by}" width="${w}" height="18" fill="${color}"/>`);
      s.push(`<text x="${LABEL_W + w + 6}" y="${by + 14}">${human(v)}</text>`);
    });
  });
  const ly = height - 22;
  s.push(`<rect x="${LABEL_W}" y="${ly - 12}" width="14" height="14" fill="${RX_COLOR}"/>` +
    `<text x="${LABEL_W + 20}" y="${ly}">received</text>`);
  s.push(`<rect x="${LABEL_W + 110}" y="${ly - 12}" width="14" height="14" fill="${TX_COLOR}"/>` +
    `<text x="${LABEL_W + 130}" y="${ly}">sent</text>`);
  s.push('</svg>');
  return s.join('\n') + '\n';
}

module.exports = { chart, human };
