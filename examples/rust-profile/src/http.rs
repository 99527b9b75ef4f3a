//! A tiny HTTP/1.1 server and client over plain std TCP: just enough for the example's
//! local servers (keep-alive, Content-Length bodies, `Connection: close`).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// A request as the server sees it.
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
    close: bool,
}

/// What a handler answers: status line text, content type, body.
pub struct Response {
    pub status: &'static str,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

pub type Handler = fn(&Request) -> Response;

/// A server on 127.0.0.1, one thread per connection. Its sockets are not tagged: their
/// traffic is billed to the uid only (the "untagged remainder").
pub struct Server {
    pub addr: SocketAddrV4,
    open: Arc<AtomicUsize>,
}

impl Server {
    pub fn start(handler: Handler) -> io::Result<Server> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = match listener.local_addr()? {
            std::net::SocketAddr::V4(a) => a,
            std::net::SocketAddr::V6(_) => unreachable!("bound to an IPv4 address"),
        };
        let open = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&open);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let count = Arc::clone(&count);
                thread::spawn(move || {
                    let _ = serve(stream, handler);
                    count.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Ok(Server { addr, open })
    }

    /// Wait until every connection this server accepted is closed (or `limit` passes), so
    /// that no packet is still on its way when the stats are read.
    pub fn wait_idle(&self, limit: Duration) {
        let end = Instant::now() + limit;
        while self.open.load(Ordering::SeqCst) > 0 && Instant::now() < end {
            thread::sleep(Duration::from_millis(5));
        }
    }
}

fn serve(stream: TcpStream, handler: Handler) -> io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    while let Some(req) = read_request(&mut input)? {
        let r = handler(&req);
        let close = if req.close { "Connection: close\r\n" } else { "" };
        let head = format!(
            "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{close}\r\n",
            r.status,
            r.content_type,
            r.body.len()
        );
        out.write_all(head.as_bytes())?;
        out.write_all(&r.body)?;
        if req.close {
            break;
        }
    }
    Ok(())
}

/// Header lines up to the blank line: (first line, content length, connection: close).
fn read_head(input: &mut impl BufRead) -> io::Result<Option<(String, usize, bool)>> {
    let mut first = String::new();
    if input.read_line(&mut first)? == 0 {
        return Ok(None);
    }
    let (mut len, mut close) = (0usize, false);
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed in headers"));
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                len = value.parse().map_err(|_| bad("bad Content-Length"))?;
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
    }
    Ok(Some((first.trim_end().to_owned(), len, close)))
}

fn read_request(input: &mut impl BufRead) -> io::Result<Option<Request>> {
    let Some((line, len, close)) = read_head(input)? else { return Ok(None) };
    let mut words = line.split(' ');
    let method = words.next().unwrap_or_default().to_owned();
    let path = words.next().ok_or_else(|| bad("request line without a path"))?.to_owned();
    let mut body = vec![0; len];
    input.read_exact(&mut body)?;
    Ok(Some(Request { method, path, body, close }))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// A client connection whose socket is tagged with the calling thread's tag *before*
/// connecting, so the handshake is billed to the category too.
pub struct Client {
    conn: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddrV4) -> qtag::Result<Client> {
        // SAFETY: socket() takes no pointers; the fd is owned right away.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error().into());
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        qtag::tag_socket(&fd)?;
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: addr.port().to_be(),
            sin_addr: libc::in_addr { s_addr: u32::from(*addr.ip()).to_be() },
            sin_zero: [0; 8],
        };
        // SAFETY: sa is a valid sockaddr_in of the size passed.
        let rc = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error().into());
        }
        Ok(Client { conn: BufReader::new(TcpStream::from(fd)) })
    }

    /// Send one request and return the response body. `close` asks the server to close
    /// the connection after answering.
    pub fn request(&mut self, method: &str, path: &str, body: &[u8], close: bool) -> io::Result<Vec<u8>> {
        let close_hdr = if close { "Connection: close\r\n" } else { "" };
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: qtag-rust-profile\r\n\
             Content-Length: {}\r\n{close_hdr}\r\n",
            body.len()
        );
        let out = self.conn.get_mut();
        out.write_all(head.as_bytes())?;
        out.write_all(body)?;
        let (status, len, _) =
            read_head(&mut self.conn)?.ok_or_else(|| bad("connection closed before the response"))?;
        if !status.starts_with("HTTP/1.1 2") {
            return Err(bad(&format!("{method} {path}: {status}")));
        }
        let mut resp = vec![0; len];
        self.conn.read_exact(&mut resp)?;
        Ok(resp)
    }
}
