//! Reading a whole file of the module, with errors mapped once.

use std::path::Path;

use crate::error::{Op, Privilege, Result};
use crate::paths::ProcFile;

/// Read `path` fully; `privilege` names what a permission error lacked.
pub(crate) fn read_path(path: &Path, privilege: Privilege) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| match e.raw_os_error() {
        Some(errno) => Op::Open { path: path.to_path_buf(), privilege }.error(errno),
        None => e.into(),
    })
}

/// Read one of the module's files.
pub(crate) fn read_proc(file: ProcFile) -> Result<Vec<u8>> {
    read_path(&file.path(), Privilege::Stats)
}
