//! Argument conversion on raw object pointers, shared by the pyo3 functions of `lib.rs`
//! and the hand-registered fast functions of `fast.rs`, so that both accept and reject
//! exactly the same values with exactly the same exceptions. The rules themselves
//! (ranges, `-1` meaning "none" / "self") are the core's `validate_*` functions.
//!
//! Every function here expects the calling thread to be attached to the interpreter.
//! Success costs only raw C-API calls (no pyo3 bookkeeping); every failure sets the Python
//! exception (built inside `Python::attach`, so pyo3's reference handling is exact) and
//! returns [`Raised`].

use std::os::fd::RawFd;
use std::os::raw::c_int;

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;

use crate::errors::to_py;

/// A Python exception is set; the caller returns its error value (NULL) to the interpreter.
#[derive(Debug)]
pub(crate) struct Raised;

pub(crate) type Res<T> = Result<T, Raised>;

/// An owned (strong) reference, released on drop.
pub(crate) struct Owned(pub(crate) *mut ffi::PyObject);

impl Owned {
    /// Takes a new reference returned by the C API; `NULL` means an exception is set.
    ///
    /// # Safety
    /// `p` is NULL or a strong reference the caller owns.
    pub(crate) unsafe fn new(p: *mut ffi::PyObject) -> Res<Owned> {
        if p.is_null() {
            Err(Raised)
        } else {
            Ok(Owned(p))
        }
    }

    /// Gives the reference up to the caller (e.g. as a function's return value).
    pub(crate) fn into_ptr(self) -> *mut ffi::PyObject {
        let p = self.0;
        std::mem::forget(self);
        p
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: we own one reference to a live object, and the thread is attached (all
        // code of this module runs attached).
        unsafe { ffi::Py_DECREF(self.0) }
    }
}

/// Sets the exception `make` builds (inside `Python::attach`: pyo3's reference counts
/// stay exact whatever the error holds).
#[cold]
pub(crate) fn raise(make: impl FnOnce(Python<'_>) -> PyErr) -> Raised {
    Python::attach(|py| make(py).restore(py));
    Raised
}

/// Sets the package's exception for a core error.
#[cold]
pub(crate) fn raise_core(e: qtag::Error) -> Raised {
    raise(|py| to_py(py, e))
}

/// The pending exception as a `PyErr` (for the pyo3 functions of `lib.rs`).
pub(crate) fn fetch<T>(py: Python<'_>, r: Res<T>) -> PyResult<T> {
    r.map_err(|Raised| PyErr::fetch(py))
}

/// A `TypeError` whose message names `v`'s type: `format(type name)`.
#[cold]
unsafe fn type_error(v: *mut ffi::PyObject, format: impl FnOnce(&str) -> String) -> Raised {
    raise(|py| {
        // SAFETY (caller): `v` is a live object borrowed for this call.
        let v = unsafe { Bound::from_borrowed_ptr(py, v) };
        match v.get_type().name() {
            Ok(name) => PyTypeError::new_err(format(&name.to_string())),
            Err(e) => e,
        }
    })
}

/// Whether `v` is an int (subclasses included: enums of tags are welcome) but not a bool.
#[inline]
pub(crate) unsafe fn is_int(v: *mut ffi::PyObject) -> bool {
    ffi::PyLong_CheckExact(v) != 0 || (ffi::PyBool_Check(v) == 0 && ffi::PyLong_Check(v) != 0)
}

/// An int's value as i64, `None` when it does not fit (no exception is set then).
/// `v` must be an int (`PyLong_Check`).
#[inline]
unsafe fn as_i64(v: *mut ffi::PyObject) -> Option<i64> {
    let mut overflow: c_int = 0;
    let x = ffi::PyLong_AsLongLongAndOverflow(v, &mut overflow);
    // For an int the only failure is overflow, which sets no exception.
    (overflow == 0).then_some(x)
}

/// A Python int as i64; `Ok(None)` when it does not fit (the caller says why it is out of
/// range). Non-ints (and bools) are a TypeError naming `what`.
pub(crate) unsafe fn wide_int(v: *mut ffi::PyObject, what: &str) -> Res<Option<i64>> {
    if !is_int(v) {
        return Err(type_error(v, |t| format!("{what} must be an int, not {t}")));
    }
    Ok(as_i64(v))
}

#[cold]
unsafe fn too_wide(which: &'static str, v: *mut ffi::PyObject) -> Raised {
    raise(|py| {
        // SAFETY (caller): `v` is a live object borrowed for this call.
        let v = unsafe { Bound::from_borrowed_ptr(py, v) };
        to_py(
            py,
            qtag::Error::InvalidArgument {
                which,
                reason: format!("{v} does not fit in 64 bits"),
            },
        )
    })
}

/// Tag argument: an int in `0..=0xFFFFFFFF` or a negative Java-style int (core rules).
/// Returns the int's own value too (equal to the tag exactly when it is not negative).
pub(crate) unsafe fn tag_value(v: *mut ffi::PyObject) -> Res<(i64, u32)> {
    let Some(t) = wide_int(v, "tag")? else {
        return Err(too_wide("tag", v));
    };
    qtag::validate_tag(t)
        .map(|tag| (t, tag))
        .map_err(raise_core)
}

/// [`tag_value`]'s tag.
pub(crate) unsafe fn tag_arg(v: *mut ffi::PyObject) -> Res<u32> {
    tag_value(v).map(|(_, t)| t)
}

/// Uid argument: NULL, `None` or `-1` mean the caller's own uid (`None`). Returns the
/// int's own value too (equal to the uid whenever the uid is `Some`).
pub(crate) unsafe fn uid_value(v: *mut ffi::PyObject) -> Res<(i64, Option<u32>)> {
    if v.is_null() || v == ffi::Py_None() {
        return Ok((-1, None));
    }
    let Some(u) = wide_int(v, "uid")? else {
        return Err(too_wide("uid", v));
    };
    qtag::validate_uid(u)
        .map(|uid| (u, uid))
        .map_err(raise_core)
}

/// [`uid_value`]'s uid.
pub(crate) unsafe fn uid_arg(v: *mut ffi::PyObject) -> Res<Option<u32>> {
    uid_value(v).map(|(_, u)| u)
}

/// The interned name `"fileno"`, made at module init.
pub(crate) static FILENO: std::sync::OnceLock<crate::fast::Immortal> = std::sync::OnceLock::new();

/// `v.fileno()` failed (an exception is set): a TypeError if `v` has no `fileno` at all,
/// else the error `fileno()` raised itself. An AttributeError is ambiguous (the lookup or
/// the method may have raised it), so only then is the attribute looked up once more.
#[cold]
unsafe fn no_fileno(
    v: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    expected: impl FnOnce(&str) -> String,
) -> Raised {
    if ffi::PyErr_ExceptionMatches(ffi::PyExc_AttributeError) == 0 {
        return Raised;
    }
    let (mut t, mut val, mut tb) = (
        std::ptr::null_mut(),
        std::ptr::null_mut(),
        std::ptr::null_mut(),
    );
    ffi::PyErr_Fetch(&mut t, &mut val, &mut tb);
    let method = ffi::PyObject_GetAttr(v, name);
    if method.is_null() {
        // The lookup fails again: v has no fileno (or the lookup raised something else,
        // which is then the error to report).
        for p in [t, val, tb] {
            if !p.is_null() {
                ffi::Py_DECREF(p);
            }
        }
        if ffi::PyErr_ExceptionMatches(ffi::PyExc_AttributeError) != 0 {
            ffi::PyErr_Clear();
            return type_error(v, expected);
        }
        return Raised;
    }
    ffi::Py_DECREF(method);
    ffi::PyErr_Restore(t, val, tb); // fileno() itself raised it
    Raised
}

/// A file descriptor from an int or anything with `fileno()` (a `socket.socket`),
/// called as `v.fileno()` in Python.
pub(crate) unsafe fn fd_arg(v: *mut ffi::PyObject) -> Res<RawFd> {
    let result; // keeps fileno()'s result alive while it is read
    let n = if is_int(v) {
        v
    } else {
        let expected = |t: &str| {
            format!(
                "expected a socket, an object with fileno(), or an int file descriptor, not {t}"
            )
        };
        let name = match FILENO.get() {
            Some(name) => name.0,
            None => return Err(type_error(v, expected)), // unreachable: set at module init
        };
        if ffi::PyBool_Check(v) != 0 {
            return Err(type_error(v, expected));
        }
        // v.fileno() as the interpreter calls a method: no bound-method object is made.
        let n = ffi::PyObject_CallMethodObjArgs(v, name, std::ptr::null_mut::<ffi::PyObject>());
        if n.is_null() {
            return Err(no_fileno(v, name, expected));
        }
        result = Owned(n);
        // Like isinstance(n, int): a bool from fileno() is taken as the int it is.
        if ffi::PyLong_Check(result.0) == 0 {
            return Err(type_error(result.0, |t| {
                format!("fileno() returned {t}, not an int")
            }));
        }
        result.0
    };
    // An fd that does not fit a C int cannot be open: the core reports it as a bad fd.
    match as_i64(n) {
        Some(x) => Ok(RawFd::try_from(x).unwrap_or(-1)),
        None => Err(raise_core(qtag::Error::BadFd { fd: -1 })),
    }
}
