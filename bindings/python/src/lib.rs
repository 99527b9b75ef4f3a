//! `qtag._native`: the pyo3 glue between the `qtag` core crate and the Python package in
//! `python/qtag`.
//!
//! Thin on purpose: argument conversion (`args.rs`), releasing the GIL around blocking
//! system calls, and turning [`qtag::Error`] into the package's exception classes
//! (`errors.rs`). Validation, parsing and the errno table are the core's. The tag context
//! (per thread and per asyncio task) is two `contextvars.ContextVar`s made here
//! (`tag_var`, `uid_var`); its hot calls — the thread-stats setters and getters and `tag_socket` —
//! are plain C functions in `fast.rs`, without pyo3's per-call machinery.

use std::os::fd::RawFd;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

mod args;
mod errors;
mod fast;

use errors::{to_py, PyQtagResult};

/// The exception classes of `qtag._errors`, handed over once by `qtag/__init__.py`.
static ERRORS: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// A Python int as i64 (`None`: does not fit); a TypeError naming `what` otherwise.
fn wide_int(v: &Bound<'_, PyAny>, what: &str) -> PyResult<Option<i64>> {
    // SAFETY: `v` is a live object and the thread is attached (we hold a Bound).
    args::fetch(v.py(), unsafe { args::wide_int(v.as_ptr(), what) })
}

fn too_wide(which: &'static str, v: &Bound<'_, PyAny>) -> qtag::Error {
    qtag::Error::InvalidArgument { which, reason: format!("{v} does not fit in 64 bits") }
}

/// Tag argument: an int in `0..=0xFFFFFFFF` or a negative Java-style int (core rules).
fn tag_arg(v: &Bound<'_, PyAny>) -> PyResult<u32> {
    // SAFETY: as in `wide_int`.
    args::fetch(v.py(), unsafe { args::tag_arg(v.as_ptr()) })
}

/// Uid argument: `None` or `-1` mean the caller's own uid.
fn uid_arg(py: Python<'_>, v: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u32>> {
    let p = v.map_or(std::ptr::null_mut(), Bound::as_ptr);
    // SAFETY: as in `wide_int` (NULL stands for "not given").
    args::fetch(py, unsafe { args::uid_arg(p) })
}

/// A file descriptor from an int or anything with `fileno()` (a `socket.socket`).
fn fd_arg(v: &Bound<'_, PyAny>) -> PyResult<RawFd> {
    // SAFETY: as in `wide_int`.
    args::fetch(v.py(), unsafe { args::fd_arg(v.as_ptr()) })
}

/// Tag `sock` with `tag` billed to `uid`, exactly as the core's `tag_socket` would with
/// that thread state: with neither a tag nor a uid nothing is written but the descriptor
/// is still checked.
#[pyfunction]
#[pyo3(signature = (sock, tag=None, uid=None))]
fn tag_socket_with(
    py: Python<'_>,
    sock: &Bound<'_, PyAny>,
    tag: Option<&Bound<'_, PyAny>>,
    uid: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let fd = fd_arg(sock)?;
    let tag = tag.filter(|t| !t.is_none()).map(tag_arg).transpose()?;
    let uid = uid_arg(py, uid)?;
    // The GIL stays held: one write() to ctrl never blocks, and releasing and retaking
    // the GIL would cost more than the write itself.
    // The core's scope applies the same "none" rules as its thread-state setters.
    let _scope = qtag::scope(tag, uid);
    qtag::tag_socket_raw(fd).py_err(py)
}

/// Remove a socket's tag.
#[pyfunction]
fn untag_socket(py: Python<'_>, sock: &Bound<'_, PyAny>) -> PyResult<()> {
    let fd = fd_arg(sock)?;
    qtag::untag_socket_raw(fd).py_err(py)
}

/// Make `counter_set` the active counter set of `uid` (None: the caller).
#[pyfunction]
#[pyo3(signature = (counter_set, uid=None))]
fn set_counter_set(
    py: Python<'_>,
    counter_set: &Bound<'_, PyAny>,
    uid: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let set = wide_int(counter_set, "counter_set")?
        .ok_or_else(|| to_py(py, too_wide("set", counter_set)))?;
    let set = qtag::validate_counter_set(set).py_err(py)?;
    let uid = uid_arg(py, uid)?;
    py.detach(move || qtag::set_counter_set(uid, set)).py_err(py)
}

/// Delete accounting data of `uid` (None: the caller): tag 0 = everything.
#[pyfunction]
#[pyo3(signature = (tag, uid=None))]
fn delete_tag_data(
    py: Python<'_>,
    tag: &Bound<'_, PyAny>,
    uid: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let tag = tag_arg(tag)?;
    let uid = uid_arg(py, uid)?;
    py.detach(move || qtag::delete_tag_data(tag, uid)).py_err(py)
}

/// The core's tag validation: returns the 32-bit tag, or None for the "no tag" value
/// (`-1` / `0xFFFFFFFF`, like Android's clear).
#[pyfunction]
fn normalize_tag(tag: &Bound<'_, PyAny>) -> PyResult<Option<u32>> {
    let t = tag_arg(tag)?;
    Ok((t != u32::MAX).then_some(t))
}

/// The core's uid validation: None for "the caller's own uid" (`None` or `-1`).
#[pyfunction]
#[pyo3(signature = (uid=None))]
fn normalize_uid(py: Python<'_>, uid: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u32>> {
    uid_arg(py, uid)
}

/// Android's constant name of a reserved tag.
#[pyfunction]
fn tag_name(tag: &Bound<'_, PyAny>) -> PyResult<Option<&'static str>> {
    Ok(qtag::tag_name(tag_arg(tag)?))
}

/// Whether `tag` lies in the reserved system range.
#[pyfunction]
fn is_reserved_tag(tag: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(qtag::is_reserved_tag(tag_arg(tag)?))
}

type Row = (String, u32, u32, u32, [u64; 16]);

/// A parsed snapshot of the `stats` file, and the core's questions about it.
#[pyclass(frozen, name = "Stats", module = "qtag._native")]
struct PyStats(qtag::Stats);

#[pymethods]
impl PyStats {
    /// Read and parse `/proc/net/xt_qtaguid/stats` (GIL released).
    #[staticmethod]
    fn read(py: Python<'_>) -> PyResult<PyStats> {
        py.detach(qtag::Stats::read).map(PyStats).py_err(py)
    }

    /// Read and parse a stats file at another path.
    #[staticmethod]
    fn read_from(py: Python<'_>, path: std::path::PathBuf) -> PyResult<PyStats> {
        py.detach(move || qtag::Stats::read_from(path)).map(PyStats).py_err(py)
    }

    /// Parse the text of a stats file.
    #[staticmethod]
    fn parse(py: Python<'_>, text: &[u8]) -> PyResult<PyStats> {
        qtag::Stats::parse(text).map(PyStats).py_err(py)
    }

    /// The traffic between `earlier` and this snapshot (the core's `delta_since`).
    fn delta_since(&self, earlier: &PyStats) -> PyStats {
        PyStats(self.0.delta_since(&earlier.0))
    }

    /// Every row as `(iface, tag, uid, set, counters[16])`, in file order.
    fn rows(&self) -> Vec<Row> {
        self.0.rows().iter().map(|r| self.row(r)).collect()
    }

    /// The rows matching the filter (None matches anything).
    #[pyo3(signature = (uid=None, tag=None, iface=None, set=None))]
    fn matching(&self, uid: Option<u32>, tag: Option<u32>, iface: Option<&str>, set: Option<u32>) -> Vec<Row> {
        let f = qtag::Filter { uid, tag, iface, set };
        self.0.matching(&f).map(|r| self.row(r)).collect()
    }

    /// The counters of the matching rows added up.
    #[pyo3(signature = (uid=None, tag=None, iface=None, set=None))]
    fn sum(&self, uid: Option<u32>, tag: Option<u32>, iface: Option<&str>, set: Option<u32>) -> [u64; 16] {
        self.0.sum(&qtag::Filter { uid, tag, iface, set }).to_array()
    }

    /// Interface names in order of first appearance.
    fn ifaces(&self) -> Vec<String> {
        self.0.ifaces().map(str::to_owned).collect()
    }

    fn uid_total(&self, uid: u32) -> [u64; 16] {
        self.0.uid_total(uid).to_array()
    }

    fn uid_tags(&self, uid: u32) -> Vec<(u32, [u64; 16])> {
        self.0.uid_tags(uid).into_iter().map(|(t, c)| (t, c.to_array())).collect()
    }

    #[pyo3(signature = (uid=None))]
    fn by_iface(&self, uid: Option<u32>) -> Vec<(String, [u64; 16])> {
        self.0.by_iface(uid).into_iter().map(|(i, c)| (i.to_owned(), c.to_array())).collect()
    }

    #[pyo3(signature = (uid=None))]
    fn by_set(&self, uid: Option<u32>) -> Vec<(u32, [u64; 16])> {
        self.0.by_set(uid).into_iter().map(|(s, c)| (s, c.to_array())).collect()
    }

    fn by_uid(&self) -> Vec<(u32, [u64; 16])> {
        self.0.by_uid().into_iter().map(|(u, c)| (u, c.to_array())).collect()
    }

    fn total(&self) -> [u64; 16] {
        self.0.total().to_array()
    }

    fn __len__(&self) -> usize {
        self.0.rows().len()
    }
}

impl PyStats {
    fn row(&self, r: &qtag::StatsRow) -> Row {
        (self.0.iface_name(r.iface).to_owned(), r.tag, r.uid, r.set, r.counters.to_array())
    }
}

/// The tagged sockets and event counters read from ctrl:
/// `([(sock, tag, uid, pid, f_count)], [(event, value)])`.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn read_ctrl(py: Python<'_>) -> PyResult<(Vec<(u64, u32, u32, i64, u64)>, Vec<(String, u64)>)> {
    let l = py.detach(qtag::CtrlListing::read).py_err(py)?;
    let socks = l.sockets.iter().map(|s| (s.sock, s.tag, s.uid, s.pid, s.f_count)).collect();
    Ok((socks, l.events))
}

type IfaceAll = (String, bool, [u64; 8]);

/// `iface_stat_all`: `[(name, active, [rx_bytes, rx_packets, tx_bytes, tx_packets,
/// dev_rx_bytes, dev_rx_packets, dev_tx_bytes, dev_tx_packets])]`.
#[pyfunction]
fn read_iface_stat_all(py: Python<'_>) -> PyResult<Vec<IfaceAll>> {
    let v = py.detach(qtag::IfaceStat::read_all).py_err(py)?;
    Ok(v.into_iter()
        .map(|i| {
            let c = [
                i.rx_bytes, i.rx_packets, i.tx_bytes, i.tx_packets,
                i.dev_rx_bytes, i.dev_rx_packets, i.dev_tx_bytes, i.dev_tx_packets,
            ];
            (i.name, i.active, c)
        })
        .collect())
}

/// `iface_stat_fmt`: `[(name, counters[16])]`.
#[pyfunction]
fn read_iface_stat_fmt(py: Python<'_>) -> PyResult<Vec<(String, [u64; 16])>> {
    let v = py.detach(qtag::IfaceFmt::read).py_err(py)?;
    Ok(v.into_iter().map(|i| (i.name, i.counters.to_array())).collect())
}

macro_rules! getters {
    ($($uid:ident $total:ident $iface:ident;)*) => {
        $(
            /// TrafficStats getter for a uid (UNSUPPORTED = -1 when not available).
            #[pyfunction]
            fn $uid(py: Python<'_>, uid: u32) -> i64 {
                py.detach(move || qtag::$uid(uid))
            }
            /// TrafficStats getter over all interfaces (UNSUPPORTED = -1 when not available).
            #[pyfunction]
            fn $total(py: Python<'_>) -> i64 {
                py.detach(qtag::$total)
            }
            /// TrafficStats getter for one interface (UNSUPPORTED = -1 when not available).
            #[pyfunction]
            fn $iface(py: Python<'_>, iface: String) -> i64 {
                py.detach(move || qtag::$iface(&iface))
            }
        )*
        fn add_getters(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $(
                m.add_function(wrap_pyfunction!($uid, m)?)?;
                m.add_function(wrap_pyfunction!($total, m)?)?;
                m.add_function(wrap_pyfunction!($iface, m)?)?;
            )*
            Ok(())
        }
    };
}

getters! {
    uid_rx_bytes total_rx_bytes iface_rx_bytes;
    uid_rx_packets total_rx_packets iface_rx_packets;
    uid_tx_bytes total_tx_bytes iface_tx_bytes;
    uid_tx_packets total_tx_packets iface_tx_packets;
}

/// Called by `qtag/__init__.py` with `{class name: class}` from `qtag._errors`; the first
/// call wins (a reloaded package keeps the classes it registered first).
#[pyfunction]
fn _register_errors(py: Python<'_>, classes: Bound<'_, PyDict>) -> bool {
    ERRORS.set(py, classes.unbind()).is_ok()
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(tag_socket_with, m)?)?;
    m.add_function(wrap_pyfunction!(untag_socket, m)?)?;
    m.add_function(wrap_pyfunction!(set_counter_set, m)?)?;
    m.add_function(wrap_pyfunction!(delete_tag_data, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_tag, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_uid, m)?)?;
    m.add_function(wrap_pyfunction!(tag_name, m)?)?;
    m.add_function(wrap_pyfunction!(is_reserved_tag, m)?)?;
    m.add_function(wrap_pyfunction!(read_ctrl, m)?)?;
    m.add_function(wrap_pyfunction!(read_iface_stat_all, m)?)?;
    m.add_function(wrap_pyfunction!(read_iface_stat_fmt, m)?)?;
    m.add_function(wrap_pyfunction!(_register_errors, m)?)?;
    m.add_function(wrap_pyfunction!(fast::_set_tag_hook, m)?)?;
    fast::add(m)?;
    m.add_class::<PyStats>()?;
    add_getters(m)?;

    m.add("UNSUPPORTED", qtag::UNSUPPORTED)?;
    m.add("COUNTER_SET_DEFAULT", qtag::COUNTER_SET_DEFAULT)?;
    m.add("COUNTER_SET_FOREGROUND", qtag::COUNTER_SET_FOREGROUND)?;
    m.add("TAG_SYSTEM_RESERVED_START", qtag::TAG_SYSTEM_RESERVED_START)?;
    for (tag, name) in qtag::TAG_SYSTEM_NAMES {
        m.add(*name, *tag)?;
    }
    m.add("TAG_SYSTEM_NAMES", qtag::TAG_SYSTEM_NAMES.to_vec())?;
    m.add("STATS_HEADER", qtag::STATS_HEADER)?;
    m.add("COUNTER_NAMES", qtag::Counters::NAMES.to_vec())?;
    m.add("DEFAULT_PROC_DIR", qtag::DEFAULT_PROC_DIR)?;
    Ok(())
}
