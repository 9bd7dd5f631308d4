//! A guestbook on Post/Redirect/Get: posting a message answers `303 See Other` to the
//! message's own page, so a reload, back or forward never posts twice; a `next` parameter
//! can send the writer elsewhere on the site, never off it.
//!
//! ```text
//! cargo run -p seeother-axum --example guestbook        # then open http://127.0.0.1:3000/
//! ```
//!
//! `tests/guestbook_browser.rs` drives it in headless Chromium.

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use seeother_axum::{NextForm, NextPolicy, PrgLayer, RedirectContext, RedirectError};
use seeother_core::note::{escape, page};

/// One message in the book.
#[derive(Clone, Debug)]
pub struct Message {
    pub name: String,
    pub text: String,
}

/// The app's state: the messages and the policy for `next`.
#[derive(Clone)]
pub struct Guestbook {
    messages: Arc<Mutex<Vec<Message>>>,
    next: NextPolicy,
}

impl FromRef<Guestbook> for NextPolicy {
    fn from_ref(book: &Guestbook) -> NextPolicy {
        book.next.clone()
    }
}

impl Guestbook {
    /// An empty book whose `next` may lead anywhere on the request's own host, and nowhere else.
    pub fn new() -> Self {
        Guestbook {
            messages: Arc::default(),
            next: NextPolicy::request_host(false),
        }
    }

    /// How many messages were posted: what a second, accidental POST would change.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Message>> {
        self.messages.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for Guestbook {
    fn default() -> Self {
        Self::new()
    }
}

/// The app: `GET /` (the book and its form), `POST /messages`, `GET /messages/{id}`.
pub fn app(book: Guestbook) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/messages", get(index).post(post_message))
        .route("/messages/{id}", get(show))
        .with_state(book)
        // Any redirect the app gets wrong is put right: 303 after POST, a note, never a
        // redirect without Location.
        .layer(PrgLayer::new())
}

/// The query of the book's page: where to go after signing, judged when the form comes back.
#[derive(serde::Deserialize)]
struct Return {
    next: Option<String>,
}

async fn index(State(book): State<Guestbook>, Query(query): Query<Return>) -> Html<String> {
    let mut list = String::from("<ol id=\"messages\">\n");
    for (i, m) in book.lock().iter().enumerate() {
        list.push_str(&format!(
            "<li><a href=\"/messages/{}\">{}</a>: {}</li>\n",
            i + 1,
            escape(&m.name),
            escape(&m.text)
        ));
    }
    list.push_str("</ol>\n");
    // The target as given, escaped, carried through the form: the POST judges it (NextForm),
    // so a doctored link cannot lead off the site.
    let hidden = match &query.next {
        Some(next) => format!(
            "<input type=\"hidden\" name=\"next\" value=\"{}\">\n",
            escape(next)
        ),
        None => String::new(),
    };
    let body = format!(
        "{list}<form method=\"post\" action=\"/messages\">\n{hidden}\
         <p><label>Name <input id=\"name\" name=\"name\" required maxlength=\"80\"></label></p>\n\
         <p><label>Message <textarea id=\"text\" name=\"text\" required maxlength=\"2000\">\
         </textarea></label></p>\n\
         <p><button type=\"submit\">Sign the book</button></p>\n</form>"
    );
    Html(page("Guestbook", &body))
}

#[derive(serde::Deserialize)]
struct NewMessage {
    name: String,
    text: String,
}

async fn post_message(
    State(book): State<Guestbook>,
    redirect: RedirectContext,
    NextForm(form, next): NextForm<NewMessage>,
) -> Result<Response, RedirectError> {
    let (name, text) = (form.name.trim(), form.text.trim());
    if name.is_empty() || text.is_empty() || name.len() > 80 || text.len() > 2000 {
        let body = "<p>A name (80 characters at most) and a message (2000 at most), please. \
                    <a href=\"/\">Back to the book</a></p>";
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(page("Not signed", body)),
        )
            .into_response());
    }
    let id = {
        let mut messages = book.lock();
        messages.push(Message {
            name: name.to_owned(),
            text: text.to_owned(),
        });
        messages.len()
    };
    // RFC 9110 §15.4.4: the POST is done; 303 tells the browser to GET the result.
    let target = if next.was_given() && next.refused().is_none() {
        next.as_str().to_owned()
    } else {
        format!("/messages/{id}")
    };
    Ok(redirect.see_other(&target)?.into_response())
}

async fn show(State(book): State<Guestbook>, Path(id): Path<usize>) -> Response {
    let message = id.checked_sub(1).and_then(|i| book.lock().get(i).cloned());
    match message {
        Some(m) => {
            let body = format!(
                "<p id=\"text\">{}</p>\n<p>Signed by <b id=\"name\">{}</b>.</p>\n\
                 <p><a href=\"/\">Back to the book</a></p>",
                escape(&m.text),
                escape(&m.name)
            );
            Html(page(&format!("Message {id}"), &body)).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Html(page(
                "No such message",
                "<p><a href=\"/\">Back to the book</a></p>",
            )),
        )
            .into_response(),
    }
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("GUESTBOOK_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("guestbook on http://{}/", listener.local_addr()?);
    axum::serve(listener, app(Guestbook::new())).await
}
