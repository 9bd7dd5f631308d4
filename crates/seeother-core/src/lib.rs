//! The sans-IO rules of HTTP redirection, `303 See Other` first.
//!
//! Every protocol decision that seeother's server and user agent make is taken here, as pure
//! functions and small state machines over the [`http`] crate's types: no sockets, no async.
//!
//! - [`location`]: parse, validate and resolve `Location` values (RFC 9110 §10.2.2, RFC 3986 §5).
//! - [`respond`] and [`note`]: build 301/302/303/307/308 responses with the hypertext note
//!   (RFC 9110 §15.4.4); [`respond::negotiated`] picks the note's form per request; [`respond::prg`] the
//!   Post/Redirect/Get review of a finished response).
//! - [`guard`]: the open-redirect policy for targets that come from user input.
//! - [`negotiate`]: `Accept` parsing and variant choice (RFC 9110 §12.5.1).
//! - [`host`]: the authority a request is for, and when its `Host` is a bad request
//!   (RFC 9112 §3.2).
//! - [`h1`]: HTTP/1.1 framing of the simplest requests and their answers (RFC 9112).
//! - [`follow`]: the user agent's redirect state machine (RFC 9110 §15.4, Fetch §4.4).
//! - [`referrer`]: the `Referer` a redirected request carries (Referrer Policy §8).
//! - [`check`]: link health, what a target's chain of answers says about it.

pub mod check;
pub mod follow;
pub mod forwarded;
pub mod guard;
pub mod h1;
pub mod host;
pub mod location;
pub mod negotiate;
pub mod note;
pub mod referrer;
pub mod respond;

pub use follow::{Follow, FollowError, Policy, Step};
pub use location::{Location, LocationError};
pub use respond::{Redirect, RedirectStatus};
