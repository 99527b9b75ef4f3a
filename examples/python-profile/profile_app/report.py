"""The per-category table from the kernel's stats: each category's tag rows and the uid's
total (tag 0) on one interface, summed over counter sets; by default the growth between
two snapshots (this run's traffic)."""

import json

KEYS = ("rx_bytes", "rx_packets", "tx_bytes", "tx_packets")


class Line:
    """One line of the table; ``tag`` None for the untagged remainder."""

    def __init__(self, name, tag, traffic, total_bytes):
        self.name, self.tag, self.traffic = name, tag, traffic
        self.bytes = self.traffic["rx_bytes"] + self.traffic["tx_bytes"]
        self.share = 100.0 * self.bytes / total_bytes if total_bytes else 0.0


class Report:
    def __init__(self, after, before, uid, iface, period, categories):
        """``after``/``before``: qtag.Stats snapshots (``before`` None: since the module
        was loaded)."""
        self.uid, self.iface, self.period = uid, iface, period

        run = after if before is None else after.delta_since(before)

        def traffic(tag):
            c = run.sum(uid=uid, tag=tag, iface=iface)
            return {k: getattr(c, k) for k in KEYS}

        self.total = traffic(0)
        all_bytes = self.total["rx_bytes"] + self.total["tx_bytes"]
        self.categories = [Line(c.name, c.tag, traffic(c.tag), all_bytes) for c in categories]
        rest = {k: self.total[k] - sum(line.traffic[k] for line in self.categories) for k in KEYS}
        self.untagged = Line("untagged", None, rest, all_bytes)

    def text(self):
        out = [f"Traffic of uid {self.uid} on {self.iface} {self.period}, per category "
               "(kernel counters from /proc/net/xt_qtaguid/stats)", "",
               f"{'category':<20} {'tag':>8} {'rx bytes':>12} {'rx pkts':>9} "
               f"{'tx bytes':>12} {'tx pkts':>9} {'share':>7}"]

        def row(name, tag, t, share):
            out.append(f"{name:<20} {tag:>8} {t['rx_bytes']:>12} {t['rx_packets']:>9} "
                       f"{t['tx_bytes']:>12} {t['tx_packets']:>9} {share:>6.1f}%")
        for line in self.categories:
            row(line.name, hex(line.tag), line.traffic, line.share)
        row("untagged remainder", "-", self.untagged.traffic, self.untagged.share)
        row("uid total", "0x0", self.total, 100.0)
        out += ["", "The untagged remainder is the uid's traffic on sockets it did not tag: here the",
                "app's own local servers (each byte on lo is sent by one socket and received by",
                "another), plus anything else this uid did on lo meanwhile."]
        return "\n".join(out) + "\n"

    def json(self, svg):
        return json.dumps({
            "uid": self.uid, "iface": self.iface, "period": self.period,
            "total": self.total,
            "categories": [dict(name=c.name, tag=c.tag, **c.traffic, share=c.share)
                           for c in self.categories],
            "untagged": dict(**self.untagged.traffic, share=self.untagged.share),
            "svg": svg,
        }) + "\n"
