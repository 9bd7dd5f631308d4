//! The client's address, as the listener saw it, carried in each request's extensions.

use std::net::{IpAddr, SocketAddr};

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
