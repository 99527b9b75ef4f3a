//! `qtag`: read and manage xt_qtaguid traffic accounting from the shell.
//!
//! Exit codes (also in `qtag --help`): 0 ok, 1 runtime error, 2 usage error,
//! 3 kernel module not loaded, 4 permission denied.

mod args;
mod fmt;
mod ifaces_cmd;
mod sockets_cmd;
mod stats_cmd;
mod term;
mod top;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Cmd};

/// Exit code for a library error.
fn exit_code(e: &qtag::Error) -> u8 {
    match e {
        qtag::Error::ModuleNotLoaded { .. } => 3,
        qtag::Error::PermissionDenied { .. } => 4,
        _ => 1,
    }
}

fn run(cli: Cli) -> qtag::Result<()> {
    match cli.cmd {
        Cmd::Stats(a) => stats_cmd::run(&a),
        Cmd::Sockets(a) => sockets_cmd::run(&a),
        Cmd::Ifaces(a) => ifaces_cmd::run(&a),
        Cmd::Top(a) => top::run(&a),
        Cmd::CounterSet { uid, set } => {
            qtag::set_counter_set(Some(uid), set.0)?;
            println!("uid {uid}: counter set {}", fmt::set_name(set.0));
            Ok(())
        }
        Cmd::Delete { tag, uid } => {
            qtag::delete_tag_data(tag.0, Some(uid))?;
            if tag.0 == 0 {
                println!("uid {uid}: deleted all accounting data");
            } else {
                println!("uid {uid}: deleted tag {}", fmt::tag_label(tag.0));
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(qtag::Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qtag: {e}");
            ExitCode::from(exit_code(&e))
        }
    }
}
