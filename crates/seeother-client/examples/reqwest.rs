//! Follow redirects by the book with a reqwest client, and print every hop:
//!
//! ```sh
//! cargo run -p seeother-client --features reqwest --example reqwest -- http://127.0.0.1:8303/demo/submit
//! ```

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use seeother_client::{History, Policy};
use tower::ServiceExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .ok_or("give a URL, e.g. http://127.0.0.1:8303/demo/submit")?;
    // reqwest must not follow redirects itself: the layer does, hop by hop.
    let reqwest = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let service = seeother_client::reqwest::follow(reqwest, Policy::default());
    let request = http::Request::post(url.as_str())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from_static(b"name=ann")))?;
    let response = service.oneshot(request).await?;
    if let Some(history) = response.extensions().get::<History>() {
        for hop in &history.hops {
            println!(
                "{} {}  {}",
                hop.method,
                seeother_client::redact::url(&hop.url),
                hop.status
            );
        }
    }
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    println!("{status}, {} bytes", body.len());
    Ok(())
}
