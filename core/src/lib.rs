//! # qtag — Android-style traffic tagging for Linux
//!
//! The Rust core of qtag: the `TrafficStats` API (thread tags, socket tagging, counter
//! sets, deleting tag data, stats) over the `xt_qtaguid` kernel module's
//! `/proc/net/xt_qtaguid/` interface. Every language binding is a thin layer over this
//! crate; parsing, validation and the errno table live here.
//!
//! ```no_run
//! use std::net::UdpSocket;
//!
//! // Category 0x1001 for everything this thread tags from now on.
//! let _guard = qtag::tag_scope(0x1001);
//! let sock = UdpSocket::bind("127.0.0.1:0")?;
//! qtag::tag_socket(&sock)?;
//! sock.send_to(&[0u8; 100], "127.0.0.1:9")?;
//!
//! let stats = qtag::Stats::read()?;
//! let me = unsafe { libc::getuid() };
//! for (tag, c) in stats.uid_tags(me) {
//!     println!("tag {tag:#x}: {} bytes sent", c.tx_bytes);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Names follow Android's in snake case: `setThreadStatsTag` is [`set_thread_stats_tag`],
//! `tagSocket` is [`tag_socket`], `setKernelCounterSet` is [`set_counter_set`],
//! `deleteTagData` is [`delete_tag_data`], `getUidRxBytes` is [`uid_rx_bytes`].
//!
//! Errors are one enum, [`Error`]; [`Error::errno`] and [`Error::code`] give bindings the
//! POSIX number and name to raise.

#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod command;
mod counters;
mod ctrl;
mod delta;
mod error;
mod iface;
mod lex;
mod paths;
mod query;
mod read;
mod socket;
mod sockets;
mod stats;
mod tags;
mod thread;
mod traffic;

pub use command::Command;
pub use counters::Counters;
pub use error::{Error, Op, Privilege, Result};
pub use iface::{read_iface_counter, IfaceCounter, IfaceFmt, IfaceStat, IFACE_STAT_FMT_HEADER};
pub use paths::{proc_dir, ProcFile, DEFAULT_PROC_DIR};
pub use query::Filter;
pub use socket::{
    delete_tag_data, set_counter_set, tag_socket, tag_socket_in_state_raw, tag_socket_raw,
    tag_socket_with, tag_socket_with_raw, untag_socket, untag_socket_raw,
};
pub use sockets::{CtrlListing, TaggedSocket};
pub use stats::{IfaceId, Stats, StatsRow, STATS_HEADER};
pub use tags::*;
pub use thread::{
    clear_thread_stats_tag, clear_thread_stats_uid, get_and_set_thread_stats_tag,
    get_thread_stats_tag, get_thread_stats_uid, scope, set_thread_state, set_thread_stats_tag,
    set_thread_stats_uid, tag_scope, thread_state, uid_scope, ScopeGuard, ThreadState,
};
pub use traffic::*;
