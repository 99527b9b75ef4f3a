//! Just enough terminal control for `top`: raw keyboard input and the window size.

use std::time::Duration;

/// Puts stdin in non-canonical, no-echo mode while alive (if stdin is a terminal).
pub struct RawMode {
    saved: Option<libc::termios>,
}

impl RawMode {
    pub fn enter() -> RawMode {
        // SAFETY: isatty/tcgetattr/tcsetattr on fd 0 with valid struct pointers.
        unsafe {
            if libc::isatty(0) != 1 {
                return RawMode { saved: None };
            }
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return RawMode { saved: None };
            }
            let saved = t;
            // ISIG off too: Ctrl-C arrives as a key, so we always restore the terminal.
            t.c_lflag &= !(libc::ICANON | libc::ECHO | libc::ISIG);
            t.c_cc[libc::VMIN] = 0;
            t.c_cc[libc::VTIME] = 0;
            if libc::tcsetattr(0, libc::TCSANOW, &t) != 0 {
                return RawMode { saved: None };
            }
            RawMode { saved: Some(saved) }
        }
    }

    pub fn active(&self) -> bool {
        self.saved.is_some()
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = self.saved {
            // SAFETY: restoring the attributes saved in `enter`.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
        }
    }
}

/// Wait up to `timeout` for a key on stdin; `None` on timeout or when stdin is closed.
pub fn wait_key(timeout: Duration) -> Option<u8> {
    let mut p = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    if n <= 0 || p.revents & libc::POLLIN == 0 {
        if n > 0 {
            // Hang-up or error on stdin: don't spin on it.
            std::thread::sleep(timeout);
        }
        return None;
    }
    let mut b = 0u8;
    // SAFETY: reading one byte into a valid buffer.
    let r = unsafe { libc::read(0, (&mut b as *mut u8).cast(), 1) };
    if r == 1 { Some(b) } else { std::thread::sleep(timeout); None }
}

/// Whether stdout is a terminal.
pub fn stdout_is_tty() -> bool {
    // SAFETY: isatty has no preconditions.
    unsafe { libc::isatty(1) == 1 }
}

/// Terminal rows, if stdout is a terminal.
pub fn rows() -> Option<usize> {
    // SAFETY: TIOCGWINSZ fills a winsize struct.
    unsafe {
        let mut w: libc::winsize = std::mem::zeroed();
        (libc::ioctl(1, libc::TIOCGWINSZ, &mut w) == 0 && w.ws_row > 0).then_some(usize::from(w.ws_row))
    }
}
