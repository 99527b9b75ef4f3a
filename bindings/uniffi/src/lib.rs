//! The uniffi component over the `qtag` core crate; `kotlin/` generates its Kotlin binding
//! from the built cdylib (library mode) and adds the hand-written sugar.
//!
//! Thin on purpose: Kotlin `Int`s become the core's `u32` tags and uids by their 32 bits
//! (Java's negative ints are the high tags, `-1` is "none"), and [`qtag::Error`] becomes
//! [`QtagError`] in one place (`error.rs`). Calls run on the calling JVM thread, so the
//! core's per-thread tag state is the Java platform thread's.

use std::os::fd::RawFd;

mod error;
mod stats;

pub use error::QtagError;
pub use stats::{Counters, IfaceCounters, SetCounters, Stats, StatsFilter, StatsRow, TagCounters, UidCounters};

uniffi::setup_scaffolding!();

type Result<T> = std::result::Result<T, QtagError>;

/// A Kotlin `Int` tag or uid as the core's 32-bit value (`-1` is `u32::MAX`, "none").
pub(crate) fn u32_of(v: i32) -> u32 {
    v as u32
}

/// A core tag or uid as a Kotlin `Int` (tags from 0x80000000 up are negative, as in Java).
pub(crate) fn i32_of(v: u32) -> i32 {
    v as i32
}

/// An optional uid: `null` or `-1` is the caller's own.
fn uid_of(uid: Option<i32>) -> Option<u32> {
    uid.map(u32_of).filter(|&u| u != u32::MAX)
}

fn or_none(v: Option<u32>) -> i32 {
    v.map_or(-1, i32_of)
}

/// A thread's tag and uid; `null` = none.
#[derive(uniffi::Record)]
pub struct ThreadState {
    pub tag: Option<i32>,
    pub uid: Option<i32>,
}

impl From<qtag::ThreadState> for ThreadState {
    fn from(s: qtag::ThreadState) -> Self {
        ThreadState { tag: s.tag.map(i32_of), uid: s.uid.map(i32_of) }
    }
}

/// Set the tag that later `tagSocket` calls on this thread apply; -1 clears it.
#[uniffi::export]
pub fn set_thread_stats_tag(tag: i32) {
    qtag::set_thread_stats_tag(u32_of(tag))
}

/// Set this thread's tag and return the previous one (-1: none).
#[uniffi::export]
pub fn get_and_set_thread_stats_tag(tag: i32) -> i32 {
    or_none(qtag::get_and_set_thread_stats_tag(u32_of(tag)))
}

/// This thread's tag, -1 when none.
#[uniffi::export]
pub fn get_thread_stats_tag() -> i32 {
    or_none(qtag::get_thread_stats_tag())
}

#[uniffi::export]
pub fn clear_thread_stats_tag() {
    qtag::clear_thread_stats_tag()
}

/// Set the uid that later `tagSocket` calls on this thread bill; -1 clears it. Billing
/// another uid needs MODIFY_NETWORK_ACCOUNTING when the socket is tagged.
#[uniffi::export]
pub fn set_thread_stats_uid(uid: i32) {
    qtag::set_thread_stats_uid(u32_of(uid))
}

/// This thread's uid, -1 when none.
#[uniffi::export]
pub fn get_thread_stats_uid() -> i32 {
    or_none(qtag::get_thread_stats_uid())
}

#[uniffi::export]
pub fn clear_thread_stats_uid() {
    qtag::clear_thread_stats_uid()
}

/// This thread's tag and uid at once.
#[uniffi::export]
pub fn get_thread_state() -> ThreadState {
    qtag::thread_state().into()
}

/// Replace this thread's tag and uid at once (`-1` counts as `null`); returns the
/// previous state.
#[uniffi::export]
pub fn set_thread_state(state: ThreadState) -> ThreadState {
    let none_if_max = |v: Option<i32>| v.map(u32_of).filter(|&v| v != u32::MAX);
    let new = qtag::ThreadState { tag: none_if_max(state.tag), uid: none_if_max(state.uid) };
    qtag::set_thread_state(new).into()
}

/// Tag socket descriptor `fd` with this thread's tag and uid.
#[uniffi::export]
pub fn tag_socket(fd: i32) -> Result<()> {
    Ok(qtag::tag_socket_raw(fd as RawFd)?)
}

/// Tag socket descriptor `fd` with `tag`, billed to `uid` (`null` or -1: the caller).
#[uniffi::export(default(uid = None))]
pub fn tag_socket_with(fd: i32, tag: i32, uid: Option<i32>) -> Result<()> {
    Ok(qtag::tag_socket_with_raw(fd as RawFd, u32_of(tag), uid_of(uid))?)
}

/// Remove the tag of socket descriptor `fd`.
#[uniffi::export]
pub fn untag_socket(fd: i32) -> Result<()> {
    Ok(qtag::untag_socket_raw(fd as RawFd)?)
}

/// Make `set` (0 default, 1 foreground) the active counter set of `uid` (`null` or -1:
/// the caller). Needs MODIFY_NETWORK_ACCOUNTING.
#[uniffi::export(default(uid = None))]
pub fn set_counter_set(set: i32, uid: Option<i32>) -> Result<()> {
    let set = qtag::validate_counter_set(set.into())?;
    Ok(qtag::set_counter_set(uid_of(uid), set)?)
}

/// Delete the accounting data of `uid` (`null` or -1: the caller): tag 0 everything, else
/// only that tag's rows and socket tags.
#[uniffi::export(default(uid = None))]
pub fn delete_tag_data(tag: i32, uid: Option<i32>) -> Result<()> {
    Ok(qtag::delete_tag_data(u32_of(tag), uid_of(uid))?)
}

/// Android's constant name of a reserved tag (`TAG_SYSTEM_DOWNLOAD`, ...).
#[uniffi::export]
pub fn tag_name(tag: i32) -> Option<String> {
    qtag::tag_name(u32_of(tag)).map(str::to_owned)
}

/// Whether `tag` lies in the reserved range 0xFFFFFF00..=0xFFFFFFFF.
#[uniffi::export]
pub fn is_reserved_tag(tag: i32) -> bool {
    qtag::is_reserved_tag(u32_of(tag))
}

/// One live tagged socket, as `/proc/net/xt_qtaguid/ctrl` lists it.
#[derive(uniffi::Record)]
pub struct TaggedSocket {
    /// The kernel's opaque id of the socket (its cookie).
    pub sock: u64,
    pub tag: i32,
    pub uid: i32,
    /// The process that tagged it.
    pub pid: i64,
    pub f_count: u64,
}

/// The live tagged sockets this process may see.
#[uniffi::export]
pub fn tagged_sockets() -> Result<Vec<TaggedSocket>> {
    let listing = qtag::CtrlListing::read()?;
    Ok(listing
        .sockets
        .into_iter()
        .map(|s| TaggedSocket { sock: s.sock, tag: i32_of(s.tag), uid: i32_of(s.uid), pid: s.pid, f_count: s.f_count })
        .collect())
}

// android.net.TrafficStats' getters: -1 (UNSUPPORTED) when the number cannot be had.

#[uniffi::export]
pub fn get_uid_rx_bytes(uid: i32) -> i64 {
    qtag::uid_rx_bytes(u32_of(uid))
}

#[uniffi::export]
pub fn get_uid_tx_bytes(uid: i32) -> i64 {
    qtag::uid_tx_bytes(u32_of(uid))
}

#[uniffi::export]
pub fn get_uid_rx_packets(uid: i32) -> i64 {
    qtag::uid_rx_packets(u32_of(uid))
}

#[uniffi::export]
pub fn get_uid_tx_packets(uid: i32) -> i64 {
    qtag::uid_tx_packets(u32_of(uid))
}

#[uniffi::export]
pub fn get_total_rx_bytes() -> i64 {
    qtag::total_rx_bytes()
}

#[uniffi::export]
pub fn get_total_tx_bytes() -> i64 {
    qtag::total_tx_bytes()
}

#[uniffi::export]
pub fn get_total_rx_packets() -> i64 {
    qtag::total_rx_packets()
}

#[uniffi::export]
pub fn get_total_tx_packets() -> i64 {
    qtag::total_tx_packets()
}

#[uniffi::export]
pub fn get_rx_bytes(iface: String) -> i64 {
    qtag::iface_rx_bytes(&iface)
}

#[uniffi::export]
pub fn get_tx_bytes(iface: String) -> i64 {
    qtag::iface_tx_bytes(&iface)
}

#[uniffi::export]
pub fn get_rx_packets(iface: String) -> i64 {
    qtag::iface_rx_packets(&iface)
}

#[uniffi::export]
pub fn get_tx_packets(iface: String) -> i64 {
    qtag::iface_tx_packets(&iface)
}
