"""Socket tagging, and opt-in automatic tagging of sockets as they connect."""

from __future__ import annotations

import socket as _socket
import threading
import warnings
import weakref
from typing import Any, Callable, Dict, Optional, Protocol, Union

from . import _native
from ._context import _tag_var, _uid_var


class HasFileno(Protocol):
    def fileno(self) -> int: ...


SocketLike = Union[_socket.socket, HasFileno, int]

# Sockets tagged already (explicitly, or by the auto-tagger): the auto-tagger tags a
# socket once, at its first connect/sendto under an active tag context.
_tagged: "weakref.WeakSet[Any]" = weakref.WeakSet()


def _remember(sock: object) -> None:
    # Only install() reads the set: without it, tagging costs no bookkeeping.
    if _originals and not isinstance(sock, int):
        _remember_tagged(sock)


# Native (C-level): reads the tag state, gets the descriptor (an int, or ``fileno()``)
# and writes the command through the core in one call; its docstring is in
# bindings/python/src/fast.rs. While install() is in effect it reports each socket it
# tagged to _remember_tagged (the hook set by install()).
tag_socket = _native.tag_socket


def _remember_tagged(sock: object) -> None:
    try:
        _tagged.add(sock)
    except TypeError:  # not weak-referenceable: nothing to remember it by
        pass


def tag_socket_with(sock: SocketLike, tag: int, uid: Optional[int] = None) -> None:
    """Tag ``sock`` with an explicit ``tag`` billed to ``uid`` (None or -1: yourself);
    billing another uid needs MODIFY_NETWORK_ACCOUNTING."""
    _native.tag_socket_with(sock, tag, -1 if uid is None else uid)
    _remember(sock)


def untag_socket(sock: SocketLike) -> None:
    """Remove ``sock``'s tag (``NotTaggedError`` if it has none); its later traffic is
    billed to its owner with tag 0."""
    _native.untag_socket(sock)
    if _originals and not isinstance(sock, int):
        _tagged.discard(sock)


# ---------------------------------------------------------------- automatic tagging

_INET = (_socket.AF_INET, _socket.AF_INET6)
_PATCHED = ("connect", "connect_ex", "sendto", "sendmsg")
_lock = threading.Lock()
_originals: Dict[str, Callable[..., Any]] = {}
_own: "set[str]" = set()  # names socket.socket itself defined (not inherited)
_on_error = "raise"


def _auto_tag(sock: _socket.socket) -> None:
    tag, uid = _tag_var.get(), _uid_var.get()
    if tag is None and uid is None:
        return
    if sock in _tagged or sock.family not in _INET:
        return
    try:
        _native.tag_socket_with(sock, tag, uid)
    except OSError as e:
        if _on_error == "raise":
            raise
        if _on_error == "warn":
            warnings.warn(f"qtag: could not tag socket: {e}", RuntimeWarning, stacklevel=3)
        return
    _tagged.add(sock)


def _wrap(name: str, orig: Callable[..., Any]) -> Callable[..., Any]:
    def patched(self: _socket.socket, *args: Any) -> Any:
        _auto_tag(self)
        return orig(self, *args)

    patched.__name__ = name
    patched.__qualname__ = f"socket.{name}"
    patched.__doc__ = orig.__doc__
    patched.__wrapped__ = orig  # type: ignore[attr-defined]
    patched._qtag_auto = True  # type: ignore[attr-defined]
    return patched


def install(on_error: str = "raise") -> None:
    """Tag every IPv4/IPv6 socket that connects (``connect``, ``connect_ex``) or sends a
    datagram (``sendto``, ``sendmsg``) while a tag context is active (``tagged``,
    ``set_thread_stats_tag``, ``set_thread_stats_uid``), before its first byte leaves.

    Covers ``socket.socket`` and everything built on it: ``socket.create_connection``,
    ``http.client``/``urllib``, ``ssl``, and asyncio's ``sock_connect`` /
    ``open_connection`` / ``create_connection`` / datagram endpoints. A socket is tagged
    once, with the context of its first connect or send; sockets tagged explicitly while
    it is installed keep their tag. ``on_error``: ``"raise"`` (default: the connect fails
    with the qtag error), ``"warn"`` (RuntimeWarning, connect goes on) or ``"ignore"``.

    Calling it again only changes ``on_error``; ``uninstall()`` undoes it. Event loops
    written in C (uvloop) connect without ``socket.socket.connect`` and are not covered:
    tag their sockets with ``tag_socket`` before connecting them yourself.
    """
    global _on_error
    if on_error not in ("raise", "warn", "ignore"):
        raise ValueError(f"on_error must be 'raise', 'warn' or 'ignore', not {on_error!r}")
    with _lock:
        _on_error = on_error
        if _originals:
            return
        for name in _PATCHED:
            orig = getattr(_socket.socket, name)
            _originals[name] = orig
            if name in _socket.socket.__dict__:
                _own.add(name)
            setattr(_socket.socket, name, _wrap(name, orig))
        _native._set_tag_hook(_remember_tagged)


def uninstall() -> None:
    """Undo ``install()``: sockets connect untouched again (tags already set stay)."""
    with _lock:
        for name, orig in _originals.items():
            if not getattr(_socket.socket.__dict__.get(name), "_qtag_auto", False):
                continue  # someone patched over us: leave theirs in place
            if name in _own:
                setattr(_socket.socket, name, orig)
            else:
                delattr(_socket.socket, name)  # inherited from _socket.socket again
        _native._set_tag_hook(None)
        _originals.clear()
        _own.clear()
        _tagged.clear()


def is_installed() -> bool:
    """Whether ``install()`` is in effect."""
    return bool(_originals)
