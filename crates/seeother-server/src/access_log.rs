//! The access log (`seeother serve --access-log PATH|-`): one line per request, in the
//! combined format of Apache and nginx or as JSON (with the rule that answered, its
//! `Location` and the time taken).
//!
//! Off the hot path: a request hands its entry to a bounded queue and goes on; a thread of
//! its own takes what is queued every 20 ms at most while entries come (so that no request
//! has to wake it), formats the entries and writes them through a 64 KiB buffer, flushed
//! every second and at shutdown. When the writer falls behind, entries are dropped and counted rather than
//! slowing requests down. SIGHUP reopens the file, so `logrotate` can move it away first
//! (`postrotate`: `systemctl reload seeother`). With the log off nothing of this runs and a
//! request allocates nothing for it.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Entries waiting for the writer at most; past that they are dropped.
const QUEUE: usize = 1 << 16;
/// How long written entries may wait in the buffer.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How long the writer rests after writing what was queued, before it waits on the queue
/// again: while it rests, a request queues its entry without waking it (a thread parked on
/// the queue costs every request a wake-up and a switch to the writer and back, about as much
/// as answering the request, measured at 10,000 rules).
const REST: Duration = Duration::from_millis(20);

/// The notation of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The combined log format (Apache's `%h %l %u %t "%r" %>s %b "%{Referer}i"
    /// "%{User-agent}i"`, nginx's `combined`), read by every log analyser.
    Combined,
    /// One JSON object per line, with the rule, `Location` and duration too.
    Json,
}

impl Format {
    /// `combined` or `json`.
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "combined" => Some(Format::Combined),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Where the log goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Standard output (`-`): for a journal or a container's log.
    Stdout,
    /// A file, appended to (created with mode 0640 when missing).
    File(PathBuf),
}

/// One request, as logged.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    /// When it was answered (Unix seconds, fraction included).
    #[serde(serialize_with = "rfc3339")]
    pub time: SystemTime,
    /// The client's address (the one a trusted proxy named, behind one).
    pub client: Option<IpAddr>,
    /// The method.
    pub method: String,
    /// The host asked for.
    pub host: Option<String>,
    /// The path and query.
    pub target: String,
    /// `HTTP/1.1`, `HTTP/2.0` …
    pub protocol: &'static str,
    /// The status code.
    pub status: u16,
    /// Bytes of content sent.
    pub bytes: usize,
    /// The `Location` sent, if any.
    pub location: Option<String>,
    /// The id of the rule that answered, if one did.
    pub rule: Option<i64>,
    /// Time from the request read to the answer made, in milliseconds.
    pub duration_ms: f64,
    /// The `Referer` field.
    pub referer: Option<String>,
    /// The `User-Agent` field.
    pub user_agent: Option<String>,
}

impl Entry {
    /// The entry of a request, before its answer (status, bytes, `Location`, rule and
    /// duration are filled in when it is answered).
    pub fn of_request(
        method: &http::Method,
        host: Option<&str>,
        path: &str,
        query: Option<&str>,
        version: http::Version,
        client: Option<IpAddr>,
        headers: &http::HeaderMap,
    ) -> Entry {
        let field = |name: http::header::HeaderName| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let mut target = String::with_capacity(path.len() + query.map_or(0, |q| q.len() + 1));
        target.push_str(path);
        if let Some(q) = query {
            target.push('?');
            target.push_str(q);
        }
        Entry {
            time: SystemTime::now(),
            client,
            method: method.as_str().to_owned(),
            host: host.map(str::to_owned),
            target,
            protocol: match version {
                http::Version::HTTP_09 => "HTTP/0.9",
                http::Version::HTTP_10 => "HTTP/1.0",
                http::Version::HTTP_11 => "HTTP/1.1",
                http::Version::HTTP_2 => "HTTP/2.0",
                http::Version::HTTP_3 => "HTTP/3.0",
                _ => "HTTP",
            },
            status: 0,
            bytes: 0,
            location: None,
            rule: None,
            duration_ms: 0.0,
            referer: field(http::header::REFERER),
            user_agent: field(http::header::USER_AGENT),
        }
    }
}

enum Msg {
    Entry(Box<Entry>),
    Reopen,
    Close,
}

/// The access log: entries queued for its writer thread.
#[derive(Debug)]
pub struct AccessLog {
    queue: SyncSender<Msg>,
    dropped: AtomicU64,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl AccessLog {
    /// Open `to` (a file is created if missing and appended to) and start the writer.
    pub fn open(to: Destination, format: Format) -> io::Result<AccessLog> {
        let out = Out::open(&to)?;
        let (queue, rx) = mpsc::sync_channel(QUEUE);
        let writer = std::thread::Builder::new()
            .name("seeother-access-log".into())
            .spawn(move || write_all(rx, out, to, format))?;
        Ok(AccessLog {
            queue,
            dropped: AtomicU64::new(0),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Queue `entry`; dropped (and counted) when the writer is that far behind.
    pub fn log(&self, entry: Entry) {
        if let Err(TrySendError::Full(_)) = self.queue.try_send(Msg::Entry(Box::new(entry))) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Entries dropped so far because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Have the writer open the file again (after `logrotate` moved it).
    pub fn reopen(&self) {
        let _ = self.queue.send(Msg::Reopen);
    }

    /// Write what is queued, flush, and stop the writer.
    pub fn close(&self) {
        let _ = self.queue.send(Msg::Close);
        let handle = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
        let dropped = self.dropped();
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "access log: entries dropped while its writer was behind"
            );
        }
    }
}

/// The writer's output.
enum Out {
    Stdout(BufWriter<io::Stdout>),
    File(BufWriter<File>),
}

impl Out {
    fn open(to: &Destination) -> io::Result<Out> {
        Ok(match to {
            Destination::Stdout => Out::Stdout(BufWriter::with_capacity(64 << 10, io::stdout())),
            Destination::File(path) => {
                let mut options = OpenOptions::new();
                options.create(true).append(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o640);
                let file = options.open(path).map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("cannot open the access log {}: {e}", path.display()),
                    )
                })?;
                Out::File(BufWriter::with_capacity(64 << 10, file))
            }
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Out::Stdout(w) => w,
            Out::File(w) => w,
        }
    }
}

/// The writer thread: entries as they come, a flush at most a second after a line was
/// written, a reopen when asked, until closed.
fn write_all(rx: Receiver<Msg>, mut out: Out, to: Destination, format: Format) {
    let mut line = String::with_capacity(512);
    let mut unflushed = false;
    let mut flushed = Instant::now();
    loop {
        // Written lines wait a second at most, however steadily they come.
        if unflushed && flushed.elapsed() >= FLUSH_EVERY {
            let _ = out.writer().flush();
            unflushed = false;
        }
        if !unflushed {
            flushed = Instant::now();
        }
        let wait = FLUSH_EVERY.saturating_sub(flushed.elapsed());
        let first = match rx.recv_timeout(wait) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => Msg::Close,
        };
        // Everything queued meanwhile, then a rest (see `REST`).
        let more = std::iter::from_fn(|| match rx.try_recv() {
            Ok(m) => Some(m),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Msg::Close),
        });
        for msg in std::iter::once(first).chain(more) {
            if !write_one(msg, &mut out, &to, format, &mut line) {
                return;
            }
            unflushed = true;
        }
        std::thread::sleep(REST);
    }
}

/// Write one message's entry (or reopen, or flush and close); false when closed.
fn write_one(msg: Msg, out: &mut Out, to: &Destination, format: Format, line: &mut String) -> bool {
    match msg {
        Msg::Entry(e) => {
            line.clear();
            match format {
                Format::Combined => combined(&e, line),
                Format::Json => {
                    line.push_str(&serde_json::to_string(&*e).unwrap_or_default());
                }
            }
            line.push('\n');
            if let Err(err) = out.writer().write_all(line.as_bytes()) {
                tracing::warn!(error = %err, "access log: cannot write");
            }
        }
        Msg::Reopen => {
            let _ = out.writer().flush();
            if matches!(to, Destination::File(_)) {
                match Out::open(to) {
                    Ok(o) => *out = o,
                    Err(err) => {
                        tracing::warn!(error = %err, "access log: cannot reopen; writing to the old file")
                    }
                }
            }
        }
        Msg::Close => {
            let _ = out.writer().flush();
            return false;
        }
    }
    true
}

/// `e` in the combined log format.
fn combined(e: &Entry, out: &mut String) {
    use std::fmt::Write as _;
    match e.client {
        Some(ip) => {
            let _ = write!(out, "{ip}");
        }
        None => out.push('-'),
    }
    out.push_str(" - - [");
    let (y, mo, d, h, mi, s) = utc(unix_seconds(e.time));
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let _ = write!(
        out,
        "{d:02}/{}/{y:04}:{h:02}:{mi:02}:{s:02} +0000] \"",
        MONTHS[(mo - 1) as usize]
    );
    quoted(&e.method, out);
    out.push(' ');
    quoted(&e.target, out);
    out.push(' ');
    out.push_str(e.protocol);
    let _ = write!(out, "\" {} {} \"", e.status, e.bytes);
    quoted(e.referer.as_deref().unwrap_or("-"), out);
    out.push_str("\" \"");
    quoted(e.user_agent.as_deref().unwrap_or("-"), out);
    out.push('"');
}

/// `text` as the inside of a quoted field: `"`, `\` and control bytes escaped as `\xHH`
/// (as nginx writes them), so a client cannot forge a line or a field.
fn quoted(text: &str, out: &mut String) {
    use std::fmt::Write as _;
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c if c.is_control() => {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\x{b:02X}");
                }
            }
            c => out.push(c),
        }
    }
}

fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `at` (Unix seconds) as UTC (year, month, day, hour, minute, second), proleptic Gregorian
/// (H. Hinnant's days-to-civil algorithm).
pub(crate) fn utc(at: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = at.div_euclid(86_400);
    let secs = at.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m as u32,
        d as u32,
        (secs / 3600) as u32,
        (secs / 60 % 60) as u32,
        (secs % 60) as u32,
    )
}

/// `YYYY-MM-DDThh:mm:ss.mmmZ` (RFC 3339 §5.6).
fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (y, mo, day, h, mi, sec) = utc(d.as_secs() as i64);
    s.serialize_str(&format!(
        "{y:04}-{mo:02}-{day:02}T{h:02}:{mi:02}:{sec:02}.{:03}Z",
        d.subsec_millis()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            time: UNIX_EPOCH + Duration::from_millis(1_709_251_199_250),
            client: Some("192.0.2.7".parse().unwrap()),
            method: "GET".into(),
            host: Some("id.example.org".into()),
            target: "/id/a?x=\"1\"".into(),
            protocol: "HTTP/1.1",
            status: 303,
            bytes: 120,
            location: Some("https://example.org/a".into()),
            rule: Some(7),
            duration_ms: 0.05,
            referer: None,
            user_agent: Some("curl/8\n".into()),
        }
    }

    #[test]
    fn combined_escapes_what_could_forge_a_line() {
        let mut line = String::new();
        combined(&entry(), &mut line);
        assert_eq!(
            line,
            r#"192.0.2.7 - - [29/Feb/2024:23:59:59 +0000] "GET /id/a?x=\x221\x22 HTTP/1.1" 303 120 "-" "curl/8\x0A""#
        );
    }

    #[test]
    fn json_has_the_rule_location_and_time() {
        let v = serde_json::to_value(entry()).unwrap();
        assert_eq!(v["time"], "2024-02-29T23:59:59.250Z");
        assert_eq!(v["rule"], 7);
        assert_eq!(v["location"], "https://example.org/a");
        assert_eq!(v["client"], "192.0.2.7");
    }
}
