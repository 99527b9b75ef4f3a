//! The napi-rs glue between the `qtag` core crate and the Node package in `node/`
//! (loaded by `node/index.js` as `qtag.node`).
//!
//! Thin on purpose: argument conversion and turning [`qtag::Error`] into a JS error with
//! the core's message and a `code`. Validation, parsing and the errno table are the
//! core's. The tag context (AsyncLocalStorage, per worker) lives on the JS side and
//! reaches the kernel through [`tag_socket_with`], which takes tag and uid explicitly;
//! nothing here keeps per-thread or per-process JS state, so the addon loads in any
//! number of worker threads and unloads with them.

use std::collections::HashMap;
use std::os::fd::RawFd;

use napi::bindgen_prelude::{Buffer, Either};
use napi::{Env, Status};
use napi_derive::napi;

type JsResult<T> = napi::Result<T>;

/// The `code` a JS error carries for a core error: the core's POSIX name
/// ([`qtag::Error::code`]), except a missing module, which Node code tests for by name.
fn js_code(e: &qtag::Error) -> &'static str {
    match e {
        qtag::Error::ModuleNotLoaded { .. } => "QTAG_NO_MODULE",
        other => other.code(),
    }
}

/// Throw the JS error for a core error (a `RangeError` for invalid arguments, an `Error`
/// otherwise; `code` as [`js_code`], message from the core) and return the "exception
/// pending" marker napi-rs expects.
fn throw(env: &Env, e: qtag::Error) -> napi::Error {
    let msg = e.to_string();
    let code = Some(js_code(&e));
    let thrown = match e {
        qtag::Error::InvalidArgument { .. } => env.throw_range_error(&msg, code),
        _ => env.throw_error(&msg, code),
    };
    match thrown {
        Ok(()) => napi::Error::from_status(Status::PendingException),
        Err(err) => err,
    }
}

trait OrThrow<T> {
    fn or_throw(self, env: &Env) -> JsResult<T>;
}

impl<T> OrThrow<T> for qtag::Result<T> {
    fn or_throw(self, env: &Env) -> JsResult<T> {
        self.map_err(|e| throw(env, e))
    }
}

/// A JS number that must be an integer; non-integers (NaN, 1.5, ±Infinity, beyond 2^63)
/// are an invalid `which`.
fn int(which: &'static str, v: f64) -> qtag::Result<i64> {
    if v.fract() != 0.0 || !v.is_finite() || v.abs() >= 9.2e18 {
        return Err(qtag::Error::InvalidArgument { which, reason: format!("{v} is not an integer") });
    }
    Ok(v as i64)
}

fn tag_of(v: f64) -> qtag::Result<u32> {
    qtag::validate_tag(int("tag", v)?)
}

fn uid_of(v: Option<f64>) -> qtag::Result<Option<u32>> {
    match v {
        None => Ok(None),
        Some(v) => qtag::validate_uid(int("uid", v)?),
    }
}

/// A descriptor: integers that cannot be an open descriptor become -1 (the core's
/// `BadFd`).
fn fd_of(v: f64) -> qtag::Result<RawFd> {
    Ok(RawFd::try_from(int("fd", v)?).unwrap_or(-1))
}

/// Tag descriptor `fd` with `tag` billed to `uid` (null/undefined or -1: the caller),
/// exactly as the core's `tag_socket` with that thread state: with neither tag nor uid
/// nothing is written, but the descriptor is still checked.
#[napi]
pub fn tag_socket_with(env: Env, fd: f64, tag: Option<f64>, uid: Option<f64>) -> JsResult<()> {
    let r = (|| {
        let fd = fd_of(fd)?;
        let tag = tag.map(tag_of).transpose()?;
        let uid = uid_of(uid)?;
        // The core applies its "none" rules to the state as given (no swap of its
        // thread-local state around the call).
        qtag::tag_socket_in_state_raw(fd, qtag::ThreadState { tag, uid })
    })();
    r.or_throw(&env)
}

/// Remove the tag of descriptor `fd`.
#[napi]
pub fn untag_socket(env: Env, fd: f64) -> JsResult<()> {
    fd_of(fd).and_then(qtag::untag_socket_raw).or_throw(&env)
}

/// Make `set` the active counter set of `uid` (null/undefined: the caller).
#[napi]
pub fn set_counter_set(env: Env, set: f64, uid: Option<f64>) -> JsResult<()> {
    (|| {
        let set = qtag::validate_counter_set(int("set", set)?)?;
        qtag::set_counter_set(uid_of(uid)?, set)
    })()
    .or_throw(&env)
}

/// Delete accounting data of `uid` (null/undefined: the caller); tag 0 = everything.
#[napi]
pub fn delete_tag_data(env: Env, tag: f64, uid: Option<f64>) -> JsResult<()> {
    (|| qtag::delete_tag_data(tag_of(tag)?, uid_of(uid)?))().or_throw(&env)
}

/// The core's tag validation: the 32-bit tag, or null for the "no tag" value (-1 /
/// 0xFFFFFFFF, Android's clear).
#[napi]
pub fn normalize_tag(env: Env, tag: f64) -> JsResult<Option<u32>> {
    let t = tag_of(tag).or_throw(&env)?;
    Ok((t != u32::MAX).then_some(t))
}

/// The core's uid validation: null for "the caller's own uid" (-1).
#[napi]
pub fn normalize_uid(env: Env, uid: f64) -> JsResult<Option<u32>> {
    uid_of(Some(uid)).or_throw(&env)
}

/// Android's constant name of a reserved tag.
#[napi]
pub fn tag_name(env: Env, tag: f64) -> JsResult<Option<&'static str>> {
    Ok(qtag::tag_name(tag_of(tag).or_throw(&env)?))
}

/// Whether `tag` lies in the reserved system range.
#[napi]
pub fn is_reserved_tag(env: Env, tag: f64) -> JsResult<bool> {
    Ok(qtag::is_reserved_tag(tag_of(tag).or_throw(&env)?))
}

/// Byte and packet counters (IP-layer bytes), the stats file's 16 columns.
#[napi(object)]
pub struct Counters {
    pub rx_bytes: f64,
    pub rx_packets: f64,
    pub tx_bytes: f64,
    pub tx_packets: f64,
    pub rx_tcp_bytes: f64,
    pub rx_tcp_packets: f64,
    pub rx_udp_bytes: f64,
    pub rx_udp_packets: f64,
    pub rx_other_bytes: f64,
    pub rx_other_packets: f64,
    pub tx_tcp_bytes: f64,
    pub tx_tcp_packets: f64,
    pub tx_udp_bytes: f64,
    pub tx_udp_packets: f64,
    pub tx_other_bytes: f64,
    pub tx_other_packets: f64,
}

impl From<qtag::Counters> for Counters {
    fn from(c: qtag::Counters) -> Self {
        // Counters stay far below 2^53 (petabytes), where f64 is exact.
        Counters {
            rx_bytes: c.rx_bytes as f64,
            rx_packets: c.rx_packets as f64,
            tx_bytes: c.tx_bytes as f64,
            tx_packets: c.tx_packets as f64,
            rx_tcp_bytes: c.rx_tcp_bytes as f64,
            rx_tcp_packets: c.rx_tcp_packets as f64,
            rx_udp_bytes: c.rx_udp_bytes as f64,
            rx_udp_packets: c.rx_udp_packets as f64,
            rx_other_bytes: c.rx_other_bytes as f64,
            rx_other_packets: c.rx_other_packets as f64,
            tx_tcp_bytes: c.tx_tcp_bytes as f64,
            tx_tcp_packets: c.tx_tcp_packets as f64,
            tx_udp_bytes: c.tx_udp_bytes as f64,
            tx_udp_packets: c.tx_udp_packets as f64,
            tx_other_bytes: c.tx_other_bytes as f64,
            tx_other_packets: c.tx_other_packets as f64,
        }
    }
}

/// One row of the stats file.
#[napi(object)]
pub struct StatsRow {
    pub iface: String,
    pub tag: u32,
    pub uid: u32,
    pub set: u32,
    pub counters: Counters,
}

/// Which rows a query takes; a missing field matches anything.
#[napi(object)]
pub struct StatsFilter {
    pub uid: Option<u32>,
    pub tag: Option<u32>,
    pub iface: Option<String>,
    pub set: Option<u32>,
}

#[napi(object)]
pub struct TagCounters {
    pub tag: u32,
    pub counters: Counters,
}

#[napi(object)]
pub struct IfaceCounters {
    pub iface: String,
    pub counters: Counters,
}

#[napi(object)]
pub struct SetCounters {
    pub set: u32,
    pub counters: Counters,
}

#[napi(object)]
pub struct UidCounters {
    pub uid: u32,
    pub counters: Counters,
}

/// A parsed snapshot of the stats file, and the core's queries on it.
#[napi]
pub struct Stats(qtag::Stats);

fn filter_of(f: &Option<StatsFilter>) -> qtag::Filter<'_> {
    match f {
        None => qtag::Filter::default(),
        Some(f) => qtag::Filter { uid: f.uid, tag: f.tag, iface: f.iface.as_deref(), set: f.set },
    }
}

#[napi]
impl Stats {
    /// Read and parse `/proc/net/xt_qtaguid/stats`.
    #[napi]
    pub fn read(env: Env) -> JsResult<Stats> {
        qtag::Stats::read().map(Stats).or_throw(&env)
    }

    /// Read and parse a stats file at another path.
    #[napi]
    pub fn read_from(env: Env, path: String) -> JsResult<Stats> {
        qtag::Stats::read_from(path).map(Stats).or_throw(&env)
    }

    /// Parse the text of a stats file.
    #[napi]
    pub fn parse(env: Env, text: Either<String, Buffer>) -> JsResult<Stats> {
        let bytes: &[u8] = match &text {
            Either::A(s) => s.as_bytes(),
            Either::B(b) => b,
        };
        qtag::Stats::parse(bytes).map(Stats).or_throw(&env)
    }

    /// Number of rows.
    #[napi(getter)]
    pub fn length(&self) -> u32 {
        self.0.rows().len() as u32
    }

    /// Every row, in file order.
    #[napi]
    pub fn rows(&self) -> Vec<StatsRow> {
        self.0.rows().iter().map(|r| self.row(r)).collect()
    }

    /// The rows matching the filter.
    #[napi]
    pub fn matching(&self, filter: Option<StatsFilter>) -> Vec<StatsRow> {
        self.0.matching(&filter_of(&filter)).map(|r| self.row(r)).collect()
    }

    /// The counters of the matching rows added up.
    #[napi]
    pub fn sum(&self, filter: Option<StatsFilter>) -> Counters {
        self.0.sum(&filter_of(&filter)).into()
    }

    /// Interface names in order of first appearance.
    #[napi]
    pub fn ifaces(&self) -> Vec<String> {
        self.0.ifaces().map(str::to_owned).collect()
    }

    /// Everything billed to `uid` (its tag-0 rows).
    #[napi]
    pub fn uid_total(&self, uid: u32) -> Counters {
        self.0.uid_total(uid).into()
    }

    /// `uid`'s traffic per tag (tags other than 0), by tag.
    #[napi]
    pub fn uid_tags(&self, uid: u32) -> Vec<TagCounters> {
        self.0.uid_tags(uid).into_iter().map(|(tag, c)| TagCounters { tag, counters: c.into() }).collect()
    }

    /// Totals per interface (every visible uid, or only `uid`).
    #[napi]
    pub fn by_iface(&self, uid: Option<u32>) -> Vec<IfaceCounters> {
        self.0
            .by_iface(uid)
            .into_iter()
            .map(|(i, c)| IfaceCounters { iface: i.to_owned(), counters: c.into() })
            .collect()
    }

    /// Totals per counter set (every visible uid, or only `uid`).
    #[napi]
    pub fn by_set(&self, uid: Option<u32>) -> Vec<SetCounters> {
        self.0.by_set(uid).into_iter().map(|(set, c)| SetCounters { set, counters: c.into() }).collect()
    }

    /// Totals per uid.
    #[napi]
    pub fn by_uid(&self) -> Vec<UidCounters> {
        self.0.by_uid().into_iter().map(|(uid, c)| UidCounters { uid, counters: c.into() }).collect()
    }

    /// Every visible uid's total added up.
    #[napi]
    pub fn total(&self) -> Counters {
        self.0.total().into()
    }

    /// The traffic between `earlier` and this snapshot, as a snapshot.
    #[napi]
    pub fn delta_since(&self, earlier: &Stats) -> Stats {
        Stats(self.0.delta_since(&earlier.0))
    }
}

impl Stats {
    fn row(&self, r: &qtag::StatsRow) -> StatsRow {
        StatsRow {
            iface: self.0.iface_name(r.iface).to_owned(),
            tag: r.tag,
            uid: r.uid,
            set: r.set,
            counters: r.counters.into(),
        }
    }
}

#[napi(object)]
pub struct TaggedSocket {
    /// The kernel's opaque socket id (the socket cookie), as a decimal string (64 bits).
    pub sock: String,
    pub tag: u32,
    pub uid: u32,
    pub pid: i64,
    pub f_count: f64,
}

#[napi(object)]
pub struct CtrlListing {
    pub sockets: Vec<TaggedSocket>,
    pub events: HashMap<String, f64>,
}

/// The tagged sockets and event counters read from ctrl.
#[napi]
pub fn read_ctrl(env: Env) -> JsResult<CtrlListing> {
    let l = qtag::CtrlListing::read().or_throw(&env)?;
    Ok(CtrlListing {
        sockets: l
            .sockets
            .iter()
            .map(|s| TaggedSocket {
                sock: s.sock.to_string(),
                tag: s.tag,
                uid: s.uid,
                pid: s.pid,
                f_count: s.f_count as f64,
            })
            .collect(),
        events: l.events.into_iter().map(|(k, v)| (k, v as f64)).collect(),
    })
}

#[napi(object)]
pub struct IfaceStat {
    pub name: String,
    pub active: bool,
    pub rx_bytes: f64,
    pub rx_packets: f64,
    pub tx_bytes: f64,
    pub tx_packets: f64,
    pub dev_rx_bytes: f64,
    pub dev_rx_packets: f64,
    pub dev_tx_bytes: f64,
    pub dev_tx_packets: f64,
}

/// `iface_stat_all`.
#[napi]
pub fn iface_stat_all(env: Env) -> JsResult<Vec<IfaceStat>> {
    let v = qtag::IfaceStat::read_all().or_throw(&env)?;
    Ok(v.into_iter()
        .map(|i| IfaceStat {
            name: i.name,
            active: i.active,
            rx_bytes: i.rx_bytes as f64,
            rx_packets: i.rx_packets as f64,
            tx_bytes: i.tx_bytes as f64,
            tx_packets: i.tx_packets as f64,
            dev_rx_bytes: i.dev_rx_bytes as f64,
            dev_rx_packets: i.dev_rx_packets as f64,
            dev_tx_bytes: i.dev_tx_bytes as f64,
            dev_tx_packets: i.dev_tx_packets as f64,
        })
        .collect())
}

#[napi(object)]
pub struct IfaceFmt {
    pub name: String,
    pub counters: Counters,
}

/// `iface_stat_fmt`: per-interface totals by protocol.
#[napi]
pub fn iface_stat_fmt(env: Env) -> JsResult<Vec<IfaceFmt>> {
    let v = qtag::IfaceFmt::read().or_throw(&env)?;
    Ok(v.into_iter().map(|i| IfaceFmt { name: i.name, counters: i.counters.into() }).collect())
}

macro_rules! getters {
    ($($uid:ident $total:ident $iface:ident;)*) => {
        $(
            /// TrafficStats getter for a uid (UNSUPPORTED = -1 when not available).
            #[napi]
            pub fn $uid(uid: u32) -> i64 {
                qtag::$uid(uid)
            }
            /// TrafficStats getter over all interfaces (UNSUPPORTED = -1 when not available).
            #[napi]
            pub fn $total() -> i64 {
                qtag::$total()
            }
            /// TrafficStats getter for one interface (UNSUPPORTED = -1 when not available).
            #[napi]
            pub fn $iface(iface: String) -> i64 {
                qtag::$iface(&iface)
            }
        )*
    };
}

getters! {
    uid_rx_bytes total_rx_bytes iface_rx_bytes;
    uid_rx_packets total_rx_packets iface_rx_packets;
    uid_tx_bytes total_tx_bytes iface_tx_bytes;
    uid_tx_packets total_tx_packets iface_tx_packets;
}

/// The core's constants by name: `UNSUPPORTED`, `COUNTER_SET_*`,
/// `TAG_SYSTEM_RESERVED_START` and every `TAG_SYSTEM_*`.
#[napi]
pub fn constants() -> HashMap<&'static str, f64> {
    let mut m: HashMap<&'static str, f64> = qtag::TAG_SYSTEM_NAMES
        .iter()
        .map(|&(tag, name)| (name, f64::from(tag)))
        .collect();
    m.insert("TAG_SYSTEM_RESERVED_START", f64::from(qtag::TAG_SYSTEM_RESERVED_START));
    m.insert("UNSUPPORTED", qtag::UNSUPPORTED as f64);
    m.insert("COUNTER_SET_DEFAULT", f64::from(qtag::COUNTER_SET_DEFAULT));
    m.insert("COUNTER_SET_FOREGROUND", f64::from(qtag::COUNTER_SET_FOREGROUND));
    m
}

/// The stats file's counter column names, in order.
#[napi]
pub fn counter_names() -> Vec<&'static str> {
    qtag::Counters::NAMES.to_vec()
}

/// The stats file header the core checks for.
#[napi]
pub fn stats_header() -> &'static str {
    qtag::STATS_HEADER
}

/// The folder of the module's files (`/proc/net/xt_qtaguid` or `$QTAG_PROC_DIR`).
#[napi]
pub fn proc_dir() -> String {
    qtag::proc_dir().to_string_lossy().into_owned()
}
