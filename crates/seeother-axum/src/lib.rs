//! HTTP `303 See Other` done right in [axum]: validated redirects that carry the RFC 9110
//! §15.4.4 note, a `next` extractor that cannot leave the site, and a Post/Redirect/Get layer.
//!
//! Every protocol rule is [`seeother_core`]'s; this crate turns axum's requests and responses
//! into its calls.
//!
//! - [`SeeOther`]: a redirect (303 by default) to a target validated when it is made, with its
//!   note; [`RedirectContext`] negotiates the note on the request's `Accept` and method.
//! - [`Next`] and [`NextForm`]: the `next` / `return_to` target of a login flow, judged by the
//!   core's open-redirect guard against the request's own origin and an allow-list
//!   ([`NextPolicy`], from the router's state).
//! - [`PrgLayer`]: a tower layer for any `http` service: 301/302 after an unsafe method
//!   become 303, a redirect without a valid `Location` becomes a 500, and a redirect without
//!   its note gets one.
//!
//! ```
//! use axum::{Router, routing::post};
//! use seeother_axum::{PrgLayer, RedirectContext, RedirectError, SeeOther};
//!
//! async fn save(redirect: RedirectContext) -> Result<SeeOther, RedirectError> {
//!     // ... store the message, then send the browser to its page.
//!     redirect.see_other("/messages/1")
//! }
//! let app: Router = Router::new().route("/messages", post(save)).layer(PrgLayer::new());
//! ```

mod next;
mod prg;
mod redirect;

pub use next::{Next, NextForm, NextPolicy, NextRejection, OnRefused, PolicyError};
pub use prg::{Prg, PrgBody, PrgFuture, PrgLayer};
pub use redirect::{RedirectContext, RedirectError, SeeOther};
pub use seeother_core::guard::GuardError;
pub use seeother_core::{Location, LocationError, RedirectStatus};
