//! The app's work: three categories of traffic against two local servers, each category
//! on its own threads under its own tag.

use std::net::SocketAddrV4;
use std::sync::OnceLock;
use std::thread;

use crate::http::{Client, Request, Response};

/// A category of the app's traffic and the tag its sockets carry.
pub struct Category {
    pub name: &'static str,
    pub tag: u32,
}

/// Small JSON API calls: many short requests on keep-alive connections.
pub const API: Category = Category { name: "api", tag: 0x1001 };
/// Image downloads: few large responses, one connection each.
pub const IMAGES: Category = Category { name: "images", tag: 0x1002 };
/// Telemetry uploads: batches of events POSTed to a separate sink.
pub const TELEMETRY: Category = Category { name: "telemetry", tag: 0x1003 };

pub const CATEGORIES: [&Category; 3] = [&API, &IMAGES, &TELEMETRY];

const API_THREADS: usize = 4;
const API_CONNECTIONS: usize = 3; // per thread
const API_CALLS: usize = 20; // per connection
const IMAGE_THREADS: usize = 2;
const IMAGES_PER_THREAD: usize = 3;
const TELEMETRY_THREADS: usize = 2;
const UPLOADS_PER_THREAD: usize = 12;
const EVENTS_PER_UPLOAD: usize = 200;

/// Image `n` is 512 KiB + n × 256 KiB of deterministic noise (incompressible, like JPEG).
fn image_size(n: usize) -> usize {
    (512 + 256 * (n % 6)) * 1024
}

fn noise() -> &'static [u8] {
    static NOISE: OnceLock<Vec<u8>> = OnceLock::new();
    NOISE.get_or_init(|| {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        (0..image_size(5))
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    })
}

fn json(status: &'static str, body: String) -> Response {
    Response { status, content_type: "application/json", body: body.into_bytes() }
}

/// The content server: `/api/items/<id>` and `/images/<n>.jpg`.
pub fn content_handler(req: &Request) -> Response {
    if let Some(id) = req.path.strip_prefix("/api/items/") {
        return json(
            "200 OK",
            format!(
                "{{\"id\":{id},\"name\":\"item {id}\",\"price\":{}.99,\"tags\":[\"new\",\"sale\"],\
                 \"stock\":{},\"updated\":\"2026-01-01T00:00:00Z\"}}",
                id.len() * 7,
                id.len() * 13
            ),
        );
    }
    if let Some(n) = req.path.strip_prefix("/images/").and_then(|p| p.strip_suffix(".jpg")) {
        if let Ok(n) = n.parse::<usize>() {
            let body = noise()[..image_size(n)].to_vec();
            return Response { status: "200 OK", content_type: "image/jpeg", body };
        }
    }
    json("404 Not Found", "{\"error\":\"not found\"}".into())
}

/// The telemetry sink: accepts `POST /v1/events` and answers with the count it got.
pub fn telemetry_handler(req: &Request) -> Response {
    if req.method == "POST" && req.path == "/v1/events" {
        let events = req.body.iter().filter(|&&b| b == b'\n').count();
        return json("202 Accepted", format!("{{\"accepted\":{events}}}"));
    }
    json("404 Not Found", "{\"error\":\"not found\"}".into())
}

fn api_worker(content: SocketAddrV4, worker: usize) -> qtag::Result<()> {
    for c in 0..API_CONNECTIONS {
        let mut client = Client::connect(content)?;
        for i in 0..API_CALLS {
            let id = (worker * 1000) + c * 100 + i;
            client.request("GET", &format!("/api/items/{id}"), b"", i + 1 == API_CALLS)?;
        }
    }
    Ok(())
}

fn image_worker(content: SocketAddrV4, worker: usize) -> qtag::Result<()> {
    for i in 0..IMAGES_PER_THREAD {
        let mut client = Client::connect(content)?;
        let n = worker * IMAGES_PER_THREAD + i;
        let img = client.request("GET", &format!("/images/{n}.jpg"), b"", true)?;
        if img.len() != image_size(n) {
            return Err(std::io::Error::other(format!("image {n}: got {} bytes", img.len())).into());
        }
    }
    Ok(())
}

fn telemetry_worker(sink: SocketAddrV4, worker: usize) -> qtag::Result<()> {
    let mut client = Client::connect(sink)?;
    for u in 0..UPLOADS_PER_THREAD {
        let batch: String = (0..EVENTS_PER_UPLOAD)
            .map(|e| {
                format!(
                    "{{\"worker\":{worker},\"upload\":{u},\"event\":{e},\"kind\":\"screen_view\",\
                     \"duration_ms\":{},\"session\":\"5f2b8c1e-{worker:04}-{u:04}\"}}\n",
                    (e * 37) % 1000
                )
            })
            .collect();
        client.request("POST", "/v1/events", batch.as_bytes(), u + 1 == UPLOADS_PER_THREAD)?;
    }
    Ok(())
}

/// Run every category concurrently, each worker thread under its category's tag; returns
/// the first error any worker hit.
pub fn run(content: SocketAddrV4, sink: SocketAddrV4) -> qtag::Result<()> {
    type Worker = fn(SocketAddrV4, usize) -> qtag::Result<()>;
    let plan: [(&Category, Worker, SocketAddrV4, usize); 3] = [
        (&API, api_worker, content, API_THREADS),
        (&IMAGES, image_worker, content, IMAGE_THREADS),
        (&TELEMETRY, telemetry_worker, sink, TELEMETRY_THREADS),
    ];
    thread::scope(|s| {
        let mut handles = Vec::new();
        for (cat, work, addr, threads) in plan {
            for n in 0..threads {
                handles.push(s.spawn(move || {
                    // Every socket this thread tags from now on belongs to the category.
                    let _tag = qtag::tag_scope(cat.tag);
                    work(addr, n)
                }));
            }
        }
        let mut first = Ok(());
        for h in handles {
            let r = h.join().unwrap_or_else(|_| {
                Err(std::io::Error::other("a worker thread panicked").into())
            });
            if first.is_ok() {
                first = r;
            }
        }
        first
    })
}
