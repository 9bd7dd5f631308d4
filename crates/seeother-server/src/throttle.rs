//! Failed authentication, limited per client: against guessing the admin token through the
//! API's `Authorization` or the sign-in form.
//!
//! Each client key ([`Peer::client_key`]: an IPv4 address, or an IPv6 /64) has a token bucket
//! of [`Config::burst`] failures that refills by one every [`Config::interval`]. A client whose
//! bucket is empty is answered `429 Too Many Requests` with `Retry-After` before its
//! credentials are looked at, the right token included, until the bucket has refilled by one.
//! A successful authentication takes nothing from the bucket. The buckets are kept in a table
//! of at most [`Config::max_clients`]; a new client in a full table evicts the one closest to
//! having refilled (a full bucket is not kept at all).
//!
//! The bucket is kept as the generic cell rate algorithm's "theoretical arrival time" (the
//! moment the bucket is full again), one `Instant` per client.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

use crate::http::peer::Peer;

/// The limits of a [`Throttle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Failures a client may make at once.
    pub burst: u32,
    /// One more failure is allowed per this interval.
    pub interval: Duration,
    /// Clients tracked at most.
    pub max_clients: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            burst: 10,
            interval: Duration::from_secs(1),
            max_clients: 10_000,
        }
    }
}

/// A client that must wait before it may authenticate again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait(Duration);

impl Wait {
    /// Whole seconds to wait, rounded up, at least 1 (the `Retry-After` value).
    pub fn seconds(&self) -> u64 {
        let d = self.0;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }

    /// The `Retry-After` field value.
    pub fn retry_after(&self) -> HeaderValue {
        // RFC 9110 §10.2.3: Retry-After as delay-seconds.
        HeaderValue::from(self.seconds())
    }

    /// The admin API's answer: `429` with `Retry-After` and a JSON error saying what to do.
    pub fn api_response(&self) -> Response<Full<Bytes>> {
        let error = serde_json::json!({
            "error": format!(
                "too many wrong admin tokens from your address; wait {} s (Retry-After) and \
                 send the right token: until then every request from this address is refused, \
                 the right token included",
                self.seconds()
            )
        });
        let mut body = serde_json::to_vec_pretty(&error).unwrap_or_default();
        body.push(b'\n');
        let mut r = Response::new(Full::new(Bytes::from(body)));
        // RFC 6585 §4: 429 Too Many Requests.
        *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        let h = r.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.insert(RETRY_AFTER, self.retry_after());
        r
    }
}

/// The buckets of failed authentications, per client key.
#[derive(Debug)]
pub struct Throttle {
    config: Config,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Per client: when its bucket is full again.
    full_at: HashMap<IpAddr, Instant>,
    /// The same, ordered by that time (first: the one to evict or drop).
    order: BTreeSet<(Instant, IpAddr)>,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new(Config::default())
    }
}

/// The key of a request's client; requests without a recorded peer share one.
pub fn client_of<B>(req: &http::Request<B>) -> IpAddr {
    client_in(req.extensions())
}

/// The key of the client whose request has `extensions` (an extractor's view of it).
pub fn client_in(extensions: &http::Extensions) -> IpAddr {
    extensions
        .get::<Peer>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| {
            Peer::client_key(p.0.ip())
        })
}

impl Throttle {
    /// A throttle with `config` (a burst of 0 is taken as 1).
    pub fn new(config: Config) -> Self {
        Throttle {
            config: Config {
                burst: config.burst.max(1),
                max_clients: config.max_clients.max(1),
                ..config
            },
            inner: Mutex::default(),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> Config {
        self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long the bucket may be in debt and still allow a failure.
    fn slack(&self) -> Duration {
        self.config.interval * (self.config.burst - 1)
    }

    /// `Ok` when `client` may try to authenticate now, else how long it must wait.
    pub fn check(&self, client: IpAddr) -> Result<(), Wait> {
        self.check_at(client, Instant::now())
    }

    fn check_at(&self, client: IpAddr, now: Instant) -> Result<(), Wait> {
        let inner = self.lock();
        let Some(&full_at) = inner.full_at.get(&client) else {
            return Ok(());
        };
        let debt = full_at.saturating_duration_since(now);
        match debt.checked_sub(self.slack()) {
            Some(wait) if !wait.is_zero() => Err(Wait(wait)),
            _ => Ok(()),
        }
    }

    /// Count a failed authentication by `client`.
    pub fn failed(&self, client: IpAddr) {
        self.failed_at(client, Instant::now());
    }

    fn failed_at(&self, client: IpAddr, now: Instant) {
        let mut inner = self.lock();
        let Inner { full_at, order } = &mut *inner;
        // Buckets full again are as good as none: dropped (the oldest come first).
        while let Some(&(at, ip)) = order.first() {
            if at > now {
                break;
            }
            order.pop_first();
            full_at.remove(&ip);
        }
        let previous = full_at.get(&client).copied();
        if let Some(at) = previous {
            order.remove(&(at, client));
        } else if full_at.len() >= self.config.max_clients {
            // Bounded memory: the client nearest to a full bucket goes.
            if let Some((_, ip)) = order.pop_first() {
                full_at.remove(&ip);
            }
        }
        let next = previous.map_or(now, |at| at.max(now)) + self.config.interval;
        full_at.insert(client, next);
        order.insert((next, client));
    }

    /// Clients tracked now.
    pub fn tracked(&self) -> usize {
        self.lock().full_at.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ten_failures_then_one_per_interval() {
        let t = Throttle::default();
        let a = ip("192.0.2.1");
        let now = Instant::now();
        for i in 0..10 {
            assert_eq!(t.check_at(a, now), Ok(()), "failure {}", i + 1);
            t.failed_at(a, now);
        }
        let wait = t.check_at(a, now).unwrap_err();
        assert_eq!(wait.seconds(), 1);
        assert_eq!(wait.retry_after(), "1");
        // Another client is not touched.
        assert_eq!(t.check_at(ip("192.0.2.2"), now), Ok(()));
        // Half a second later: still 1 s to say (rounded up); after a second, one more try.
        let half = now + Duration::from_millis(500);
        assert_eq!(t.check_at(a, half).unwrap_err().seconds(), 1);
        let later = now + Duration::from_secs(1);
        assert_eq!(t.check_at(a, later), Ok(()));
        t.failed_at(a, later);
        assert!(t.check_at(a, later).is_err());
        // Ten seconds after the last failure the bucket is full again and dropped.
        let full = later + Duration::from_secs(10);
        assert_eq!(t.check_at(a, full), Ok(()));
        t.failed_at(ip("192.0.2.3"), full);
        assert_eq!(t.tracked(), 1, "the refilled bucket was dropped");
    }

    #[test]
    fn memory_is_bounded_and_the_nearest_to_full_is_evicted() {
        let t = Throttle::new(Config {
            burst: 2,
            interval: Duration::from_secs(1),
            max_clients: 3,
        });
        let now = Instant::now();
        let (a, b, c, d) = (
            ip("10.0.0.1"),
            ip("10.0.0.2"),
            ip("10.0.0.3"),
            ip("10.0.0.4"),
        );
        for _ in 0..2 {
            t.failed_at(a, now);
        }
        for x in [b, c] {
            for _ in 0..2 {
                t.failed_at(x, now + Duration::from_millis(10));
            }
        }
        assert!(t.check_at(a, now).is_err());
        t.failed_at(d, now + Duration::from_millis(20));
        assert_eq!(t.tracked(), 3);
        assert_eq!(t.check_at(a, now), Ok(()), "the oldest was evicted");
        assert!(t.check_at(b, now).is_err() && t.check_at(c, now).is_err());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(Wait(Duration::from_millis(1)).seconds(), 1);
        assert_eq!(Wait(Duration::from_millis(1001)).seconds(), 2);
        assert_eq!(Wait(Duration::from_secs(3)).seconds(), 3);
        let r = Wait(Duration::from_secs(2)).api_response();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()[RETRY_AFTER], "2");
    }
}
