//! [`qtag::Error`] → the package's exception classes (defined in `python/qtag/_errors.py`,
//! all `OSError` subclasses). The errno and the message come from the core; this file
//! only picks the class and attaches the variant's fields as attributes.

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::ERRORS;

/// The class name in `qtag._errors` for each core variant.
fn class_name(e: &qtag::Error) -> &'static str {
    use qtag::Error::*;
    match e {
        ModuleNotLoaded { .. } => "ModuleNotLoadedError",
        PermissionDenied { .. } => "PermissionDeniedError",
        NotASocket { .. } => "NotASocketError",
        BadFd { .. } => "BadFileDescriptorError",
        NotTagged { .. } => "NotTaggedError",
        TagLimitReached => "TagLimitError",
        InvalidArgument { .. } => "InvalidArgumentError",
        Format { .. } => "FormatError",
        Io(_) => "QtagIOError",
        _ => "QtagError",
    }
}

fn attributes<'py>(py: Python<'py>, e: &qtag::Error) -> PyResult<Bound<'py, PyDict>> {
    use qtag::Error::*;
    let d = PyDict::new(py);
    match e {
        ModuleNotLoaded { path } => d.set_item("path", path.to_string_lossy())?,
        PermissionDenied { privilege } => d.set_item("privilege", privilege.name())?,
        NotASocket { fd } | BadFd { fd } | NotTagged { fd } => d.set_item("fd", fd)?,
        InvalidArgument { which, .. } => d.set_item("argument", which)?,
        Format { file, line, .. } => {
            d.set_item("file", file)?;
            d.set_item("line", line)?;
        }
        _ => {}
    }
    Ok(d)
}

fn build(py: Python<'_>, e: &qtag::Error) -> PyResult<PyErr> {
    let msg = e.to_string();
    let errno = e.errno();
    let Some(classes) = ERRORS.get(py) else {
        // The native module used without the package: plain OSError, same errno/message.
        return Ok(PyOSError::new_err((errno, msg)));
    };
    let classes = classes.bind(py);
    let cls = match classes.get_item(class_name(e))? {
        Some(c) => c,
        None => match classes.get_item("QtagError")? {
            Some(c) => c,
            None => return Ok(PyOSError::new_err((errno, msg))),
        },
    };
    let exc = cls.call1((errno, msg))?;
    for (k, v) in attributes(py, e)?.iter() {
        exc.setattr(k.cast::<pyo3::types::PyString>()?, v)?;
    }
    Ok(PyErr::from_value(exc))
}

/// The Python exception for a core error.
pub(crate) fn to_py(py: Python<'_>, e: qtag::Error) -> PyErr {
    match build(py, &e) {
        Ok(err) => err,
        // Building the exception failed (should not happen): raise that failure, which
        // says why, rather than losing the error.
        Err(err) => err,
    }
}

/// `result.py_err(py)`: map a core result to a Python one.
pub(crate) trait PyQtagResult<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> PyQtagResult<T> for Result<T, qtag::Error> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
