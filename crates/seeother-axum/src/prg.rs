//! [`PrgLayer`]: Post/Redirect/Get rules for every response of a service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_LENGTH, LOCATION, TRANSFER_ENCODING};
use http::{HeaderMap, Method, Request, Response};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use seeother_core::respond::Note;
use seeother_core::respond::prg::{Rules, Verdict, review};
use tower::{Layer, Service};

use crate::redirect::{SERVER_ERROR_BODY, Unnegotiated, server_error};

/// A tower layer that holds every redirect of the wrapped service to the rules of
/// RFC 9110 §15.4, for axum, hyper or any service of `http` requests and responses:
///
/// - a 301 or 302 answering a method other than GET or HEAD becomes a 303 (opt out with
///   [`PrgLayer::keep_status`]);
/// - a 301/302/303/307/308 without exactly one valid `Location` becomes a
///   `500 Internal Server Error`, with a log line (`tracing`, level error);
/// - a redirect with an empty body gets its note, negotiated on the request's `Accept`
///   (HTML or plain text) with `Vary: Accept`; a HEAD gets the header fields of the GET
///   answer and no body. A [`SeeOther`](crate::SeeOther) made without a
///   [`RedirectContext`](crate::RedirectContext) has its note negotiated here too.
///
/// ```
/// use axum::{Router, response::Redirect, routing::post};
/// use seeother_axum::PrgLayer;
///
/// // axum's own Redirect: PrgLayer gives it its note.
/// let app: Router = Router::new()
///     .route("/login", post(|| async { Redirect::to("/home") }))
///     .layer(PrgLayer::new());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct PrgLayer {
    rules: Rules,
}

impl PrgLayer {
    /// All the rules.
    pub fn new() -> Self {
        Self::default()
    }

    /// Leave 301 and 302 as they are after POST and other unsafe methods.
    pub fn keep_status(mut self) -> Self {
        self.rules.see_other_after_unsafe = false;
        self
    }
}

impl<S> Layer<S> for PrgLayer {
    type Service = Prg<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Prg {
            inner,
            rules: self.rules,
        }
    }
}

/// The service [`PrgLayer`] makes.
#[derive(Clone, Debug)]
pub struct Prg<S> {
    inner: S,
    rules: Rules,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for Prg<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ResB: Body<Data = Bytes>,
{
    type Response = Response<PrgBody<ResB>>;
    type Error = S::Error;
    type Future = PrgFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let method = request.method().clone();
        let mut accept = HeaderMap::new();
        for value in request.headers().get_all(ACCEPT) {
            accept.append(ACCEPT, value.clone());
        }
        PrgFuture {
            inner: self.inner.call(request),
            request: Some((method, accept)),
            rules: self.rules,
        }
    }
}

pin_project! {
    /// The future of [`Prg`]'s responses.
    pub struct PrgFuture<F> {
        #[pin]
        inner: F,
        request: Option<(Method, HeaderMap)>,
        rules: Rules,
    }
}

impl<F, ResB, E> Future for PrgFuture<F>
where
    F: Future<Output = Result<Response<ResB>, E>>,
    ResB: Body<Data = Bytes>,
{
    type Output = Result<Response<PrgBody<ResB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match this.inner.poll(cx) {
            Poll::Ready(Ok(response)) => response,
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
            Poll::Pending => return Poll::Pending,
        };
        let (method, accept) = this.request.take().unwrap_or_default();
        Poll::Ready(Ok(apply(response, &method, &accept, *this.rules)))
    }
}

/// Apply the core's verdict on `response` to a request with `method` and `accept`.
fn apply<B: Body<Data = Bytes>>(
    response: Response<B>,
    method: &Method,
    accept: &HeaderMap,
    rules: Rules,
) -> Response<PrgBody<B>> {
    let (mut parts, body) = response.into_parts();
    // A HEAD answer may come with its body already cut (hyper services) or still whole (axum
    // cuts it outside the layers): RFC 9110 §9.3.2 says its Content-Length is GET's, so only a
    // body that is empty with no length or length 0 lacks its note.
    let empty = body.size_hint().exact() == Some(0)
        && parts
            .headers
            .get(CONTENT_LENGTH)
            .is_none_or(|length| length.as_bytes() == b"0");
    let unnegotiated = parts.extensions.remove::<Unnegotiated>();
    let (status, location, note) = match review(method, parts.status, &parts.headers, empty, rules)
    {
        Verdict::Keep => match unnegotiated {
            Some(u) if u.status.code() == parts.status => (u.status, u.location, true),
            _ => return Response::from_parts(parts, PrgBody::inner(body)),
        },
        Verdict::Fix {
            status,
            location,
            add_note,
        } => {
            let ours = unnegotiated.is_some_and(|u| u.location == location);
            (status, location, add_note || ours)
        }
        Verdict::Broken { status, error } => {
            tracing::error!(
                %status,
                %error,
                "a redirect without a valid Location was replaced by a 500; \
                 build redirects with seeother_axum::SeeOther"
            );
            let (parts, _) = server_error().into_parts();
            // RFC 9110 §9.3.2: no body for HEAD.
            let body = if method == Method::HEAD {
                Bytes::new()
            } else {
                Bytes::from_static(SERVER_ERROR_BODY.as_bytes())
            };
            return Response::from_parts(parts, PrgBody::full(body));
        }
    };
    parts.status = status.code();
    parts
        .headers
        .insert(LOCATION, location.header_value().clone());
    if !note {
        return Response::from_parts(parts, PrgBody::inner(body));
    }
    let note = Note::for_request(status.code(), &location, method, accept);
    // RFC 9112 §6.2: one framing; the note's length replaces any other.
    parts.headers.remove(TRANSFER_ENCODING);
    let bytes = note.apply(&mut parts.headers);
    Response::from_parts(parts, PrgBody::full(bytes))
}

pin_project! {
    /// The body of [`Prg`]'s responses: the wrapped service's, or a note (or 500 text) made here.
    pub struct PrgBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Full { data: Option<Bytes> },
    }
}

impl<B> PrgBody<B> {
    fn inner(body: B) -> Self {
        PrgBody {
            kind: Kind::Inner { body },
        }
    }

    fn full(data: Bytes) -> Self {
        PrgBody {
            kind: Kind::Full {
                data: (!data.is_empty()).then_some(data),
            },
        }
    }
}

impl<B: Body<Data = Bytes>> Body for PrgBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Full { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}
