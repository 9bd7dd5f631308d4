//! `POST /-/api/import`: a whole rule file, applied all or nothing.

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::response::Response;
use http::StatusCode;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use serde::{Deserialize, Serialize};

use super::MAX_IMPORT_BODY;
use super::extract::{Actor, Authenticated, Params, Whole};
use super::openapi::{
    BadRequest, Refused, RequestTimeout, TooLarge, TooManyFailures, Unauthorized, Unavailable,
    UnsupportedFormat,
};
use super::reply::{ApiError, json};
use crate::app::App;
use crate::catalog::{STREAMED_FROM, blocking};
use crate::rules_file::{self, Format};
use crate::store::ImportReport;

/// The parameters of `POST /-/api/import`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ImportParams {
    /// Else taken from Content-Type
    #[param(inline, value_type = Option<FormatName>)]
    format: Option<String>,
}

/// The name of a rule file's format (`?format=`).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // only described
pub(super) enum FormatName {
    Toml,
    Json,
    Csv,
}

/// What an import did.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ImportReport)]
pub(super) struct ImportReply {
    /// Rules created.
    created: usize,
    /// Rules changed.
    updated: usize,
    /// Rules already as given.
    unchanged: usize,
}

/// Import a rule file (TOML, JSON or CSV): all rules or none
#[utoipa::path(
    post,
    path = "/-/api/import",
    operation_id = "importRules",
    params(Actor, ImportParams),
    request_body(content(
        (super::openapi::RuleText = "application/toml"),
        (super::openapi::RuleFile = "application/json",
            example = json!({"rules": [{"prefix": "/docs/", "to": "https://new.example.org/manual/", "status": 308}]})),
        (super::openapi::RuleText = "text/csv",
            example = json!("path,to\n/id/rome,https://example.org/page/rome\n")),
    )),
    responses(
        (status = 200, description = "What the import did", body = ImportReply),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 408, response = RequestTimeout),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedFormat),
        (status = 422, response = Refused),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn import(
    _: Authenticated,
    State(app): State<Arc<App>>,
    actor: Actor,
    ImportFormat(format): ImportFormat,
    Whole(bytes): Whole<MAX_IMPORT_BODY>,
) -> Result<Response, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "the body is empty; send the rule file as the body (curl --data-binary @rules.toml)",
        ));
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Err(ApiError::bad_request("the rule file is not UTF-8 text"));
    };
    let actor = format!("{}:import", actor.name);
    // A large file is written while it is read, its rules never all in memory at once.
    if bytes.len() >= STREAMED_FROM {
        let (body, who) = (bytes.clone(), actor.clone());
        let streamed = blocking(&app.catalog, move |c| {
            c.import_stream(
                |sink| rules_file::stream::read(&body[..], format, body.len() / 32, sink),
                body.len() / 64,
                &who,
            )
        })
        .await?;
        if let Some(report) = streamed {
            return Ok(reply(&report));
        }
        // A doubt (a bad rule, two with one key, tests): read whole, its problems by line.
    }
    let rules = rules_file::parse(text, format, "body")?;
    // A file whose own tests fail is refused, as `seeother import` refuses it.
    rules_file::tests::check(text, format, "body", &rules)?;
    let report = blocking(&app.catalog, move |c| c.import(rules, &actor)).await?;
    Ok(reply(&report))
}

/// The answer to an import that was applied.
fn reply(report: &ImportReport) -> Response {
    json(
        StatusCode::OK,
        &ImportReply {
            created: report.created,
            updated: report.updated,
            unchanged: report.unchanged,
        },
    )
}

/// The rule file's format, from `?format=` or else `Content-Type`; neither is a 415, before
/// the body is read.
pub(super) struct ImportFormat(Format);

impl<S: Send + Sync> FromRequestParts<S> for ImportFormat {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Params(p) = Params::<ImportParams>::from_request_parts(parts, state).await?;
        match p.format {
            Some(name) => Format::from_name(&name),
            None => parts
                .headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(Format::from_media_type),
        }
        .map(ImportFormat)
        .ok_or_else(|| {
            // RFC 9110 §15.5.16: the content is in a format this resource does not take.
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "say the file's format with ?format=toml|json|csv or a Content-Type of application/toml, application/json or text/csv",
            )
        })
    }
}
