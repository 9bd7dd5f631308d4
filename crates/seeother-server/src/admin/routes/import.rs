//! Bulk import: the form, its POST, and the report each import leaves behind.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Response, StatusCode};

use super::{ACTOR, Fail, blocking, failure};
use crate::admin::form::{FieldError, Fields};
use crate::admin::{reply, view};
use crate::app::App;
use crate::catalog::CatalogError;
use crate::reports::Report;
use crate::rules_file::{self, Format};
use crate::session::Session;

pub(super) fn form_page(session: &Session, method: &Method) -> Response<Bytes> {
    reply::html(
        method,
        StatusCode::OK,
        view::import::form(session, "", "", &[]),
    )
}

pub(super) fn report(
    app: &Arc<App>,
    session: &Session,
    method: &Method,
    id: u64,
) -> Response<Bytes> {
    match app.admin.reports.get(id) {
        Some(r) => reply::html(method, StatusCode::OK, view::import::report(session, &r)),
        None => reply::not_found(
            method,
            &format!(
                "No import report {id} is kept: reports live in the server's memory until it restarts."
            ),
        ),
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Toml => "toml",
        Format::Json => "json",
        Format::Csv => "csv",
    }
}

pub(super) async fn submit(app: &Arc<App>, session: &Session, fields: &Fields) -> Response<Bytes> {
    let uploaded = fields.file_name.is_some() && !fields.get("file").trim().is_empty();
    let (text, field, source) = if uploaded {
        let name = fields.file_name.clone().unwrap_or_default();
        (fields.get("file"), "file", name)
    } else {
        (fields.get("text"), "text", "pasted text".to_owned())
    };
    let chosen = fields.get("format");
    let again = |errors: &[FieldError]| {
        // A browser cannot be given back a file; pasted text is kept.
        let kept = if uploaded { "" } else { text };
        reply::html(
            &Method::POST,
            StatusCode::UNPROCESSABLE_ENTITY,
            view::import::form(session, kept, chosen, errors),
        )
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
    let rules = match rules_file::parse(text, format, &source) {
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
            return again(&errors);
        }
    };
    let actor = format!("{ACTOR}:import");
    let imported = blocking(&app.catalog, move |c| c.import(rules, &actor)).await;
    let done = match imported {
        Ok(r) => r,
        Err(Fail::Catalog(CatalogError::InvalidImport(list))) => {
            let errors: Vec<FieldError> = list
                .iter()
                .map(|(i, e)| FieldError {
                    field,
                    message: format!("rule {}: {e}", i + 1),
                })
                .collect();
            return again(&errors);
        }
        Err(Fail::Catalog(e @ CatalogError::Store(crate::store::StoreError::Conflict { .. }))) => {
            return again(&[FieldError {
                field,
                message: e.to_string(),
            }]);
        }
        Err(e) => return failure(&Method::POST, &e),
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
    let id = app.admin.reports.add(Report {
        id: 0,
        at: crate::store::now(),
        source,
        format: format_name(format),
        created: done.created,
        updated: done.updated,
        unchanged: done.unchanged,
        changed,
    });
    // Post/Redirect/Get: the report is a resource of its own.
    reply::see_other(&Method::POST, &format!("/-/admin/imports/{id}"), None)
}
