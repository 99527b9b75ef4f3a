"""Host tests of the table and the chart (no kernel module: stats text parsed by qtag).
Run: PYTHONPATH=build/python-site python3 -m pytest examples/python-profile"""
import json
import os
import sys
import xml.etree.ElementTree as ET

import qtag

sys.path.insert(0, os.path.dirname(__file__))
from profile_app.chart import chart, human  # noqa: E402
from profile_app.report import Report  # noqa: E402
from profile_app.work import CATEGORIES  # noqa: E402

HEADER = ("idx iface acct_tag_hex uid_tag_int cnt_set rx_bytes rx_packets tx_bytes tx_packets "
          "rx_tcp_bytes rx_tcp_packets rx_udp_bytes rx_udp_packets rx_other_bytes "
          "rx_other_packets tx_tcp_bytes tx_tcp_packets tx_udp_bytes tx_udp_packets "
          "tx_other_bytes tx_other_packets")


def stats(rows):
    lines = [HEADER] + [f"{i} {iface} {tag << 32:#x} {uid} {cset} {c[0]} {c[1]} {c[2]} {c[3]}"
                        + " 0" * 12 for i, (iface, tag, uid, cset, c) in enumerate(rows, start=2)]
    return qtag.Stats.parse("\n".join(lines) + "\n")


BEFORE = stats([("lo", 0, 1000, 0, (100, 1, 100, 1)), ("lo", 0x1002, 1000, 0, (50, 1, 0, 0))])
AFTER = stats([
    ("lo", 0, 1000, 0, (1100, 11, 700, 9)), ("lo", 0, 1000, 1, (1000, 10, 400, 2)),
    ("lo", 0x1002, 1000, 0, (950, 7, 100, 3)), ("lo", 0x1002, 1000, 1, (100, 1, 0, 0)),
    ("lo", 0x1003, 1000, 0, (50, 1, 700, 5)),
    ("eth0", 0x1001, 1000, 0, (5000, 5, 5000, 5)), ("lo", 0x1001, 1001, 0, (5000, 5, 5000, 5)),
])


def test_delta_sums_sets_and_stays_on_iface_and_uid():
    r = Report(AFTER, BEFORE, 1000, "lo", "now", CATEGORIES)
    assert r.total == {"rx_bytes": 2000, "rx_packets": 20, "tx_bytes": 1000, "tx_packets": 10}
    assert r.categories[0].traffic == dict.fromkeys(r.total, 0)
    assert r.categories[1].traffic == {"rx_bytes": 1000, "rx_packets": 7, "tx_bytes": 100, "tx_packets": 3}
    assert r.untagged.traffic == {"rx_bytes": 950, "rx_packets": 12, "tx_bytes": 200, "tx_packets": 2}
    assert abs(sum(c.share for c in r.categories) + r.untagged.share - 100) < 1e-9


def test_cumulative_and_empty():
    assert Report(AFTER, None, 1000, "lo", "x", CATEGORIES).total["rx_bytes"] == 2100
    r = Report(stats([]), None, 1000, "lo", "x", CATEGORIES)
    assert all(c.share == 0 for c in r.categories) and r.untagged.share == 0


def test_json_text_and_chart():
    r = Report(AFTER, BEFORE, 1000, "lo", "now", CATEGORIES)
    j = r.json("/tmp/a.svg")
    assert j.count("\n") == 1 and json.loads(j)["categories"][1]["name"] == "images"
    assert "\nimages                 0x1002         1000 " in r.text()
    svg = ET.fromstring(chart(r))
    assert len(svg.findall("{http://www.w3.org/2000/svg}rect")) == 4 * 2 + 3
    assert human(512) == "512 B" and human(1536) == "1.5 KiB"
