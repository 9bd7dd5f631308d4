//! The client's address, as the listener saw it, carried in each request's extensions.

use std::net::{IpAddr, SocketAddr};

use seeother_core::forwarded::Proto;

/// The address of the client that sent a request: the listener puts one in the extensions
/// of every request it hands to [`crate::http::service::handle`].
///
/// ```
/// use seeother_server::http::peer::Peer;
/// let mut req = http::Request::new(());
/// req.extensions_mut().insert(Peer("192.0.2.7:40000".parse().unwrap()));
/// assert_eq!(Peer::of(&req).unwrap().ip().to_string(), "192.0.2.7");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

impl Peer {
    /// The peer of `req`, if the listener recorded one (requests built in tests may have none).
    pub fn of<B>(req: &http::Request<B>) -> Option<SocketAddr> {
        req.extensions().get::<Peer>().map(|p| p.0)
    }

    /// The address that limits per client are counted against: the IPv4 address, or the
    /// /64 prefix of an IPv6 address (one host commonly holds a whole /64).
    pub fn client_key(addr: IpAddr) -> IpAddr {
        match addr {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let s = v6.segments();
                    IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
                }
            },
        }
    }
}

/// The scheme a trusted proxy says its client used, in the extensions of a request it
/// forwarded (see [`forwarded`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardedProto(pub Proto);

impl ForwardedProto {
    /// Whether `req` came over TLS, to this server (`tls`) or to the proxy that forwarded it.
    pub fn is_secure(extensions: &http::Extensions, tls: bool) -> bool {
        match extensions.get::<ForwardedProto>() {
            Some(ForwardedProto(proto)) => *proto == Proto::Https,
            None => tls,
        }
    }
}

/// Whether `ip` (an IPv4-mapped IPv6 address as its IPv4 address) is in one of `trusted`.
pub fn is_trusted(trusted: &[ipnet::IpNet], ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    trusted.iter().any(|net| net.contains(&ip))
}

/// Take what the trusted proxy `peer` says about `req` (its `Forwarded` or `X-Forwarded-*`
/// fields, further proxies in `trusted` skipped): the host becomes the request's `Host`
/// (rules scoped to a host answer as if the client had come directly), the scheme is kept as
/// [`ForwardedProto`], and the client's address is returned (the proxy's own when the fields
/// name none).
pub fn forwarded<B>(
    req: &mut http::Request<B>,
    peer: SocketAddr,
    trusted: &[ipnet::IpNet],
) -> SocketAddr {
    let said = seeother_core::forwarded::of(req.headers(), |ip| is_trusted(trusted, ip));
    if let Some(host) = said.host {
        // An absolute-form target (or HTTP/2's :authority) names the host too: both change.
        if req.uri().authority().is_some() {
            let mut parts = req.uri().clone().into_parts();
            if let Ok(authority) = host.parse() {
                parts.authority = Some(authority);
                if let Ok(uri) = http::Uri::from_parts(parts) {
                    *req.uri_mut() = uri;
                }
            }
        }
        if let Ok(value) = http::HeaderValue::try_from(host) {
            req.headers_mut().insert(http::header::HOST, value);
        }
    }
    if let Some(proto) = said.proto {
        req.extensions_mut().insert(ForwardedProto(proto));
    }
    said.client.map_or(peer, |ip| SocketAddr::new(ip, 0))
}
