//! The hot calls — the thread/task tag state and `tag_socket` — as plain C functions of
//! the module (a `PyMethodDef` each), without pyo3's per-call machinery: a call costs
//! what a builtin function of CPython costs, plus the work itself.
//!
//! The state is two `contextvars.ContextVar`s made here at import, `_native.tag_var`
//! and `_native.uid_var` (default `None` each), holding the tag and the uid as `None` or
//! an int — the Python layer (`qtag._context`) uses the same variables for `tagged` and
//! `set_tag_state`. Two variables rather than one `(tag, uid)` tuple make a getter one
//! `PyContextVar_Get` whose new reference is the result, and a setter one
//! `PyContextVar_Set` with no tuple built (issue 8). They are read and written with
//! `PyContextVar_Get` / `PyContextVar_Set`, exactly what `ContextVar.get` / `.set` call,
//! so the semantics (per thread, per asyncio task, copied into new tasks) are the
//! ContextVar's own.
//!
//! Rules of this file:
//! - no panic crosses into the interpreter: every entry point runs in [`guard`], which
//!   turns a panic into pyo3's `PanicException`;
//! - reference counts are exact: strong references live in [`Owned`] (released on every
//!   path), borrowed ones are never kept past their owner;
//! - errors are the same as everywhere else in the module ([`crate::args`] and
//!   [`crate::errors`]): the package's exception classes and the same TypeErrors.
//!
//! ABI note: the wheel is abi3 (limited API 3.9). `PyContextVar_Get`/`_Set` and
//! `METH_FASTCALL | METH_KEYWORDS` are not in the 3.9 limited headers, but both are
//! public, documented C API, exported with unchanged signatures and behaviour by every
//! CPython since 3.7 (METH_FASTCALL is in the stable ABI since 3.10), so the one wheel
//! still serves every CPython from 3.9 on.

use std::ffi::CStr;
use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use pyo3::exceptions::PyTypeError;
use pyo3::ffi::{self, PyObject, Py_ssize_t};
use pyo3::panic::PanicException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::args::{fd_arg, raise, raise_core, tag_value, uid_value, Owned, Raised, Res, FILENO};

extern "C" {
    // CPython's public context-variable API (Include/cpython/context.h, since 3.7).
    fn PyContextVar_Get(
        var: *mut PyObject,
        default_value: *mut PyObject,
        value: *mut *mut PyObject,
    ) -> c_int;
    fn PyContextVar_Set(var: *mut PyObject, value: *mut PyObject) -> *mut PyObject;
}

/// `METH_FASTCALL` (CPython 3.7+; in the stable ABI since 3.10).
const METH_FASTCALL: c_int = 0x0080;

/// An object this module keeps alive for the life of the process (a leaked strong
/// reference), so that its pointer can be read from any thread without pyo3's machinery.
pub(crate) struct Immortal(pub(crate) *mut PyObject);

// SAFETY: the pointer is only dereferenced by threads attached to the interpreter, and
// the object is never freed (its reference is never released).
unsafe impl Send for Immortal {}
unsafe impl Sync for Immortal {}

/// `qtag._native.tag_var` / `uid_var`: the ContextVars of the tag and of the uid.
static TAG_VAR: OnceLock<Immortal> = OnceLock::new();
static UID_VAR: OnceLock<Immortal> = OnceLock::new();

/// While `install()` is in effect: the function `tag_socket` tells about each socket it
/// tagged (the auto-tagger's record, `qtag._sockets._remember_tagged`). The flag keeps
/// the common case (not installed) at one atomic load.
static HOOK: Mutex<Option<Py<PyAny>>> = Mutex::new(None);
static HOOK_ON: AtomicBool = AtomicBool::new(false);

/// Runs an entry point: a panic becomes a `PanicException`, [`Raised`] returns NULL with
/// the exception set.
#[inline(always)]
fn guard(body: impl FnOnce() -> Res<*mut PyObject>) -> *mut PyObject {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(p)) => p,
        Ok(Err(Raised)) => null_mut(),
        Err(payload) => {
            panicked(payload);
            null_mut()
        }
    }
}

#[cold]
#[inline(never)]
fn panicked(payload: Box<dyn std::any::Any + Send>) {
    let msg = if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        "panic in qtag's native module".to_owned()
    };
    // Dropping the payload or raising could panic in theory; never let that unwind out.
    let _ = catch_unwind(AssertUnwindSafe(move || {
        drop(payload);
        raise(|_| PanicException::new_err((msg,)));
    }));
}

unsafe fn none() -> *mut PyObject {
    let n = ffi::Py_None();
    ffi::Py_INCREF(n);
    n
}

#[inline(always)]
fn var(which: &OnceLock<Immortal>) -> Res<*mut PyObject> {
    match which.get() {
        Some(v) => Ok(v.0),
        None => Err(not_initialised()),
    }
}

#[cold]
fn not_initialised() -> Raised {
    raise(|_| PyTypeError::new_err("qtag._native was not initialised"))
}

/// The current value of `which` (a new reference; the variables have a default, so a
/// value always comes back).
#[inline(always)]
unsafe fn get(which: &OnceLock<Immortal>) -> Res<*mut PyObject> {
    let mut value = null_mut();
    if PyContextVar_Get(var(which)?, null_mut(), &mut value) < 0 || value.is_null() {
        return Err(Raised);
    }
    Ok(value)
}

/// Makes `value` (borrowed) the current value of `which`.
unsafe fn set(which: &OnceLock<Immortal>, value: *mut PyObject) -> Res<()> {
    // The Token (only `ContextVar.reset` uses it) is dropped at once.
    Owned::new(PyContextVar_Set(var(which)?, value))?;
    Ok(())
}

/// Whether the current value `cur` (an int or None) already holds `new`, which came from
/// the argument `arg` of value `raw`.
unsafe fn holds(cur: *mut PyObject, new: Option<u32>, arg: *mut PyObject, raw: i64) -> bool {
    match new {
        None => cur == ffi::Py_None(),
        Some(v) => {
            if cur == arg && raw == i64::from(v) {
                return true;
            }
            if ffi::PyLong_CheckExact(cur) == 0 {
                return false;
            }
            let mut overflow: c_int = 0;
            let x = ffi::PyLong_AsLongLongAndOverflow(cur, &mut overflow);
            overflow == 0 && x == i64::from(v)
        }
    }
}

/// The object to store for a normalized value: `None`, the argument itself when it is a
/// plain int of that very value (no new object), or a new int.
unsafe fn store_obj(arg: *mut PyObject, raw: i64, v: Option<u32>) -> Res<Owned> {
    let p = match v {
        None => ffi::Py_None(),
        Some(v) if raw == i64::from(v) && ffi::PyLong_CheckExact(arg) != 0 => arg,
        Some(v) => return Owned::new(ffi::PyLong_FromUnsignedLongLong(u64::from(v))),
    };
    ffi::Py_INCREF(p);
    Ok(Owned(p))
}

/// A METH_FASTCALL function without parameters (METH_NOARGS would be slower: CPython's
/// specialising interpreter has fast paths for METH_O and METH_FASTCALL builtins, not for
/// METH_NOARGS ones). Keyword arguments are refused by CPython itself.
#[inline(always)]
fn no_args(nargs: Py_ssize_t, func: &str) -> Res<()> {
    if nargs == 0 {
        return Ok(());
    }
    Err(raise(|_| {
        PyTypeError::new_err(format!("{func}() takes no arguments ({nargs} given)"))
    }))
}

/// The one argument of a METH_FASTCALL | METH_KEYWORDS function taking `name`, given
/// positionally or by keyword (as a Python `def f(name)` takes it).
unsafe fn one_arg(
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
    func: &str,
    name: &CStr,
) -> Res<*mut PyObject> {
    if kwnames.is_null() && nargs == 1 {
        return Ok(*args);
    }
    one_arg_slow(args, nargs, kwnames, func, name)
}

#[cold]
unsafe fn one_arg_slow(
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
    func: &str,
    name: &CStr,
) -> Res<*mut PyObject> {
    let pname = name.to_string_lossy();
    let nkw = if kwnames.is_null() {
        0
    } else {
        ffi::PyTuple_Size(kwnames)
    };
    if nkw < 0 {
        return Err(Raised);
    }
    if nargs > 1 {
        return Err(raise(|_| {
            PyTypeError::new_err(format!(
                "{func}() takes 1 positional argument but {nargs} were given"
            ))
        }));
    }
    let mut found = if nargs == 1 { Some(*args) } else { None };
    for i in 0..nkw {
        let key = ffi::PyTuple_GetItem(kwnames, i);
        if key.is_null() {
            return Err(Raised);
        }
        if ffi::PyUnicode_CompareWithASCIIString(key, name.as_ptr()) != 0 {
            return Err(raise(|py| {
                // SAFETY: `key` is borrowed from the live kwnames tuple.
                let k = unsafe { Bound::from_borrowed_ptr(py, key) };
                PyTypeError::new_err(format!(
                    "{func}() got an unexpected keyword argument {}",
                    k.repr().map(|r| r.to_string()).unwrap_or_default()
                ))
            }));
        }
        if found.is_some() {
            return Err(raise(|_| {
                PyTypeError::new_err(format!(
                    "{func}() got multiple values for argument '{pname}'"
                ))
            }));
        }
        found = Some(*args.offset(nargs + i));
    }
    found.ok_or_else(|| {
        raise(|_| {
            PyTypeError::new_err(format!(
                "{func}() missing 1 required positional argument: '{pname}'"
            ))
        })
    })
}

// ------------------------------------------------------------------ the entry points

unsafe extern "C" fn get_thread_stats_tag(
    _m: *mut PyObject,
    _a: *const *mut PyObject,
    nargs: Py_ssize_t,
) -> *mut PyObject {
    guard(|| unsafe {
        no_args(nargs, "get_thread_stats_tag")?;
        get(&TAG_VAR)
    })
}

unsafe extern "C" fn get_thread_stats_uid(
    _m: *mut PyObject,
    _a: *const *mut PyObject,
    nargs: Py_ssize_t,
) -> *mut PyObject {
    guard(|| unsafe {
        no_args(nargs, "get_thread_stats_uid")?;
        get(&UID_VAR)
    })
}

/// Sets the tag (the uid is another variable). Returns the previous tag (a new
/// reference).
/// An unchanged tag is not set again: nothing observes the difference (the caller gets
/// no Token), and a ContextVar.set costs as much as ten builtin calls.
unsafe fn set_tag(arg: *mut PyObject) -> Res<Owned> {
    let (raw, tag) = tag_value(arg)?;
    let new = (tag != u32::MAX).then_some(tag);
    let cur = Owned::new(get(&TAG_VAR)?)?;
    if !holds(cur.0, new, arg, raw) {
        let obj = store_obj(arg, raw, new)?;
        set(&TAG_VAR, obj.0)?;
    }
    Ok(cur)
}

unsafe extern "C" fn set_thread_stats_tag(
    _m: *mut PyObject,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    guard(|| unsafe {
        set_tag(one_arg(
            args,
            nargs,
            kwnames,
            "set_thread_stats_tag",
            c"tag",
        )?)?;
        Ok(none())
    })
}

unsafe extern "C" fn get_and_set_thread_stats_tag(
    _m: *mut PyObject,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    guard(|| unsafe {
        let arg = one_arg(args, nargs, kwnames, "get_and_set_thread_stats_tag", c"tag")?;
        Ok(set_tag(arg)?.into_ptr())
    })
}

/// Sets `which` to None unless it already is.
unsafe fn clear(which: &OnceLock<Immortal>) -> Res<()> {
    let cur = Owned::new(get(which)?)?;
    if cur.0 != ffi::Py_None() {
        set(which, ffi::Py_None())?;
    }
    Ok(())
}

unsafe extern "C" fn clear_thread_stats_tag(
    _m: *mut PyObject,
    _a: *const *mut PyObject,
    nargs: Py_ssize_t,
) -> *mut PyObject {
    guard(|| unsafe {
        no_args(nargs, "clear_thread_stats_tag")?;
        clear(&TAG_VAR)?;
        Ok(none())
    })
}

unsafe extern "C" fn set_thread_stats_uid(
    _m: *mut PyObject,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    guard(|| unsafe {
        let arg = one_arg(args, nargs, kwnames, "set_thread_stats_uid", c"uid")?;
        let (raw, new) = uid_value(arg)?;
        let cur = Owned::new(get(&UID_VAR)?)?;
        if !holds(cur.0, new, arg, raw) {
            let obj = store_obj(arg, raw, new)?;
            set(&UID_VAR, obj.0)?;
        }
        Ok(none())
    })
}

unsafe extern "C" fn clear_thread_stats_uid(
    _m: *mut PyObject,
    _a: *const *mut PyObject,
    nargs: Py_ssize_t,
) -> *mut PyObject {
    guard(|| unsafe {
        no_args(nargs, "clear_thread_stats_uid")?;
        clear(&UID_VAR)?;
        Ok(none())
    })
}

unsafe extern "C" fn tag_socket(
    _m: *mut PyObject,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    guard(|| unsafe {
        let sock = one_arg(args, nargs, kwnames, "tag_socket", c"sock")?;
        let tag_own = Owned::new(get(&TAG_VAR)?)?;
        let uid_own = Owned::new(get(&UID_VAR)?)?;
        let (tag_obj, uid_obj) = (tag_own.0, uid_own.0);
        let fd = fd_arg(sock)?;
        let tag = if tag_obj == ffi::Py_None() {
            None
        } else {
            Some(tag_value(tag_obj)?.1)
        };
        let uid = uid_value(uid_obj)?.1;
        // The core's tag_socket with this state: its rules for "no tag", "uid only" and
        // "neither" (then only the descriptor is checked) apply. The GIL stays held: one
        // write() to ctrl never blocks, and releasing the GIL would cost more than it.
        qtag::tag_socket_in_state_raw(fd, qtag::ThreadState { tag, uid }).map_err(raise_core)?;
        if (tag_obj != ffi::Py_None() || uid_obj != ffi::Py_None())
            && HOOK_ON.load(Ordering::Acquire)
            && !crate::args::is_int(sock)
        {
            remember(sock)?;
        }
        Ok(none())
    })
}

/// Tells the auto-tagger's hook about a socket `tag_socket` tagged.
#[cold]
unsafe fn remember(sock: *mut PyObject) -> Res<()> {
    Python::attach(|py| {
        let hook = HOOK
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|h| h.clone_ref(py));
        let Some(hook) = hook else { return Ok(()) };
        // SAFETY: `sock` is the caller's argument, alive for the call.
        let sock = unsafe { Bound::from_borrowed_ptr(py, sock) };
        match hook.call1(py, (sock,)) {
            Ok(_) => Ok(()),
            Err(e) => {
                e.restore(py);
                Err(Raised)
            }
        }
    })
}

/// `_set_tag_hook(hook)`: while not None, `tag_socket` calls `hook(sock)` after tagging
/// a socket object (not an int fd) with a tag or uid; `install()` / `uninstall()` set it.
#[pyfunction]
pub(crate) fn _set_tag_hook(hook: Option<Py<PyAny>>) {
    let on = hook.is_some();
    let old = {
        let mut slot = HOOK.lock().unwrap_or_else(|e| e.into_inner());
        HOOK_ON.store(on, Ordering::Release);
        std::mem::replace(&mut *slot, hook)
    };
    drop(old); // after the lock is released: dropping may run Python code
}

// ------------------------------------------------------------------ registration

type Fast = unsafe extern "C" fn(*mut PyObject, *const *mut PyObject, Py_ssize_t) -> *mut PyObject;
type FastKw = unsafe extern "C" fn(
    *mut PyObject,
    *const *mut PyObject,
    Py_ssize_t,
    *mut PyObject,
) -> *mut PyObject;

enum Kind {
    NoArgs(Fast),
    OneArg(FastKw),
}

struct Def {
    name: &'static CStr,
    kind: Kind,
    doc: &'static CStr,
}

const DEFS: &[Def] = &[
    Def {
        name: c"set_thread_stats_tag",
        kind: Kind::OneArg(set_thread_stats_tag),
        doc: c"set_thread_stats_tag($module, /, tag)\n--\n\n\
Set the tag later ``tag_socket`` calls of this thread/task apply (Android's\n\
``setThreadStatsTag``). ``-1`` (or ``0xFFFFFFFF``) clears it, as in Android; other\n\
values must fit 32 bits (negative Java ints are read as two's complement).",
    },
    Def {
        name: c"get_thread_stats_tag",
        kind: Kind::NoArgs(get_thread_stats_tag),
        doc: c"get_thread_stats_tag($module, /)\n--\n\n\
This thread/task's tag, ``None`` when cleared (Android returns -1 then).",
    },
    Def {
        name: c"get_and_set_thread_stats_tag",
        kind: Kind::OneArg(get_and_set_thread_stats_tag),
        doc: c"get_and_set_thread_stats_tag($module, /, tag)\n--\n\n\
Set this thread/task's tag and return the previous one (``None`` if there was none).",
    },
    Def {
        name: c"clear_thread_stats_tag",
        kind: Kind::NoArgs(clear_thread_stats_tag),
        doc: c"clear_thread_stats_tag($module, /)\n--\n\n\
Clear this thread/task's tag.",
    },
    Def {
        name: c"set_thread_stats_uid",
        kind: Kind::OneArg(set_thread_stats_uid),
        doc: c"set_thread_stats_uid($module, /, uid)\n--\n\n\
Bill sockets tagged later by this thread/task to ``uid`` (Android's\n\
``setThreadStatsUid``). Billing another uid needs MODIFY_NETWORK_ACCOUNTING when the\n\
socket is tagged. ``-1`` clears it.",
    },
    Def {
        name: c"get_thread_stats_uid",
        kind: Kind::NoArgs(get_thread_stats_uid),
        doc: c"get_thread_stats_uid($module, /)\n--\n\n\
This thread/task's uid, ``None`` when cleared (Android returns -1 then).",
    },
    Def {
        name: c"clear_thread_stats_uid",
        kind: Kind::NoArgs(clear_thread_stats_uid),
        doc: c"clear_thread_stats_uid($module, /)\n--\n\n\
Clear this thread/task's uid.",
    },
    Def {
        name: c"tag_socket",
        kind: Kind::OneArg(tag_socket),
        doc: c"tag_socket($module, /, sock)\n--\n\n\
Tag ``sock`` with the current thread/task's tag and uid (Android's ``tagSocket``).\n\n\
``sock`` is a ``socket.socket``, anything with ``fileno()``, or an int fd; anything\n\
else is a ``TypeError``. With neither a tag nor a uid set nothing is sent to the\n\
kernel, but the descriptor is still checked (``BadFileDescriptorError``,\n\
``NotASocketError``). Tagging again replaces the tag.",
    },
];

/// Adds `tag_var`, `uid_var` and the fast functions to the module.
pub(crate) fn add(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    for (which, name, attr) in [
        (&TAG_VAR, "qtag.tag", "tag_var"),
        (&UID_VAR, "qtag.uid", "uid_var"),
    ] {
        if which.get().is_none() {
            let kw = PyDict::new(py);
            kw.set_item("default", py.None())?;
            let var = py
                .import("contextvars")?
                .getattr("ContextVar")?
                .call((name,), Some(&kw))?;
            let _ = which.set(Immortal(var.into_ptr()));
        }
        if let Some(v) = which.get() {
            // SAFETY: an immortal (leaked) reference.
            m.add(attr, unsafe { Bound::from_borrowed_ptr(py, v.0) })?;
        }
    }
    if FILENO.get().is_none() {
        let _ = FILENO.set(Immortal(
            PyString::intern(py, "fileno").into_any().into_ptr(),
        ));
    }
    let module_name = m.name()?;
    for d in DEFS {
        // SAFETY (both): a function pointer of another signature stored in the union;
        // CPython calls it with the signature the flags announce.
        let (meth, flags) = match d.kind {
            Kind::NoArgs(f) => (
                ffi::PyMethodDefPointer {
                    PyCFunction: unsafe { std::mem::transmute::<Fast, ffi::PyCFunction>(f) },
                },
                METH_FASTCALL,
            ),
            Kind::OneArg(f) => (
                ffi::PyMethodDefPointer {
                    PyCFunction: unsafe { std::mem::transmute::<FastKw, ffi::PyCFunction>(f) },
                },
                METH_FASTCALL | ffi::METH_KEYWORDS,
            ),
        };
        // CPython keeps a pointer to the definition for the function's lifetime.
        let def = Box::leak(Box::new(ffi::PyMethodDef {
            ml_name: d.name.as_ptr(),
            ml_meth: meth,
            ml_flags: flags,
            ml_doc: d.doc.as_ptr(),
        }));
        // SAFETY: `def` lives forever; module and name are live objects.
        let f = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyCMethod_New(def, m.as_ptr(), module_name.as_ptr(), null_mut()),
            )?
        };
        m.add(d.name.to_str().unwrap_or_default(), f)?;
    }
    Ok(())
}
