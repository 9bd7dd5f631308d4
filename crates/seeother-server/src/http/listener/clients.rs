//! Connections per client address, so that one client cannot take every connection slot
//! (nginx's `limit_conn` on `$binary_remote_addr`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::http::peer::Peer;

/// How many connections each client address holds.
#[derive(Debug)]
pub(super) struct Clients {
    max: usize,
    held: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection of a client, counted until dropped.
#[derive(Debug)]
pub(super) struct Slot {
    clients: Arc<Clients>,
    key: IpAddr,
}

impl Clients {
    /// At most `max` connections per client address; 0 is no limit.
    pub(super) fn new(max: usize) -> Arc<Self> {
        Arc::new(Clients {
            max,
            held: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for one more connection from `addr`, or `None` when it holds its maximum.
    /// Without a limit no slot is counted.
    pub(super) fn enter(self: &Arc<Self>, addr: IpAddr) -> Option<Option<Slot>> {
        if self.max == 0 {
            return Some(None);
        }
        let key = Peer::client_key(addr);
        let mut held = self.lock();
        let n = held.entry(key).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Some(Slot {
            clients: self.clone(),
            key,
        }))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.clients.lock();
        if let Some(n) = held.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_holds_at_most_max_and_gets_its_slots_back() {
        let clients = Clients::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let one = clients.enter(a).unwrap();
        let two = clients.enter(a).unwrap();
        assert!(clients.enter(a).is_none());
        assert!(clients.enter(b).unwrap().is_some());
        drop(one);
        assert!(clients.enter(a).is_some());
        drop(two);
        assert!(clients.lock().get(&a).is_none_or(|&n| n <= 1));
    }

    #[test]
    fn one_ipv6_host_is_its_slash_64() {
        let clients = Clients::new(1);
        let _held = clients.enter("2001:db8::1".parse().unwrap()).unwrap();
        assert!(clients.enter("2001:db8::2".parse().unwrap()).is_none());
        assert!(clients.enter("2001:db8:0:1::2".parse().unwrap()).is_some());
    }

    #[test]
    fn zero_is_no_limit() {
        let clients = Clients::new(0);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<_> = (0..100).map(|_| clients.enter(a).unwrap()).collect();
        assert_eq!(held.len(), 100);
    }
}
