//! The direct HTTP/1.1 path on io_uring: the receives and sends of many plain-text
//! connections go to the kernel together, one `io_uring_enter` per loop turn, instead of a
//! `recvfrom` and a `sendto` per request and an `epoll_wait` now and then.
//!
//! tokio still accepts, holds the connection permit and the client's slot, and serves TLS,
//! trusted proxies and hyper. A plain-text connection that would go to [`direct::serve`] is
//! handed, as its file descriptor, to a worker thread here (one per runtime thread), which
//! answers it with the same step ([`direct::answer`]) under the same timeouts. The worker
//! gives it back ([`Outcome`]) when it is closed (by the client, an error, a timeout or
//! shutdown) or when a request comes that the direct path does not answer: then the listener
//! goes on with the descriptor and the bytes read and not answered, as after
//! [`direct::End::Handoff`] (to the HTTP/2 path for a preface, else to hyper).
//!
//! Each connection has exactly one operation in flight (a receive or a send) while the
//! worker holds it, into or out of buffers that it owns; it is dropped only once that
//! operation has completed.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use io_uring::{IoUring, opcode, squeue, types};
use tokio::sync::oneshot;

use super::Limits;
use super::direct::{self, READ_SIZE};
use crate::app::App;

/// How a connection left the worker.
pub(super) enum Outcome {
    /// Closed: by the client, on an error, a timeout or at shutdown.
    Closed,
    /// For hyper to serve from here on (see [`direct::End::Handoff`]): the descriptor, back
    /// in non-blocking mode, the bytes read and not answered, and whether a request was
    /// answered first.
    Handoff {
        fd: OwnedFd,
        read: Bytes,
        answered: bool,
    },
}

/// A connection on its way to a worker.
struct Job {
    fd: OwnedFd,
    client: IpAddr,
    first_by: Instant,
    reply: oneshot::Sender<Outcome>,
}

/// What a worker is sent: connections, and whether to stop.
struct Inbox {
    /// `None` once the worker has ended: a connection handed then is closed at once.
    jobs: Mutex<Option<Vec<Job>>>,
    stop: AtomicBool,
    /// An eventfd the worker always has a read of in flight.
    wake: OwnedFd,
}

impl Inbox {
    fn jobs(&self) -> std::sync::MutexGuard<'_, Option<Vec<Job>>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wake(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer to an eventfd this inbox owns.
        let _ = unsafe { libc::write(self.wake.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    }
}

/// The io_uring workers of one listener.
pub(super) struct Pool {
    inboxes: Vec<Arc<Inbox>>,
    next: AtomicUsize,
}

impl Pool {
    /// Start `workers` threads, each with its own ring; fails when the kernel offers no
    /// io_uring (`ENOSYS`, `EPERM` under a seccomp filter) or too old a one.
    pub(super) fn start(app: Arc<App>, limits: &Limits, workers: usize) -> io::Result<Pool> {
        let mut inboxes = Vec::new();
        for n in 0..workers.max(1) {
            // SAFETY: eventfd(2) takes no pointers; the descriptor is checked and owned.
            let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` was just opened and nothing else owns it.
            let wake = unsafe { OwnedFd::from_raw_fd(fd) };
            let inbox = Arc::new(Inbox {
                jobs: Mutex::new(Some(Vec::new())),
                stop: AtomicBool::new(false),
                wake,
            });
            // The ring is made on the thread that submits to it (single issuer).
            let (ready_tx, ready_rx) = std::sync::mpsc::channel();
            let (app, limits, worker_inbox) = (app.clone(), limits.clone(), inbox.clone());
            std::thread::Builder::new()
                .name(format!("seeother-uring-{n}"))
                .spawn(move || match ring() {
                    Ok(ring) => {
                        let _ = ready_tx.send(Ok(()));
                        Worker::new(ring, app, &limits, worker_inbox).run();
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                })?;
            let started = ready_rx
                .recv()
                .unwrap_or_else(|_| Err(io::Error::other("io_uring worker did not start")));
            if let Err(e) = started {
                // Dropping the pool stops the workers started so far.
                drop(Pool {
                    inboxes,
                    next: AtomicUsize::new(0),
                });
                return Err(e);
            }
            inboxes.push(inbox);
        }
        Ok(Pool {
            inboxes,
            next: AtomicUsize::new(0),
        })
    }

    /// Serve `fd` (a connected TCP socket, any mode) on the direct path from now on; its
    /// first request's header block is due by `first_by`.
    pub(super) fn hand(
        &self,
        fd: OwnedFd,
        client: IpAddr,
        first_by: Instant,
    ) -> oneshot::Receiver<Outcome> {
        let (reply, outcome) = oneshot::channel();
        let n = self.next.fetch_add(1, Ordering::Relaxed) % self.inboxes.len();
        let inbox = &self.inboxes[n];
        let job = Job {
            fd,
            client,
            first_by,
            reply,
        };
        match &mut *inbox.jobs() {
            Some(jobs) => jobs.push(job),
            None => {
                let _ = job.reply.send(Outcome::Closed);
                return outcome;
            }
        }
        inbox.wake();
        outcome
    }

    /// Shut down: each worker closes its connections waiting for a request, finishes the
    /// answers it is sending (then closes those too), and ends.
    pub(super) fn stop(&self) {
        for inbox in &self.inboxes {
            inbox.stop.store(true, Ordering::Relaxed);
            inbox.wake();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Submission entries per ring: one operation in flight per connection, and more wait.
const ENTRIES: u32 = 1024;

fn ring() -> io::Result<IoUring> {
    // Completions run only when the worker asks for them (kernel 6.1), else as they come.
    let ring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_cqsize(ENTRIES * 8)
        .build(ENTRIES)
        .or_else(|_| IoUring::builder().setup_cqsize(ENTRIES * 8).build(ENTRIES))?;
    // A wait with a timeout (kernel 5.11), and completions kept when the queue overflows.
    if !ring.params().is_feature_ext_arg() || !ring.params().is_feature_nodrop() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the kernel's io_uring lacks timed waits",
        ));
    }
    Ok(ring)
}

/// The `user_data` of the eventfd's read; a connection's is its index.
const WAKE: u64 = u64::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Recv,
    Send,
}

/// One connection on the direct path.
struct Conn {
    fd: OwnedFd,
    client: IpAddr,
    first_by: Instant,
    reply: Option<oneshot::Sender<Outcome>>,
    /// The last read; the kernel writes into its spare capacity during a receive.
    buf: Vec<u8>,
    /// Answers owed; the kernel reads `out[sent..]` during a send.
    out: Vec<u8>,
    sent: usize,
    /// The operation in flight.
    op: Op,
    /// Whether a request has been answered.
    served: bool,
    /// When bytes last moved, to the loop turn.
    moved: Instant,
    /// Where hyper takes over in `buf` once `out` is sent.
    handoff_at: Option<usize>,
    /// Shut down (timeout or stop): dropped when the operation in flight completes.
    closing: bool,
}

struct Worker {
    ring: IoUring,
    app: Arc<App>,
    limits: Limits,
    inbox: Arc<Inbox>,
    conns: Vec<Option<Box<Conn>>>,
    free: Vec<usize>,
    live: usize,
    /// The eventfd's read lands here.
    wake_buf: Box<[u8; 8]>,
    wake_armed: bool,
    stopping: bool,
    /// Quiet for this long between requests, a connection is closed (as on the epoll path).
    quiet: Duration,
    /// How often deadlines are looked at.
    step: Duration,
    pending: Vec<squeue::Entry>,
    /// Whether receives may wait for readability first (off when the kernel refuses it).
    poll_first: bool,
}

impl Worker {
    fn new(ring: IoUring, app: Arc<App>, limits: &Limits, inbox: Arc<Inbox>) -> Worker {
        let quiet = limits.header_read_timeout.min(limits.idle_timeout);
        Worker {
            ring,
            app,
            limits: limits.clone(),
            inbox,
            conns: Vec::new(),
            free: Vec::new(),
            live: 0,
            wake_buf: Box::new([0; 8]),
            wake_armed: false,
            stopping: false,
            quiet,
            step: (quiet / 8).clamp(Duration::from_millis(10), Duration::from_millis(250)),
            pending: Vec::new(),
            poll_first: true,
        }
    }

    fn run(mut self) {
        let mut next_sweep = Instant::now() + self.step;
        let mut done = Vec::new();
        loop {
            if !self.wake_armed {
                let buf = self.wake_buf.as_mut_ptr();
                let read = opcode::Read::new(types::Fd(self.inbox.wake.as_raw_fd()), buf, 8);
                self.pending.push(read.build().user_data(WAKE));
                self.wake_armed = true;
            }
            if self.stopping && self.live == 0 {
                break;
            }
            if let Err(e) = self.flush() {
                tracing::error!(error = %e, "io_uring submission failed");
                break;
            }
            let wait = next_sweep.saturating_duration_since(Instant::now());
            let ts = types::Timespec::new()
                .sec(wait.as_secs())
                .nsec(wait.subsec_nanos());
            let args = types::SubmitArgs::new().timespec(&ts);
            match self.ring.submitter().submit_with_args(1, &args) {
                Ok(_) => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME | libc::EINTR)) => {}
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
                Err(e) => {
                    tracing::error!(error = %e, "io_uring wait failed");
                    break;
                }
            }
            let now = Instant::now();
            done.extend(
                self.ring
                    .completion()
                    .map(|cqe| (cqe.user_data(), cqe.result())),
            );
            for (key, res) in done.drain(..) {
                if key == WAKE {
                    self.wake_armed = false;
                    self.take_jobs(now);
                } else {
                    self.complete(key as usize, res, now);
                }
            }
            if now >= next_sweep {
                self.sweep(now);
                next_sweep = now + self.step;
            }
        }
        self.finish();
    }

    /// Queue the pending entries, submitting whenever the ring is full.
    fn flush(&mut self) -> io::Result<()> {
        let mut at = 0;
        while at < self.pending.len() {
            let mut sq = self.ring.submission();
            while at < self.pending.len() {
                // SAFETY: every entry points into a buffer its connection (or the worker)
                // owns and does not touch or drop until the entry's completion.
                if unsafe { sq.push(&self.pending[at]) }.is_err() {
                    break;
                }
                at += 1;
            }
            drop(sq);
            if at < self.pending.len() {
                self.ring.submit()?;
            }
        }
        self.pending.clear();
        Ok(())
    }

    /// Let the eventfd's read in flight complete, so nothing the kernel may write is
    /// dropped before it has.
    fn finish(&mut self) {
        while self.wake_armed {
            self.inbox.wake();
            if self.flush().is_err() || self.ring.submit_and_wait(1).is_err() {
                return;
            }
            let wake = self.ring.completion().any(|cqe| cqe.user_data() == WAKE);
            if wake {
                self.wake_armed = false;
            }
        }
    }

    fn take_jobs(&mut self, now: Instant) {
        if self.inbox.stop.load(Ordering::Relaxed) && !self.stopping {
            self.stopping = true;
            for key in 0..self.conns.len() {
                if let Some(conn) = &mut self.conns[key]
                    && conn.op == Op::Recv
                {
                    shut(conn);
                }
            }
        }
        let jobs = self.inbox.jobs().as_mut().map(std::mem::take);
        for job in jobs.into_iter().flatten() {
            if self.stopping {
                let _ = job.reply.send(Outcome::Closed);
                continue;
            }
            // Blocking, so that a receive with nothing to read waits in the kernel rather
            // than completing with EAGAIN.
            if set_nonblocking(&job.fd, false).is_err() {
                let _ = job.reply.send(Outcome::Closed);
                continue;
            }
            let conn = Box::new(Conn {
                fd: job.fd,
                client: job.client,
                first_by: job.first_by,
                reply: Some(job.reply),
                buf: Vec::with_capacity(READ_SIZE),
                out: Vec::new(),
                sent: 0,
                op: Op::Recv,
                served: false,
                moved: now,
                handoff_at: None,
                closing: false,
            });
            let key = match self.free.pop() {
                Some(key) => key,
                None => {
                    self.conns.push(None);
                    self.conns.len() - 1
                }
            };
            self.live += 1;
            self.pending
                .push(recv(self.conns[key].insert(conn), key, self.poll_first));
        }
    }

    /// The operation in flight on connection `key` completed with `res`.
    fn complete(&mut self, key: usize, res: i32, now: Instant) {
        let Some(conn) = self.conns.get_mut(key).and_then(Option::as_mut) else {
            return;
        };
        // A kernel before 5.19 refuses the flag: receive without it from then on.
        let refused = res == -libc::EINVAL && conn.op == Op::Recv && self.poll_first;
        if refused {
            self.poll_first = false;
        }
        if refused || res == -libc::EINTR || res == -libc::EAGAIN {
            let again = match conn.op {
                Op::Recv => recv(conn, key, self.poll_first),
                Op::Send => send(conn, key),
            };
            self.pending.push(again);
            return;
        }
        if conn.closing || res <= 0 {
            return self.close(key);
        }
        conn.moved = now;
        let n = res as usize;
        match conn.op {
            Op::Recv => {
                // SAFETY: the kernel wrote `n` bytes into the spare capacity the receive
                // was given (`buf` was empty, its capacity READ_SIZE).
                unsafe { conn.buf.set_len(n) };
                let turn = direct::answer(
                    &self.app,
                    &self.limits,
                    conn.client,
                    &conn.buf,
                    &mut conn.out,
                );
                if turn.answered == 0 {
                    return self.handoff(key, turn.used);
                }
                conn.served = true;
                conn.handoff_at = turn.handoff.then_some(turn.used);
                // RFC 9112 §9.3.2: responses to pipelined requests go in the requests' order.
                conn.sent = 0;
                self.pending.push(send(conn, key));
            }
            Op::Send => {
                conn.sent += n;
                if conn.sent < conn.out.len() {
                    self.pending.push(send(conn, key));
                } else if let Some(at) = conn.handoff_at {
                    self.handoff(key, at);
                } else if self.stopping {
                    self.close(key);
                } else {
                    conn.out.clear();
                    conn.buf.clear();
                    self.pending.push(recv(conn, key, self.poll_first));
                }
            }
        }
    }

    /// Close connections past their deadline: the first request's header block by
    /// `first_by`, and no bytes moving for `quiet` (the header timer between requests, or
    /// a client that does not read its answers).
    fn sweep(&mut self, now: Instant) {
        for conn in self.conns.iter_mut().flatten() {
            if conn.closing {
                continue;
            }
            if !conn.served && now >= conn.first_by {
                self.app.metrics.count_header_timeout();
                shut(conn);
            } else if now.duration_since(conn.moved) >= self.quiet {
                shut(conn);
            }
        }
    }

    fn take(&mut self, key: usize) -> Option<Box<Conn>> {
        let conn = self.conns.get_mut(key)?.take()?;
        self.free.push(key);
        self.live -= 1;
        Some(conn)
    }

    fn close(&mut self, key: usize) {
        if let Some(mut conn) = self.take(key)
            && let Some(reply) = conn.reply.take()
        {
            let _ = reply.send(Outcome::Closed);
        }
    }

    fn handoff(&mut self, key: usize, at: usize) {
        let Some(mut conn) = self.take(key) else {
            return;
        };
        let Some(reply) = conn.reply.take() else {
            return;
        };
        if set_nonblocking(&conn.fd, true).is_err() {
            let _ = reply.send(Outcome::Closed);
            return;
        }
        let read = Bytes::copy_from_slice(&conn.buf[at..]);
        let _ = reply.send(Outcome::Handoff {
            fd: conn.fd,
            read,
            answered: conn.served,
        });
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        for job in self.inbox.jobs().take().into_iter().flatten() {
            let _ = job.reply.send(Outcome::Closed);
        }
        // Only on a panic can operations still be in flight: then their buffers are leaked
        // rather than freed under the kernel, and their tokio tasks told the end.
        for mut conn in std::mem::take(&mut self.conns).into_iter().flatten() {
            if let Some(reply) = conn.reply.take() {
                let _ = reply.send(Outcome::Closed);
            }
            std::mem::forget(conn);
        }
        if self.wake_armed {
            std::mem::forget(std::mem::replace(&mut self.wake_buf, Box::new([0; 8])));
        }
    }
}

/// `IORING_RECVSEND_POLL_FIRST` (kernel 5.19): wait for the socket to be readable before
/// trying to receive.
const POLL_FIRST: u16 = 1;

/// A receive into `conn.buf`'s spare capacity. Once the connection has been answered, the
/// next request is not there yet as a rule: `poll_first` then skips the attempt that would
/// find nothing.
fn recv(conn: &mut Conn, key: usize, poll_first: bool) -> squeue::Entry {
    conn.op = Op::Recv;
    let spare = conn.buf.spare_capacity_mut();
    let prio = if poll_first && conn.served {
        POLL_FIRST
    } else {
        0
    };
    opcode::Recv::new(
        types::Fd(conn.fd.as_raw_fd()),
        spare.as_mut_ptr().cast(),
        spare.len() as u32,
    )
    .ioprio(prio)
    .build()
    .user_data(key as u64)
}

/// A send of the answers not sent yet.
fn send(conn: &mut Conn, key: usize) -> squeue::Entry {
    conn.op = Op::Send;
    let rest = &conn.out[conn.sent..];
    opcode::Send::new(
        types::Fd(conn.fd.as_raw_fd()),
        rest.as_ptr(),
        rest.len() as u32,
    )
    .flags(libc::MSG_NOSIGNAL)
    .build()
    .user_data(key as u64)
}

/// End a connection's operation in flight: shutting the socket down completes a receive
/// (with 0) or a send (with an error); the connection is dropped then.
fn shut(conn: &mut Conn) {
    conn.closing = true;
    // SAFETY: shutdown(2) on a descriptor the connection owns; no pointers.
    unsafe { libc::shutdown(conn.fd.as_raw_fd(), libc::SHUT_RDWR) };
}

fn set_nonblocking(fd: &OwnedFd, on: bool) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl(2) on a descriptor the caller owns; no pointers.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
