"""qtag — Android-style per-socket traffic tagging for Linux.

Tag the traffic of your sockets by category (and, with privilege, bill it to the uid you
work for); the xt_qtaguid kernel module counts bytes and packets per (interface, tag, uid,
counter set)::

    import qtag

    qtag.install()                      # tag sockets as they connect (opt-in)
    with qtag.tagged(0x1001):
        urllib.request.urlopen("http://localhost:8080/")

    stats = qtag.Stats.read()
    for tag, c in stats.uid_tags(os.getuid()).items():
        print(hex(tag), c.rx_bytes, c.tx_bytes)

Android's ``TrafficStats`` names are here in snake case (``set_thread_stats_tag``,
``tag_socket``, ``get_uid_rx_bytes`` ...). The tag state is per thread and per asyncio
task. Errors are ``OSError`` subclasses with ``errno`` set (``qtag.QtagError``).
"""

from __future__ import annotations

import os as _os
from typing import Optional as _Optional

from . import _native
from ._context import (
    TagState,
    clear_thread_stats_tag,
    clear_thread_stats_uid,
    get_and_set_thread_stats_tag,
    get_tag_state,
    get_thread_stats_tag,
    get_thread_stats_uid,
    set_tag_state,
    set_thread_stats_tag,
    set_thread_stats_uid,
    tagged,
)
from ._errors import (
    ERROR_CLASSES as _ERROR_CLASSES,
    BadFileDescriptorError,
    FormatError,
    InvalidArgumentError,
    ModuleNotLoadedError,
    NotASocketError,
    NotTaggedError,
    PermissionDeniedError,
    QtagError,
    QtagIOError,
    TagLimitError,
)
from ._native import (
    COUNTER_SET_DEFAULT,
    COUNTER_SET_FOREGROUND,
    TAG_SYSTEM_APP,
    TAG_SYSTEM_BACKUP,
    TAG_SYSTEM_DHCP,
    TAG_SYSTEM_DOWNLOAD,
    TAG_SYSTEM_GPS,
    TAG_SYSTEM_MEDIA,
    TAG_SYSTEM_NEIGHBOR,
    TAG_SYSTEM_NTP,
    TAG_SYSTEM_PAC,
    TAG_SYSTEM_PROBE,
    TAG_SYSTEM_RESERVED_START,
    TAG_SYSTEM_RESTORE,
    UNSUPPORTED,
    is_reserved_tag,
    tag_name,
)
from ._sockets import (
    install,
    is_installed,
    tag_socket,
    tag_socket_with,
    uninstall,
    untag_socket,
)
from ._stats import (
    Counters,
    CtrlListing,
    IfaceFmt,
    IfaceStat,
    Stats,
    StatsRow,
    TaggedSocket,
    iface_stat_all,
    iface_stat_fmt,
    read_ctrl,
)

_native._register_errors(dict(_ERROR_CLASSES))

__version__ = "0.1.0"


def set_counter_set(counter_set: int, uid: _Optional[int] = None) -> None:
    """Make ``counter_set`` (``COUNTER_SET_DEFAULT`` 0 / ``COUNTER_SET_FOREGROUND`` 1) the
    active counter set of ``uid`` (None: yourself). Needs MODIFY_NETWORK_ACCOUNTING."""
    _native.set_counter_set(counter_set, uid)


set_kernel_counter_set = set_counter_set


def delete_tag_data(tag: int = 0, uid: _Optional[int] = None) -> None:
    """Delete accounting data of ``uid`` (None: yourself): ``tag`` 0 deletes everything
    (socket tags, counter set, all rows), another tag only its rows and socket tags.
    Another uid's data needs MODIFY_NETWORK_ACCOUNTING."""
    _native.delete_tag_data(tag, uid)


def reset_kernel_uid_stats(uid: _Optional[int] = None) -> None:
    """Delete all accounting data of ``uid`` (``delete_tag_data(0, uid)``)."""
    _native.delete_tag_data(0, uid)


def _own(uid: _Optional[int]) -> int:
    # None or -1: the caller's own uid; anything else is validated like every uid.
    v = _native.normalize_uid(uid)
    return _os.getuid() if v is None else v


def get_uid_rx_bytes(uid: _Optional[int] = None) -> int:
    """Bytes received by ``uid`` (default: yourself) on every interface, or UNSUPPORTED."""
    return _native.uid_rx_bytes(_own(uid))


def get_uid_rx_packets(uid: _Optional[int] = None) -> int:
    """Packets received by ``uid`` (default: yourself), or UNSUPPORTED."""
    return _native.uid_rx_packets(_own(uid))


def get_uid_tx_bytes(uid: _Optional[int] = None) -> int:
    """Bytes sent by ``uid`` (default: yourself), or UNSUPPORTED."""
    return _native.uid_tx_bytes(_own(uid))


def get_uid_tx_packets(uid: _Optional[int] = None) -> int:
    """Packets sent by ``uid`` (default: yourself), or UNSUPPORTED."""
    return _native.uid_tx_packets(_own(uid))


def get_total_rx_bytes() -> int:
    """Bytes received on all interfaces since the module loaded, or UNSUPPORTED."""
    return _native.total_rx_bytes()


def get_total_rx_packets() -> int:
    """Packets received on all interfaces, or UNSUPPORTED."""
    return _native.total_rx_packets()


def get_total_tx_bytes() -> int:
    """Bytes sent on all interfaces, or UNSUPPORTED."""
    return _native.total_tx_bytes()


def get_total_tx_packets() -> int:
    """Packets sent on all interfaces, or UNSUPPORTED."""
    return _native.total_tx_packets()


def get_rx_bytes(iface: str) -> int:
    """Bytes received on ``iface``, or UNSUPPORTED."""
    return _native.iface_rx_bytes(iface)


def get_rx_packets(iface: str) -> int:
    """Packets received on ``iface``, or UNSUPPORTED."""
    return _native.iface_rx_packets(iface)


def get_tx_bytes(iface: str) -> int:
    """Bytes sent on ``iface``, or UNSUPPORTED."""
    return _native.iface_tx_bytes(iface)


def get_tx_packets(iface: str) -> int:
    """Packets sent on ``iface``, or UNSUPPORTED."""
    return _native.iface_tx_packets(iface)


__all__ = [
    # thread / task tag state
    "TagState", "get_tag_state", "set_tag_state",
    "set_thread_stats_tag", "get_thread_stats_tag", "clear_thread_stats_tag",
    "get_and_set_thread_stats_tag",
    "set_thread_stats_uid", "get_thread_stats_uid", "clear_thread_stats_uid",
    "tagged",
    # sockets
    "tag_socket", "tag_socket_with", "untag_socket", "install", "uninstall", "is_installed",
    # accounting commands
    "set_counter_set", "set_kernel_counter_set", "delete_tag_data", "reset_kernel_uid_stats",
    # stats
    "Stats", "StatsRow", "Counters", "CtrlListing", "TaggedSocket", "IfaceStat", "IfaceFmt",
    "read_ctrl", "iface_stat_all", "iface_stat_fmt",
    "get_uid_rx_bytes", "get_uid_rx_packets", "get_uid_tx_bytes", "get_uid_tx_packets",
    "get_total_rx_bytes", "get_total_rx_packets", "get_total_tx_bytes", "get_total_tx_packets",
    "get_rx_bytes", "get_rx_packets", "get_tx_bytes", "get_tx_packets",
    # constants
    "UNSUPPORTED", "COUNTER_SET_DEFAULT", "COUNTER_SET_FOREGROUND",
    "TAG_SYSTEM_RESERVED_START", "TAG_SYSTEM_DOWNLOAD", "TAG_SYSTEM_MEDIA", "TAG_SYSTEM_BACKUP",
    "TAG_SYSTEM_RESTORE", "TAG_SYSTEM_APP", "TAG_SYSTEM_DHCP", "TAG_SYSTEM_NTP",
    "TAG_SYSTEM_PROBE", "TAG_SYSTEM_NEIGHBOR", "TAG_SYSTEM_GPS", "TAG_SYSTEM_PAC",
    "tag_name", "is_reserved_tag",
    # errors
    "QtagError", "ModuleNotLoadedError", "PermissionDeniedError", "NotASocketError",
    "BadFileDescriptorError", "NotTaggedError", "TagLimitError", "InvalidArgumentError",
    "FormatError", "QtagIOError",
]
