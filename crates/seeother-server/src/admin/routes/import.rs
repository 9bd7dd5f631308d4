//! Bulk import: the form, its POST (pasted text or an uploaded file), and the report each
//! import leaves behind.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Multipart, Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use seeother_axum::RedirectContext;
use serde::Deserialize;

use super::ACTOR;
use crate::admin::extract::{
    MAX_IMPORT, Params, ReportId, SignedForm, SignedIn, essence, unreadable,
};
use crate::admin::form::FieldError;
use crate::admin::page::{Answer, Page, Refusal};
use crate::admin::view::{self, Back};
use crate::app::App;
use crate::catalog::CatalogError;
use crate::catalog::{TaskError, blocking};
use crate::reports::Report;
use crate::rules_file::{self, Format};
use crate::session::Session;
use crate::store::StoreError;

/// `GET /-/admin/import`.
pub async fn form_page(SignedIn(session): SignedIn) -> Page {
    Page::ok(view::import::form(&session, "", "", &[]))
}

/// Rows of an import report a page.
const REPORT_PAGE: usize = 200;

/// Problems of a refused file listed on the form again (a file of 90,000 bad rows would make
/// a page of megabytes); the rest are counted.
const PROBLEMS_SHOWN: usize = 100;

/// The report's query: its page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReportParams {
    page: String,
}

/// `GET /-/admin/imports/{id}`: the report of one import, 200 rules a page (updated rules
/// first, then those created).
pub async fn report(
    State(app): State<Arc<App>>,
    SignedIn(session): SignedIn,
    ReportId(id): ReportId,
    Params(query): Params<ReportParams>,
) -> Answer {
    let page = query.page.trim().parse().unwrap_or(1usize).max(1);
    match app.admin.reports.get(&app.catalog, id).await? {
        Some(r) => {
            Ok(Page::ok(view::import::report(&session, &r, page, REPORT_PAGE)).into_response())
        }
        None => Err(Refusal::NotFound(format!(
            "No import report {id} is kept: the newest 200 are; import the file again for a new one."
        ))),
    }
}

/// At most [`PROBLEMS_SHOWN`] of `errors`, and a last line counting the others.
fn capped(mut errors: Vec<FieldError>) -> Vec<FieldError> {
    if errors.len() > PROBLEMS_SHOWN {
        let more = errors.len() - PROBLEMS_SHOWN;
        let field = errors[0].field;
        errors.truncate(PROBLEMS_SHOWN);
        errors.push(FieldError {
            field,
            message: format!(
                "… and {more} more problems (the first {PROBLEMS_SHOWN} are listed); `seeother import --check FILE` lists them all"
            ),
        });
    }
    errors
}

/// The import form's fields: pasted text, or an uploaded file, and a format.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ImportFields {
    text: String,
    format: String,
    /// The uploaded file's name and content (multipart only).
    #[serde(skip)]
    upload: Option<(String, String)>,
}

/// The import form as posted from a signed-in page: urlencoded (pasted text) or
/// `multipart/form-data` (a file), under the import's body limit; the session checked before
/// the body is read, the CSRF token before anything else.
#[derive(Debug)]
pub struct ImportForm(Session, ImportFields);

impl FromRequest<Arc<App>> for ImportForm {
    type Rejection = Response;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, Response> {
        if essence(req.headers()) != "multipart/form-data" {
            let SignedForm(session, fields) =
                SignedForm::<ImportFields, MAX_IMPORT>::from_request(req, app).await?;
            return Ok(ImportForm(session, fields));
        }
        let (mut parts, body) = req.into_parts();
        let SignedIn(session) = SignedIn::from_request_parts(&mut parts, app).await?;
        let req = Request::from_parts(parts, body);
        let (csrf, fields) = read_multipart(req, app)
            .await
            .map_err(IntoResponse::into_response)?;
        // OWASP CSRF prevention: the session's token, checked before anything else.
        if !session.csrf_matches(&csrf) {
            return Err(Refusal::Forbidden.into_response());
        }
        Ok(ImportForm(session, fields))
    }
}

/// The CSRF token and the fields of a multipart import form; the first of each name counts.
async fn read_multipart(req: Request, app: &Arc<App>) -> Result<(String, ImportFields), Refusal> {
    let mut multipart = Multipart::from_request(req, app)
        .await
        .map_err(|e| Refusal::Input {
            // RFC 7578 §4.1: the boundary parameter of multipart/form-data.
            status: StatusCode::BAD_REQUEST,
            message: format!(
                "the multipart form has no usable boundary ({e}); send it from the page"
            ),
            back: Back::rules(),
        })?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        unreadable(&e, e.status(), MAX_IMPORT, Back::rules())
    };
    let (mut csrf, mut text, mut format) = (None, None, None);
    let mut fields = ImportFields::default();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().map(str::to_owned);
        if file_name.as_deref() == Some("") {
            // An `<input type=file>` left empty is sent with an empty file name.
            continue;
        }
        let bytes = field.bytes().await.map_err(bad)?;
        let value = String::from_utf8(bytes.to_vec()).map_err(|_| Refusal::Input {
            status: StatusCode::BAD_REQUEST,
            message: format!("the field {name:?} is not UTF-8 text; send a UTF-8 rule file"),
            back: Back::rules(),
        })?;
        match (name.as_str(), file_name) {
            ("csrf", _) => csrf = csrf.or(Some(value)),
            ("file", Some(file)) if fields.upload.is_none() => fields.upload = Some((file, value)),
            ("text", _) => text = text.or(Some(value)),
            ("format", _) => format = format.or(Some(value)),
            _ => {}
        }
    }
    fields.text = text.unwrap_or_default();
    fields.format = format.unwrap_or_default();
    Ok((csrf.unwrap_or_default(), fields))
}

fn format_name(f: Format) -> String {
    match f {
        Format::Toml => "toml",
        Format::Json => "json",
        Format::Csv => "csv",
    }
    .to_owned()
}

/// `POST /-/admin/import`: the rules applied completely or not at all, and `303` to the
/// import's report; the form again with 422 when the file has problems.
pub async fn submit(
    State(app): State<Arc<App>>,
    redirect: RedirectContext,
    ImportForm(session, fields): ImportForm,
) -> Answer {
    let upload = fields.upload.filter(|(_, text)| !text.trim().is_empty());
    let uploaded = upload.is_some();
    let (text, field, source) = match upload {
        Some((name, text)) => (text, "file", name),
        None => (fields.text, "text", "pasted text".to_owned()),
    };
    let chosen = fields.format.as_str();
    let again = |errors: &[FieldError]| -> Answer {
        // A browser cannot be given back a file; pasted text is kept.
        let kept = if uploaded { "" } else { text.as_str() };
        let html = view::import::form(&session, kept, chosen, errors);
        Ok(Page::new(StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
    };
    if text.trim().is_empty() {
        return again(&[FieldError {
            field: "file",
            message: "choose a rule file to upload, or paste its rules in the box".to_owned(),
        }]);
    }
    let format = match chosen {
        "" if uploaded => Format::from_path(Path::new(&source)),
        "" => None,
        name => Format::from_name(name),
    };
    let Some(format) = format else {
        return again(&[FieldError {
            field: "format",
            message: if uploaded {
                "the file name does not end in .toml, .json or .csv; choose its format".to_owned()
            } else {
                "choose the format of the pasted rules".to_owned()
            },
        }]);
    };
    // A file whose own tests fail is refused, as `seeother import` refuses it.
    let parsed = rules_file::parse(&text, format, &source)
        .and_then(|rules| rules_file::tests::check(&text, format, &source, &rules).map(|_| rules));
    let rules = match parsed {
        Ok(r) => r,
        Err(e) => {
            let errors: Vec<FieldError> = e
                .errors
                .iter()
                .map(|p| FieldError {
                    field,
                    message: match p.line {
                        Some(line) => format!("line {line}: {}", p.message),
                        None => p.message.clone(),
                    },
                })
                .collect();
            return again(&capped(errors));
        }
    };
    let actor = format!("{ACTOR}:import");
    let done = match blocking(&app.catalog, move |c| c.import(rules, &actor)).await {
        Ok(r) => r,
        Err(TaskError::Catalog(CatalogError::InvalidImport(list))) => {
            let errors: Vec<FieldError> = list
                .iter()
                .map(|(i, e)| FieldError {
                    field,
                    message: format!("rule {}: {e}", i + 1),
                })
                .collect();
            return again(&capped(errors));
        }
        Err(TaskError::Catalog(e @ CatalogError::Store(StoreError::Conflict { .. }))) => {
            return again(&[FieldError {
                field,
                message: e.to_string(),
            }]);
        }
        Err(e) => return Err(e.into()),
    };
    let changed = done
        .changes
        .iter()
        .filter_map(|c| {
            let what = if c.old.is_some() {
                "updated"
            } else {
                "created"
            };
            c.new.clone().map(|r| (what, r))
        })
        .collect();
    let report = Report {
        id: 0,
        at: crate::store::now(),
        source,
        format: format_name(format),
        created: done.created,
        updated: done.updated,
        unchanged: done.unchanged,
        changed,
    };
    let id = app.admin.reports.add(&app.catalog, &report).await?;
    // RFC 9110 §15.4.4, Post/Redirect/Get: the report is a resource of its own.
    Ok(redirect
        .see_other(&format!("/-/admin/imports/{id}"))?
        .into_response())
}
