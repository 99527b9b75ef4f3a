"""qtag's exceptions: one class per error of the core, all ``OSError`` subclasses with
``errno`` set and the core's message (which says what to do) as ``strerror``.

Catch ``qtag.QtagError`` for all of them, or the standard classes they also derive from
(``PermissionError``, ``FileNotFoundError``, ``ValueError``).
"""

from __future__ import annotations

from typing import Optional


class QtagError(OSError):
    """Base class of every qtag error (``errno`` says which POSIX error it is)."""


class ModuleNotLoadedError(QtagError, FileNotFoundError):
    """The xt_qtaguid kernel module is not loaded (``/proc/net/xt_qtaguid`` is missing);
    the message names the command that loads it. ``path``: the missing file."""

    path: Optional[str] = None


class PermissionDeniedError(QtagError, PermissionError):
    """The kernel refused for lack of a privilege. ``privilege``:
    ``"MODIFY_NETWORK_ACCOUNTING"`` (billing another uid, counter sets, deleting another
    uid's data) or ``"READ_NETWORK_USAGE_HISTORY"`` (reading other uids' stats)."""

    privilege: Optional[str] = None


class NotASocketError(QtagError):
    """The file descriptor is open but is not a socket (ENOTSOCK). ``fd``: which."""

    fd: Optional[int] = None


class BadFileDescriptorError(QtagError):
    """The file descriptor is not open (EBADF): a closed socket, a negative fd.
    ``fd``: which."""

    fd: Optional[int] = None


class NotTaggedError(QtagError):
    """``untag_socket`` on a socket that carries no tag (EINVAL). ``fd``: which."""

    fd: Optional[int] = None


class TagLimitError(QtagError):
    """Too many tagged sockets for this uid (module parameter ``max_sock_tags``; EMFILE)."""


class InvalidArgumentError(QtagError, ValueError):
    """An argument is out of range or was rejected by the kernel (EINVAL).
    ``argument``: its name (``tag``, ``uid``, ``set``, ``command`` ...)."""

    argument: Optional[str] = None


class FormatError(QtagError):
    """A ``/proc/net/xt_qtaguid`` file did not have the expected format (EIO).
    ``file`` and ``line`` say where."""

    file: Optional[str] = None
    line: Optional[int] = None


class QtagIOError(QtagError):
    """Any other I/O failure; ``errno`` is the system's."""


ERROR_CLASSES = {
    cls.__name__: cls
    for cls in (
        QtagError,
        ModuleNotLoadedError,
        PermissionDeniedError,
        NotASocketError,
        BadFileDescriptorError,
        NotTaggedError,
        TagLimitError,
        InvalidArgumentError,
        FormatError,
        QtagIOError,
    )
}
