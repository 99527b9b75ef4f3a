"""Stats as typed records: the core parses and answers the queries; these dataclasses
carry the answers."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

from . import _native


@dataclass(frozen=True)
class Counters:
    """Byte and packet counters of a stats row (IP-layer bytes), in file column order."""

    rx_bytes: int = 0
    rx_packets: int = 0
    tx_bytes: int = 0
    tx_packets: int = 0
    rx_tcp_bytes: int = 0
    rx_tcp_packets: int = 0
    rx_udp_bytes: int = 0
    rx_udp_packets: int = 0
    rx_other_bytes: int = 0
    rx_other_packets: int = 0
    tx_tcp_bytes: int = 0
    tx_tcp_packets: int = 0
    tx_udp_bytes: int = 0
    tx_udp_packets: int = 0
    tx_other_bytes: int = 0
    tx_other_packets: int = 0

    @classmethod
    def _of(cls, values: Sequence[int]) -> "Counters":
        return cls(*values)

    def as_tuple(self) -> Tuple[int, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    @property
    def total_bytes(self) -> int:
        return self.rx_bytes + self.tx_bytes

    @property
    def total_packets(self) -> int:
        return self.rx_packets + self.tx_packets

    def is_zero(self) -> bool:
        return not any(self.as_tuple())

    def __add__(self, other: "Counters") -> "Counters":
        if not isinstance(other, Counters):
            return NotImplemented
        return Counters(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple())))

    def __sub__(self, other: "Counters") -> "Counters":
        """Counter-wise difference, clamped at 0 (data deleted or module reloaded)."""
        if not isinstance(other, Counters):
            return NotImplemented
        return Counters(*(max(a - b, 0) for a, b in zip(self.as_tuple(), other.as_tuple())))

    delta_since = __sub__


@dataclass(frozen=True)
class StatsRow:
    """One line of ``stats``: traffic of (iface, tag, uid, counter set)."""

    iface: str
    tag: int
    uid: int
    set: int
    counters: Counters


def _row(r: Tuple[str, int, int, int, Sequence[int]]) -> StatsRow:
    return StatsRow(r[0], r[1], r[2], r[3], Counters._of(r[4]))


class Stats:
    """A snapshot of ``/proc/net/xt_qtaguid/stats``, iterable over its rows.

    The tag-0 rows of a uid are its totals (tagged traffic included); tagged rows are
    sub-categories of them. An unprivileged reader sees only its own uid's rows.
    """

    __slots__ = ("_n",)

    def __init__(self, native: "_native.Stats") -> None:
        self._n = native

    @classmethod
    def read(cls) -> "Stats":
        """Read and parse the module's stats file (the GIL is released meanwhile)."""
        return cls(_native.Stats.read())

    @classmethod
    def read_from(cls, path: Union[str, "os.PathLike[str]"]) -> "Stats":
        """Read and parse a stats file at another path (a capture, a fixture)."""
        return cls(_native.Stats.read_from(os.fspath(path)))

    @classmethod
    def parse(cls, text: Union[str, bytes]) -> "Stats":
        """Parse the text of a stats file (Android's rules: exact header, idx from 2)."""
        if isinstance(text, str):
            text = text.encode()
        return cls(_native.Stats.parse(text))

    def delta_since(self, earlier: "Stats") -> "Stats":
        """The traffic between ``earlier`` and this snapshot: each row's counters minus the
        same row's in ``earlier`` (rows new since then count whole; a row reset in between
        counts from zero). Every query works on the result: a profiling session is
        ``after.delta_since(before)``."""
        if not isinstance(earlier, Stats):
            raise TypeError(f"earlier must be a qtag.Stats, not {type(earlier).__name__}")
        return Stats(self._n.delta_since(earlier._n))

    def rows(self) -> List[StatsRow]:
        return [_row(r) for r in self._n.rows()]

    def __iter__(self) -> Iterator[StatsRow]:
        return iter(self.rows())

    def __len__(self) -> int:
        return len(self._n)

    def __repr__(self) -> str:
        return f"<qtag.Stats: {len(self)} rows>"

    def ifaces(self) -> List[str]:
        return self._n.ifaces()

    def matching(self, uid: Optional[int] = None, tag: Optional[int] = None,
                 iface: Optional[str] = None, set: Optional[int] = None) -> List[StatsRow]:
        """The rows matching every given field, in file order."""
        return [_row(r) for r in self._n.matching(uid, tag, iface, set)]

    def sum(self, uid: Optional[int] = None, tag: Optional[int] = None,
            iface: Optional[str] = None, set: Optional[int] = None) -> Counters:
        """The matching rows added up. ``tag=0`` gives totals; leaving ``tag`` at None
        counts tagged traffic twice (in its tag and in tag 0)."""
        return Counters._of(self._n.sum(uid, tag, iface, set))

    def uid_total(self, uid: int) -> Counters:
        """Everything billed to ``uid`` (its tag-0 rows, every iface and counter set)."""
        return Counters._of(self._n.uid_total(uid))

    def uid_tags(self, uid: int) -> Dict[int, Counters]:
        """``uid``'s traffic per tag (tags other than 0), sorted by tag."""
        return {t: Counters._of(c) for t, c in self._n.uid_tags(uid)}

    def by_iface(self, uid: Optional[int] = None) -> Dict[str, Counters]:
        """Totals per interface (all visible uids, or only ``uid``)."""
        return {i: Counters._of(c) for i, c in self._n.by_iface(uid)}

    def by_set(self, uid: Optional[int] = None) -> Dict[int, Counters]:
        """Totals per counter set (all visible uids, or only ``uid``)."""
        return {s: Counters._of(c) for s, c in self._n.by_set(uid)}

    def by_uid(self) -> Dict[int, Counters]:
        """Totals per uid."""
        return {u: Counters._of(c) for u, c in self._n.by_uid()}

    def total(self) -> Counters:
        """Everything this reader can see (the tag-0 rows of every visible uid)."""
        return Counters._of(self._n.total())


@dataclass(frozen=True)
class TaggedSocket:
    """A live tagged socket, as listed by reading ``ctrl``."""

    sock: int
    tag: int
    uid: int
    pid: int
    f_count: int


@dataclass(frozen=True)
class CtrlListing:
    """What reading ``ctrl`` gives: tagged sockets (your own unless privileged) and the
    module's event counters."""

    sockets: List[TaggedSocket]
    events: Dict[str, int]

    @classmethod
    def read(cls) -> "CtrlListing":
        socks, events = _native.read_ctrl()
        return cls([TaggedSocket(*s) for s in socks], dict(events))

    def __iter__(self) -> Iterator[TaggedSocket]:
        return iter(self.sockets)

    def __len__(self) -> int:
        return len(self.sockets)


@dataclass(frozen=True)
class IfaceStat:
    """A line of ``iface_stat_all``: totals of earlier registrations of the name, then
    the device's current counters."""

    name: str
    active: bool
    rx_bytes: int
    rx_packets: int
    tx_bytes: int
    tx_packets: int
    dev_rx_bytes: int
    dev_rx_packets: int
    dev_tx_bytes: int
    dev_tx_packets: int


@dataclass(frozen=True)
class IfaceFmt:
    """A line of ``iface_stat_fmt``: what qtag counted on an interface, by protocol."""

    name: str
    counters: Counters


def iface_stat_all() -> List[IfaceStat]:
    """Read ``iface_stat_all``."""
    return [IfaceStat(n, a, *c) for n, a, c in _native.read_iface_stat_all()]


def iface_stat_fmt() -> List[IfaceFmt]:
    """Read ``iface_stat_fmt``."""
    return [IfaceFmt(n, Counters._of(c)) for n, c in _native.read_iface_stat_fmt()]


def read_ctrl() -> CtrlListing:
    """Read the tagged-socket listing of ``ctrl``."""
    return CtrlListing.read()
