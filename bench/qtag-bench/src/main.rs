//! qtag-bench: the core's costs, measured inside the benchmark VM.
//!
//!   qtag-bench tag-ops ROUNDS OPS   tag+untag of one socket: the SDK (one ctrl fd kept
//!                                   open) vs libcutils' open/write/close per command
//!   qtag-bench stats ROUNDS [FILE]  read the stats file raw, read+parse it with
//!                                   qtag::Stats, and parse it from memory
//!
//! Each prints one JSON object whose arrays hold one number per round; variants are
//! interleaved round by round so drift affects all of them alike.

use std::io::Read;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: usize| -> usize {
        args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default)
    };
    let out = match args.first().map(String::as_str) {
        Some("tag-ops") => tag_ops(num(1, 5), num(2, 20_000)),
        Some("stats") => stats(num(1, 5), args.get(2).cloned()),
        _ => {
            eprintln!("usage: qtag-bench tag-ops ROUNDS OPS | stats ROUNDS [FILE]");
            std::process::exit(2);
        }
    };
    match out {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("qtag-bench: {e}");
            std::process::exit(1);
        }
    }
}

type Res = Result<String, Box<dyn std::error::Error>>;

fn json_list(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:.1}")).collect();
    format!("[{}]", items.join(", "))
}

/// One ctrl command the libcutils way: open the file, write, close.
fn libcutils_write(ctrl: &std::ffi::CStr, cmd: &[u8]) -> std::io::Result<()> {
    // SAFETY: ctrl is NUL-terminated; cmd is a valid buffer for its length.
    unsafe {
        let fd = libc::open(ctrl.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = libc::write(fd, cmd.as_ptr().cast(), cmd.len());
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        if n != cmd.len() as isize {
            return Err(err);
        }
    }
    Ok(())
}

/// Nanoseconds per tag+untag pair, SDK and libcutils-style, one pair of numbers per round.
fn tag_ops(rounds: usize, ops: usize) -> Res {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let fd = sock.as_raw_fd();
    let ctrl = std::ffi::CString::new(qtag::proc_dir().join("ctrl").into_os_string().into_encoded_bytes())?;
    let tag_cmd = qtag::Command::tag(fd, 0x1001, None);
    let untag_cmd = qtag::Command::untag(fd);
    let (mut sdk, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..ops {
            qtag::tag_socket_with_raw(fd, 0x1001, None)?;
            qtag::untag_socket_raw(fd)?;
        }
        sdk.push(t.elapsed().as_nanos() as f64 / ops as f64);
        let t = Instant::now();
        for _ in 0..ops {
            libcutils_write(&ctrl, tag_cmd.as_bytes())?;
            libcutils_write(&ctrl, untag_cmd.as_bytes())?;
        }
        raw.push(t.elapsed().as_nanos() as f64 / ops as f64);
    }
    Ok(format!(
        "{{\"ops\": {ops}, \"sdk_ns\": {}, \"libcutils_ns\": {}}}",
        json_list(&sdk),
        json_list(&raw)
    ))
}

/// Per round: ms to read the file raw, ms to read+parse it, and rows/s of parsing alone.
fn stats(rounds: usize, file: Option<String>) -> Res {
    let path = file.map(std::path::PathBuf::from).unwrap_or_else(|| qtag::proc_dir().join("stats"));
    let (mut raw_ms, mut parse_ms, mut rows_per_s) = (Vec::new(), Vec::new(), Vec::new());
    let mut rows = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let mut text = Vec::new();
        std::fs::File::open(&path)?.read_to_end(&mut text)?;
        raw_ms.push(t.elapsed().as_secs_f64() * 1e3);

        let t = Instant::now();
        let stats = qtag::Stats::read_from(&path)?;
        parse_ms.push(t.elapsed().as_secs_f64() * 1e3);
        rows = stats.rows().len();

        let t = Instant::now();
        let parsed = qtag::Stats::parse(&text)?;
        rows_per_s.push(parsed.rows().len() as f64 / t.elapsed().as_secs_f64());
    }
    Ok(format!(
        "{{\"rows\": {rows}, \"read_ms\": {}, \"read_parse_ms\": {}, \"parse_rows_per_s\": {}}}",
        json_list(&raw_ms),
        json_list(&parse_ms),
        json_list(&rows_per_s)
    ))
}
