//! Where the module's files are.
//!
//! The directory is `/proc/net/xt_qtaguid`, or `$QTAG_PROC_DIR` when set (read once per
//! process), which lets tests and tools point qtag at captured files.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The default directory of the module's files.
///
/// ```
/// assert_eq!(qtag::DEFAULT_PROC_DIR, "/proc/net/xt_qtaguid");
/// ```
pub const DEFAULT_PROC_DIR: &str = "/proc/net/xt_qtaguid";

/// The directory qtag reads and writes: `$QTAG_PROC_DIR` or [`DEFAULT_PROC_DIR`].
///
/// ```
/// let dir = qtag::proc_dir();
/// assert!(dir.ends_with("xt_qtaguid") || std::env::var_os("QTAG_PROC_DIR").is_some());
/// ```
pub fn proc_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        std::env::var_os("QTAG_PROC_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_PROC_DIR))
    })
}

/// One of the module's files.
///
/// ```
/// assert!(qtag::ProcFile::Stats.path().ends_with("stats"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcFile {
    /// `ctrl`: commands and the tagged-socket listing.
    Ctrl,
    /// `stats`: per iface × tag × uid × counter set.
    Stats,
    /// `iface_stat_all`: per-iface totals, no header.
    IfaceStatAll,
    /// `iface_stat_fmt`: per-iface totals by protocol.
    IfaceStatFmt,
}

impl ProcFile {
    /// The file's name inside [`proc_dir`].
    ///
    /// ```
    /// assert_eq!(qtag::ProcFile::IfaceStatFmt.name(), "iface_stat_fmt");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ProcFile::Ctrl => "ctrl",
            ProcFile::Stats => "stats",
            ProcFile::IfaceStatAll => "iface_stat_all",
            ProcFile::IfaceStatFmt => "iface_stat_fmt",
        }
    }

    /// The file's full path.
    ///
    /// ```
    /// println!("{}", qtag::ProcFile::Ctrl.path().display());
    /// ```
    pub fn path(self) -> PathBuf {
        proc_dir().join(self.name())
    }
}
