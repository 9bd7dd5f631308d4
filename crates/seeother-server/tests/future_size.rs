//! The size of the future hyper holds for each request. hyper moves it into place for every
//! request (and over HTTP/2 spawns it as a task), so each byte of it is copied per request;
//! the large futures of the API and admin pages must stay behind a box.

use std::sync::Arc;

use http::Request;
use seeother_server::http::body::RequestBody;
use seeother_server::http::service::{Service, handle};

/// The size of the future `f` returns, from its type alone.
fn future_size<F, Fut>(_: F) -> usize
where
    F: Fn(Arc<Service>, Request<RequestBody>) -> Fut,
{
    std::mem::size_of::<Fut>()
}

#[test]
fn the_request_handler_future_stays_small() {
    let size = future_size(handle);
    // The request itself is most of it; it was 4,552 bytes with the API's future inline.
    let request = std::mem::size_of::<Request<RequestBody>>();
    assert!(
        size <= request + 512,
        "handle's future is {size} bytes (a request is {request}): box what made it grow"
    );
}
