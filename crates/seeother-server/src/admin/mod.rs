//! The admin pages under `/-/admin`: server-rendered HTML on Post/Redirect/Get.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

use crate::http::service::App;
use crate::resolve;

/// Answer a request under `/-/admin`.
pub async fn handle(_app: &Arc<App>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    resolve::page(
        req.method(),
        StatusCode::NOT_FOUND,
        "Not Found",
        "<p>The admin pages are not built yet. The API is under <code>/-/api/</code>.</p>",
    )
    .map(Full::new)
}
