//! [`Next`]: the `next` / `return_to` target of a request, judged by the core's guard.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, OriginalUri, Request};
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, HOST};
use http::request::Parts;
use http::{HeaderValue, StatusCode};
use seeother_core::guard::{Guard, GuardError};
use seeother_core::{Location, LocationError, RedirectStatus, host};
use serde::de::DeserializeOwned;
use url::Url;

use crate::redirect::SeeOther;

/// What [`Next`] does with a target the guard refuses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnRefused {
    /// Use the fallback target, as Rails' `url_from(params[:next]) || root_path` does: the
    /// user still lands somewhere on the site. The default.
    #[default]
    Fallback,
    /// Answer `400 Bad Request` ([`NextRejection::Refused`]).
    Reject,
}

/// Where a site's own origin comes from.
#[derive(Clone, Debug)]
enum Origin {
    /// Configured: the site's public URL.
    Fixed(Url),
    /// The request's `Host` (or HTTP/2 authority), with this scheme.
    RequestHost(&'static str),
}

/// How [`Next`] reads and judges a target: the site's origin, the hosts allowed beside it, the
/// parameter names, the fallback and what to do with a refused target.
///
/// [`Next`] takes it from the router's state (`NextPolicy: FromRef<S>`).
///
/// ```
/// use seeother_axum::{NextPolicy, OnRefused};
///
/// let policy = NextPolicy::new("https://shop.example")?
///     .allow_host("pay.example")
///     .fallback("/account")?
///     .on_refused(OnRefused::Reject);
/// # Ok::<(), seeother_axum::PolicyError>(())
/// ```
#[derive(Clone, Debug)]
pub struct NextPolicy {
    origin: Origin,
    hosts: Vec<String>,
    names: Vec<String>,
    fallback: Location,
    on_refused: OnRefused,
}

impl NextPolicy {
    /// A policy for the site whose public origin is `origin` (`https://shop.example`): the
    /// safest choice, since it does not trust the request's `Host`.
    ///
    /// The parameters are `next` then `return_to`, the fallback is `/`, a refused target
    /// falls back.
    pub fn new(origin: &str) -> Result<Self, PolicyError> {
        let url = Url::parse(origin).map_err(|e| PolicyError::Origin {
            value: origin.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(PolicyError::Origin {
                value: origin.to_owned(),
                reason: "not an http(s) URL with a host".to_owned(),
            });
        }
        Ok(Self::with_origin(Origin::Fixed(url)))
    }

    /// A policy whose origin is each request's own `Host`, with scheme `https` (or `http`
    /// when `https` is false).
    ///
    /// For a server reached under several names, or in tests on a random port. A client that
    /// lies about `Host` only misleads itself, but a proxy that forwards any `Host` makes the
    /// origin the attacker's to choose for cached answers: prefer [`NextPolicy::new`] behind
    /// one.
    pub fn request_host(https: bool) -> Self {
        Self::with_origin(Origin::RequestHost(if https { "https" } else { "http" }))
    }

    fn with_origin(origin: Origin) -> Self {
        NextPolicy {
            origin,
            hosts: Vec::new(),
            names: vec!["next".to_owned(), "return_to".to_owned()],
            // Invariant: `/` is a valid Location.
            fallback: Location::parse("/").unwrap_or_else(|_| unreachable!()),
            on_refused: OnRefused::Fallback,
        }
    }

    /// Also allow targets on `host` (exactly that host, any http(s) port), as
    /// [`Guard::allow_host`] does.
    pub fn allow_host(mut self, host: &str) -> Self {
        self.hosts.push(host.to_owned());
        self
    }

    /// Read the target from these parameter names, the first present winning (default:
    /// `next`, `return_to`).
    pub fn params<I: IntoIterator<Item = N>, N: Into<String>>(mut self, names: I) -> Self {
        self.names = names.into_iter().map(Into::into).collect();
        self
    }

    /// The target used when none is given or, with [`OnRefused::Fallback`], when the given
    /// one is refused (default: `/`).
    pub fn fallback(mut self, target: &str) -> Result<Self, PolicyError> {
        self.fallback = Location::parse(target).map_err(PolicyError::Fallback)?;
        Ok(self)
    }

    /// What to do with a refused target (default: [`OnRefused::Fallback`]).
    pub fn on_refused(mut self, on_refused: OnRefused) -> Self {
        self.on_refused = on_refused;
        self
    }

    /// The parameter names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Judge `raw` (the parameter's value, already decoded, if any) for the request `parts`.
    ///
    /// A relative target is resolved against the request's original URI ([`OriginalUri`],
    /// so a router nested with `Router::nest` resolves as the browser does), on the site's
    /// origin.
    ///
    /// ```
    /// use axum::http::Request;
    /// use seeother_axum::NextPolicy;
    ///
    /// let policy = NextPolicy::new("https://shop.example")?;
    /// let (parts, ()) = Request::get("/account/sign-in").body(())?.into_parts();
    /// assert_eq!(policy.judge(&parts, Some("orders"))?.location().as_str(), "/account/orders");
    /// assert_eq!(policy.judge(&parts, Some("//evil.example"))?.location().as_str(), "/");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn judge(&self, parts: &Parts, raw: Option<&str>) -> Result<Next, NextRejection> {
        let Some(raw) = raw else {
            return Ok(Next {
                location: self.fallback.clone(),
                refused: None,
                given: false,
            });
        };
        let verdict = self.guard(parts).and_then(|guard| guard.check(raw));
        match verdict {
            Ok(location) => Ok(Next {
                location,
                refused: None,
                given: true,
            }),
            Err(error) if self.on_refused == OnRefused::Fallback => {
                tracing::debug!(%error, "next: refused target, falling back");
                Ok(Next {
                    location: self.fallback.clone(),
                    refused: Some(error),
                    given: true,
                })
            }
            Err(error) => Err(NextRejection::Refused(error)),
        }
    }

    /// The guard for one request: the site's origin with the request's original path.
    fn guard(&self, parts: &Parts) -> Result<Guard, GuardError> {
        let origin = match &self.origin {
            Origin::Fixed(url) => url.clone(),
            Origin::RequestHost(scheme) => {
                let hosts = parts
                    .headers
                    .get_all(HOST)
                    .iter()
                    .map(HeaderValue::as_bytes);
                // RFC 9112 §3.2: the request's authority, from Host or the target URI.
                let authority = host::of_request(
                    parts.version,
                    parts.uri.authority().map(|a| a.as_str()),
                    hosts,
                )
                .map_err(|e| invalid("the request's Host", e.to_string()))?
                .ok_or_else(|| invalid("the request's Host", "missing".to_owned()))?;
                Url::parse(&format!("{scheme}://{authority}/"))
                    .map_err(|e| invalid(authority, e.to_string()))?
            }
        };
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |original| &original.0);
        // RFC 3986 §5.2: relative targets resolve against the page that carries them. The
        // path is set, not joined: a request for `//evil.example/x` must not move the base to
        // another host.
        let mut base = origin;
        base.set_path(uri.path());
        base.set_query(uri.query());
        Ok(self
            .hosts
            .iter()
            .fold(Guard::new(base), |guard, host| guard.allow_host(host)))
    }

    /// The first of the policy's parameters in the urlencoded `input`.
    fn find(&self, input: &[u8]) -> Option<String> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(input).into_owned().collect();
        self.names.iter().find_map(|name| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
    }
}

fn invalid(value: &str, reason: String) -> GuardError {
    GuardError::Invalid(LocationError::Invalid {
        value: value.to_owned(),
        reason,
    })
}

/// A [`NextPolicy`] that cannot be built.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The origin is not an absolute http(s) URL.
    Origin { value: String, reason: String },
    /// The fallback is not a valid target.
    Fallback(LocationError),
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicyError::Origin { value, reason } => write!(
                f,
                "the site's origin `{}` is not usable ({reason}); give it as \
                 `https://host.example` (scheme, host, optional port)",
                value.escape_debug()
            ),
            PolicyError::Fallback(error) => write!(f, "the fallback target is not valid: {error}"),
        }
    }
}

impl std::error::Error for PolicyError {}

/// The target to send the user to after this request: the `next` (or `return_to`) parameter
/// of the query if the guard lets it through, else the policy's fallback.
///
/// An extractor: the [`NextPolicy`] comes from the router's state. The guard is the core's
/// ([`Guard`]): `//evil.example`, `/\evil.example`, `https:evil.example`, tabs and newlines
/// inside the target, userinfo and `javascript:` are all refused; a same-origin absolute URL
/// comes back as a path, an allow-listed host as an absolute URL.
///
/// ```
/// use axum::{Router, extract::FromRef, routing::get};
/// use seeother_axum::{Next, NextPolicy, SeeOther};
///
/// #[derive(Clone)]
/// struct App { next: NextPolicy }
/// impl FromRef<App> for NextPolicy {
///     fn from_ref(app: &App) -> NextPolicy { app.next.clone() }
/// }
///
/// async fn done(next: Next) -> SeeOther { next.see_other() }
///
/// let policy = NextPolicy::new("https://shop.example")?;
/// let app: Router = Router::new().route("/done", get(done)).with_state(App { next: policy });
/// # Ok::<(), seeother_axum::PolicyError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Next {
    location: Location,
    refused: Option<GuardError>,
    given: bool,
}

impl Next {
    /// The target to redirect to.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Why the given target was refused, when the fallback stands in for it.
    pub fn refused(&self) -> Option<&GuardError> {
        self.refused.as_ref()
    }

    /// Whether the request named a target (accepted or refused).
    pub fn was_given(&self) -> bool {
        self.given
    }

    /// A `303 See Other` to the target (its note negotiated with [`SeeOther::negotiate`]).
    pub fn see_other(&self) -> SeeOther {
        SeeOther::from_location(RedirectStatus::SeeOther, self.location.clone())
    }

    /// The target, as the value of a hidden form field or a link (already percent-encoded).
    pub fn as_str(&self) -> &str {
        self.location.as_str()
    }
}

impl<S> FromRequestParts<S> for Next
where
    NextPolicy: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = NextRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let policy = NextPolicy::from_ref(state);
        let raw = parts.uri.query().and_then(|q| policy.find(q.as_bytes()));
        policy.judge(parts, raw.as_deref())
    }
}

/// A urlencoded form, deserialized as `T`, and its `next` target judged as [`Next`] judges the
/// query's: `NextForm(login, next)`. A target in the query counts when the form has none.
///
/// ```
/// use axum::{Router, extract::FromRef, routing::post};
/// use seeother_axum::{NextForm, NextPolicy, SeeOther};
///
/// #[derive(serde::Deserialize)]
/// struct Login { name: String }
///
/// async fn sign_in(NextForm(login, next): NextForm<Login>) -> SeeOther {
///     let _ = login.name;
///     next.see_other()
/// }
/// let policy = NextPolicy::new("https://shop.example")?;
/// let app: Router = Router::new().route("/sign-in", post(sign_in)).with_state(policy);
/// # Ok::<(), seeother_axum::PolicyError>(())
/// ```
#[derive(Clone, Debug)]
pub struct NextForm<T>(pub T, pub Next);

impl<S, T> FromRequest<S> for NextForm<T>
where
    NextPolicy: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = NextRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form {
            return Err(NextRejection::NotAForm);
        }
        let (parts, body) = req.into_parts();
        let policy = NextPolicy::from_ref(state);
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| NextRejection::Body(e.body_text()))?;
        let value: T =
            serde_urlencoded::from_bytes(&bytes).map_err(|e| NextRejection::Form(e.to_string()))?;
        let raw = policy
            .find(&bytes)
            .or_else(|| parts.uri.query().and_then(|q| policy.find(q.as_bytes())));
        let next = policy.judge(&parts, raw.as_deref())?;
        Ok(NextForm(value, next))
    }
}

/// Why [`Next`] or [`NextForm`] refused the request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NextRejection {
    /// The target was refused and the policy says [`OnRefused::Reject`]: 400.
    Refused(GuardError),
    /// The body is not `application/x-www-form-urlencoded`: 415.
    NotAForm,
    /// The body could not be read: 400.
    Body(String),
    /// The form does not fit the handler's type: 422.
    Form(String),
}

impl std::fmt::Display for NextRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NextRejection::Refused(error) => {
                write!(f, "the `next` target was refused: {error}")
            }
            NextRejection::NotAForm => f.write_str(
                "the body must be a form: send it with \
                 `Content-Type: application/x-www-form-urlencoded`",
            ),
            NextRejection::Body(reason) => write!(f, "the form could not be read: {reason}"),
            NextRejection::Form(reason) => write!(
                f,
                "the form's fields do not fit: {reason}; send the fields the page's form has"
            ),
        }
    }
}

impl std::error::Error for NextRejection {}

impl IntoResponse for NextRejection {
    fn into_response(self) -> Response {
        let status = match &self {
            NextRejection::Refused(_) | NextRejection::Body(_) => StatusCode::BAD_REQUEST,
            NextRejection::NotAForm => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            NextRejection::Form(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        (status, format!("{status}: {self}\n")).into_response()
    }
}
