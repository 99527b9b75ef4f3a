//! rust-profile: an app that profiles its own network traffic per category with qtag.
//!
//! It starts two local servers (content: JSON API + images; a telemetry sink), runs three
//! kinds of work concurrently, each on threads under its own tag, then reads the kernel's
//! counters for its uid on `lo` and prints where the bytes went:
//!
//! | category  | tag    | work |
//! |-----------|--------|------|
//! | api       | 0x1001 | many small JSON requests on keep-alive connections |
//! | images    | 0x1002 | a few large downloads (0.5–1.75 MiB each) |
//! | telemetry | 0x1003 | uploads of event batches to the sink |

mod http;
mod report;
mod svg;
mod work;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use http::Server;
use report::Report;

const USAGE: &str = "\
usage: rust-profile [--json] [--svg PATH] [--cumulative]

Profiles this program's own traffic per category (api 0x1001, images 0x1002,
telemetry 0x1003) with the xt_qtaguid kernel module and prints a table.

  --json        print the table as JSON (for scripts and tests)
  --svg PATH    where to write the bar chart (a file, or a folder to put profile.svg
                in; default: profile.svg in the current folder)
  --cumulative  show the counters since the module was loaded, not just this run's

exit codes: 0 ok, 1 error, 2 usage, 3 kernel module not loaded, 4 permission denied";

struct Args {
    json: bool,
    svg: PathBuf,
    cumulative: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args { json: false, svg: PathBuf::from("profile.svg"), cumulative: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--json" => a.json = true,
            "--cumulative" => a.cumulative = true,
            "--svg" => a.svg = it.next().ok_or("--svg needs a PATH")?.into(),
            s if s.starts_with("--svg=") => a.svg = s["--svg=".len()..].into(),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if a.svg.is_dir() {
        a.svg.push("profile.svg");
    }
    Ok(a)
}

fn exit_code(e: &qtag::Error) -> u8 {
    match e {
        qtag::Error::ModuleNotLoaded { .. } => 3,
        qtag::Error::PermissionDenied { .. } => 4,
        _ => 1,
    }
}

fn run(args: &Args) -> qtag::Result<Report> {
    // The counters before the work (fails first, with the core's message, when the module
    // is not loaded): the table shows what changed since, i.e. this run's traffic.
    let before = qtag::Stats::read()?;
    let content = Server::start(work::content_handler)?;
    let sink = Server::start(work::telemetry_handler)?;
    eprintln!(
        "rust-profile: servers on {} (content) and {} (telemetry); running api, images and \
         telemetry work concurrently...",
        content.addr, sink.addr
    );
    let t0 = Instant::now();
    work::run(content.addr, sink.addr)?;
    // Let the servers finish closing their side, so every packet is counted before we read.
    content.wait_idle(Duration::from_secs(5));
    sink.wait_idle(Duration::from_secs(5));
    eprintln!("rust-profile: work done in {:.1} s; reading the kernel's counters", t0.elapsed().as_secs_f64());

    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let after = settled_stats(uid)?;
    let (stats, period) = if args.cumulative {
        (after, "since the module was loaded")
    } else {
        (after.delta_since(&before), "during this run")
    };
    Ok(Report::new(&stats, uid, "lo", period, &work::CATEGORIES))
}

/// The counters once `uid`'s traffic has been quiet for 200 ms (at most 3 s): the last
/// ACK of a closed connection on lo can wait in a softirq for a moment on a busy machine.
fn settled_stats(uid: u32) -> qtag::Result<qtag::Stats> {
    let start = Instant::now();
    let mut last = qtag::Stats::read()?;
    let mut since = Instant::now();
    while since.elapsed() < Duration::from_millis(200) && start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
        let now = qtag::Stats::read()?;
        if now.uid_total(uid) != last.uid_total(uid) {
            last = now;
            since = Instant::now();
        }
    }
    Ok(last)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("rust-profile: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let report = match run(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rust-profile: {e}");
            return ExitCode::from(exit_code(&e));
        }
    };
    let svg_written = std::fs::write(&args.svg, svg::chart(&report));
    let svg_path = args.svg.display().to_string();
    if args.json {
        print!("{}", report.json(svg_written.as_ref().ok().map(|_| svg_path.as_str())));
    } else {
        print!("{}", report.text());
    }
    match svg_written {
        Ok(()) => {
            if !args.json {
                println!("\nBar chart: {svg_path}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rust-profile: cannot write the chart to {svg_path}: {e} (choose another place with --svg)");
            ExitCode::from(1)
        }
    }
}
