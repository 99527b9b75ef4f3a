"""The tag context: Android's per-thread tag state, kept per thread *and* per asyncio task.

The state is two ``contextvars.ContextVar`` objects, one for the tag and one for the uid, each
holding ``None`` or an int: every thread starts with neither, every asyncio task starts
with a copy of its creator's state, and a change made inside a task (or a
``with tagged(...)`` block) never leaks into other tasks or threads. The native module
owns the variables (``_native.tag_var``, ``_native.uid_var``) so that the hot calls — the
``*_thread_stats_*`` setters and getters and ``tag_socket`` — are C functions that read
and write them directly (``PyContextVar_Get``/``_Set``), without a Python frame; a getter
is one ``PyContextVar_Get``, a setter one ``PyContextVar_Set``. ``tagged`` and
``set_tag_state`` below use the same variables (both of them).
"""

from __future__ import annotations

import functools
import inspect
from contextvars import ContextVar, Token
from typing import Any, Callable, List, NamedTuple, Optional, Tuple, TypeVar

from . import _native


class TagState(NamedTuple):
    """The tag and uid ``tag_socket`` applies; ``None`` means none / the caller's own uid."""

    tag: Optional[int]
    uid: Optional[int]


# None or an int each; both default to None.
_tag_var: ContextVar[Optional[int]] = _native.tag_var
_uid_var: ContextVar[Optional[int]] = _native.uid_var

F = TypeVar("F", bound=Callable[..., Any])


def get_tag_state() -> TagState:
    """The current thread's (and asyncio task's) tag and uid."""
    return TagState(_tag_var.get(), _uid_var.get())


def set_tag_state(tag: Optional[int], uid: Optional[int]) -> TagState:
    """Replace tag and uid at once (validated like the setters); returns the previous state."""
    new_tag = None if tag is None else _native.normalize_tag(tag)
    new_uid = _native.normalize_uid(uid)  # both validated before either is set
    prev = TagState(_tag_var.get(), _uid_var.get())
    _tag_var.set(new_tag)
    _uid_var.set(new_uid)
    return prev


# Native (C-level) functions on the same ContextVars; their docstrings are in
# bindings/python/src/fast.rs. An unchanged value is not set again.
set_thread_stats_tag = _native.set_thread_stats_tag
get_and_set_thread_stats_tag = _native.get_and_set_thread_stats_tag
get_thread_stats_tag = _native.get_thread_stats_tag
clear_thread_stats_tag = _native.clear_thread_stats_tag
set_thread_stats_uid = _native.set_thread_stats_uid
get_thread_stats_uid = _native.get_thread_stats_uid
clear_thread_stats_uid = _native.clear_thread_stats_uid


class tagged:
    """Tag (and optionally bill to ``uid``) the sockets tagged inside a block or a call;
    the previous state comes back on exit, also on exceptions.

    ``tag=None`` keeps the current tag, ``uid=None`` keeps the current uid; ``uid=-1``
    means the caller's own uid (clears an outer uid). Works as a context manager and as
    a decorator of plain and ``async`` functions; the state is per thread and per asyncio
    task::

        with qtag.tagged(0x1001):
            conn.request("GET", "/")        # tagged if qtag.install() is active

        @qtag.tagged(0x1002)
        async def fetch(): ...

    Arguments are validated at once (``InvalidArgumentError``, ``TypeError``).
    """

    __slots__ = ("tag", "uid", "_tokens")

    def __init__(self, tag: Optional[int], uid: Optional[int] = None) -> None:
        self.tag: Optional[int] = None if tag is None else _native.normalize_tag(tag)
        # -1 = "own uid" is kept distinct from None = "inherit" until entry.
        self.uid: Optional[int] = None if uid is None else _uid_or_self(uid)
        # One (tag token, uid token) pair per active entry (re-entrant, nestable).
        self._tokens: List[Tuple[Token[Optional[int]], Token[Optional[int]]]] = []

    def __enter__(self) -> TagState:
        tag = _tag_var.get() if self.tag is None else self.tag
        uid = _uid_var.get() if self.uid is None else (None if self.uid == -1 else self.uid)
        tag_token = _tag_var.set(tag)
        self._tokens.append((tag_token, _uid_var.set(uid)))
        return TagState(tag, uid)

    def __exit__(self, *exc: object) -> None:
        tag_token, uid_token = self._tokens.pop()
        try:
            _uid_var.reset(uid_token)
        finally:
            _tag_var.reset(tag_token)

    def __call__(self, func: F) -> F:
        tag, uid = self.tag, self.uid

        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with tagged(tag, uid):
                    return await func(*args, **kwargs)
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with tagged(tag, uid):
                return func(*args, **kwargs)
        return wrapper  # type: ignore[return-value]

    def __repr__(self) -> str:
        tag = "None" if self.tag is None else hex(self.tag)
        return f"qtag.tagged({tag}, uid={self.uid})"


def _uid_or_self(uid: int) -> int:
    v = _native.normalize_uid(uid)
    return -1 if v is None else v
