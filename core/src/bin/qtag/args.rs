//! Command-line syntax.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  runtime error (I/O, malformed /proc file, bad descriptor, ...)
  2  usage error (bad arguments)
  3  the xt_qtaguid kernel module is not loaded
  4  permission denied (MODIFY_NETWORK_ACCOUNTING or stats privilege missing)

Environment:
  QTAG_PROC_DIR  read and write this folder instead of /proc/net/xt_qtaguid";

/// Per-socket traffic accounting (Android's xt_qtaguid) for Linux.
#[derive(Parser, Debug)]
#[command(name = "qtag", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Traffic per uid → tag → counter set → interface, biggest first.
    #[command(after_help = EXIT_CODES)]
    Stats(StatsArgs),
    /// Sockets that carry a tag, with tag, uid and tagging pid.
    #[command(after_help = EXIT_CODES)]
    Sockets(SocketsArgs),
    /// Per-interface totals by protocol (iface_stat_fmt).
    #[command(after_help = EXIT_CODES)]
    Ifaces(IfacesArgs),
    /// Live rates per uid and tag, refreshed; q quits.
    #[command(after_help = EXIT_CODES)]
    Top(TopArgs),
    /// Make SET (0/default/background or 1/foreground) the active counter set of UID
    /// (needs MODIFY_NETWORK_ACCOUNTING).
    #[command(name = "counter-set", after_help = EXIT_CODES)]
    CounterSet {
        /// The uid.
        uid: u32,
        /// 0, default, bg, background, 1, fg or foreground.
        #[arg(value_parser = parse_set)]
        set: SetArg,
    },
    /// Delete the accounting data of TAG for UID (TAG 0: everything of UID); deleting
    /// another uid's data needs MODIFY_NETWORK_ACCOUNTING.
    #[command(after_help = EXIT_CODES)]
    Delete {
        /// Tag: decimal, 0x-hex or a TAG_SYSTEM_* name (e.g. download).
        #[arg(value_parser = parse_tag)]
        tag: TagArg,
        /// The uid.
        uid: u32,
    },
}

#[derive(Args, Debug, Default)]
pub struct StatsArgs {
    /// Only this uid.
    #[arg(long)]
    pub uid: Option<u32>,
    /// Only this tag (0: the uids' totals); decimal, 0x-hex or a TAG_SYSTEM_* name.
    #[arg(long, value_parser = parse_tag)]
    pub tag: Option<TagArg>,
    /// Only this interface.
    #[arg(long)]
    pub iface: Option<String>,
    /// Only this counter set (0/default or 1/foreground).
    #[arg(long, value_parser = parse_set)]
    pub set: Option<SetArg>,
    /// Print JSON (every matching row, zero or not) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Show rows whose counters are all zero too.
    #[arg(long)]
    pub all: bool,
    /// Exact byte counts instead of KiB/MiB/GiB.
    #[arg(long)]
    pub bytes: bool,
    /// Parse this file instead of /proc/net/xt_qtaguid/stats.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
}

#[derive(Args, Debug, Default)]
pub struct SocketsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Parse this file instead of reading /proc/net/xt_qtaguid/ctrl.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
}

#[derive(Args, Debug, Default)]
pub struct IfacesArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Exact byte counts instead of KiB/MiB/GiB.
    #[arg(long)]
    pub bytes: bool,
}

#[derive(Args, Debug)]
pub struct TopArgs {
    /// Seconds between refreshes.
    #[arg(long, short = 'd', default_value_t = 1.0, value_parser = parse_interval)]
    pub interval: f64,
    /// Stop after this many refreshes (0: until q).
    #[arg(long, short = 'n', default_value_t = 0)]
    pub iterations: u64,
    /// Show at most this many rows (default: what fits the terminal).
    #[arg(long)]
    pub rows: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagArg(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetArg(pub u32);

pub fn parse_tag(s: &str) -> Result<TagArg, String> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u32::from_str_radix(h, 16).map(TagArg).map_err(|e| format!("bad hex tag `{s}`: {e}"));
    }
    if let Ok(v) = t.parse::<i64>() {
        return qtag::validate_tag(v).map(TagArg).map_err(|e| e.to_string());
    }
    let up = t.to_ascii_uppercase();
    let full = if up.starts_with("TAG_SYSTEM_") { up } else { format!("TAG_SYSTEM_{up}") };
    qtag::TAG_SYSTEM_NAMES
        .iter()
        .find(|(_, n)| *n == full)
        .map(|(v, _)| TagArg(*v))
        .ok_or_else(|| format!("`{s}` is not a tag (decimal, 0x-hex or a TAG_SYSTEM_* name)"))
}

pub fn parse_set(s: &str) -> Result<SetArg, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "0" | "default" | "bg" | "background" => Ok(SetArg(0)),
        "1" | "fg" | "foreground" => Ok(SetArg(1)),
        _ => Err(format!("`{s}` is not a counter set (0/default/bg or 1/foreground/fg)")),
    }
}

fn parse_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.05..=3600.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a number of seconds between 0.05 and 3600")),
    }
}
