//! The rule pages and their forms: list, show (with "try it"), create, edit, delete.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Response, StatusCode};

use super::{ACTOR, Fail, blocking, failure};
use crate::admin::form::{self, FieldError, Fields, RuleForm};
use crate::admin::view::rules::{self as view, Search};
use crate::admin::{reply, try_it};
use crate::app::App;
use crate::catalog::CatalogError;
use crate::rule::Kind;
use crate::session::Session;
use crate::store::ListQuery;

/// Rules per page of the list.
const PAGE: u32 = 50;

fn rule_url(id: i64) -> String {
    format!("/-/admin/rules/{id}")
}

pub(super) async fn list(
    app: &Arc<App>,
    session: &Session,
    method: &Method,
    query: &Fields,
) -> Response<Bytes> {
    let search = Search {
        q: query.get("q").trim().to_owned(),
        host: query.get("host").trim().to_owned(),
        after: query.get("after").parse().unwrap_or(0).max(0),
    };
    let list = ListQuery {
        search: Some(search.q.clone()).filter(|s| !s.is_empty()),
        host: Some(search.host.to_ascii_lowercase()).filter(|s| !s.is_empty()),
        after: search.after,
        limit: PAGE,
    };
    let page = match blocking(&app.catalog, move |c| Ok(c.list(&list)?)).await {
        Ok(p) => p,
        Err(e) => return failure(method, &e),
    };
    let notice = match query.get("deleted").parse::<i64>() {
        Ok(id) => format!("Rule {id} was deleted; requests for it now get 404 Not Found."),
        Err(_) => String::new(),
    };
    reply::html(
        method,
        StatusCode::OK,
        view::list(session, &search, &page, &notice),
    )
}

pub(super) fn new_form(session: &Session, method: &Method) -> Response<Bytes> {
    let blank = RuleForm {
        kind: "path".into(),
        status: "303".into(),
        query: "append".into(),
        ..RuleForm::default()
    };
    reply::html(
        method,
        StatusCode::OK,
        view::form(session, None, &blank, &[]),
    )
}

/// The URL the "try it" box starts with: one the rule matches when that is easy to say.
fn try_default(rule: &crate::rule::RuleSpec) -> String {
    let path = match rule.kind() {
        Some(Kind::Pattern) => rule
            .matcher()
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/"),
        _ => rule.matcher().to_owned(),
    };
    match &rule.host {
        Some(h) => format!("http://{h}{path}"),
        None => path,
    }
}

pub(super) async fn show(
    app: &Arc<App>,
    session: &Session,
    method: &Method,
    id: i64,
    query: &Fields,
) -> Response<Bytes> {
    let found = blocking(&app.catalog, move |c| match c.get(id)? {
        Some(rule) => Ok(Some((rule, c.history(id)?))),
        None => Ok(None),
    })
    .await;
    let (rule, history) = match found {
        Ok(Some(found)) => found,
        Ok(None) => {
            return reply::not_found(
                method,
                &format!(
                    "No rule has id {id}; it may have been deleted. The list shows the rules there are."
                ),
            );
        }
        Err(e) => return failure(method, &e),
    };
    let (url, accept, tried) = match query.opt("try") {
        Some(url) => {
            let accept = query.get("accept");
            let tried = try_it::run(&app.catalog.index(), url, accept);
            (url.to_owned(), accept.to_owned(), Some(tried))
        }
        None => (try_default(&rule), "text/html".to_owned(), None),
    };
    reply::html(
        method,
        StatusCode::OK,
        view::show(session, &rule, &history, tried, (&url, &accept)),
    )
}

pub(super) async fn edit_form(
    app: &Arc<App>,
    session: &Session,
    method: &Method,
    id: i64,
) -> Response<Bytes> {
    match blocking(&app.catalog, move |c| Ok(c.get(id)?)).await {
        Ok(Some(rule)) => reply::html(
            method,
            StatusCode::OK,
            view::form(session, Some(id), &RuleForm::from_rule(&rule), &[]),
        ),
        Ok(None) => reply::not_found(method, &format!("No rule has id {id}; nothing to edit.")),
        Err(e) => failure(method, &e),
    }
}

pub(super) async fn confirm_delete(
    app: &Arc<App>,
    session: &Session,
    method: &Method,
    id: i64,
) -> Response<Bytes> {
    match blocking(&app.catalog, move |c| Ok(c.get(id)?)).await {
        Ok(Some(rule)) => reply::html(method, StatusCode::OK, view::confirm_delete(session, &rule)),
        Ok(None) => reply::not_found(method, &format!("No rule has id {id}; nothing to delete.")),
        Err(e) => failure(method, &e),
    }
}

/// The form again with 422, the input kept and each error beside its field.
fn unprocessable(
    session: &Session,
    id: Option<i64>,
    f: &RuleForm,
    errors: &[FieldError],
) -> Response<Bytes> {
    reply::html(
        &Method::POST,
        StatusCode::UNPROCESSABLE_ENTITY,
        view::form(session, id, f, errors),
    )
}

/// Errors of the user's input among catalog failures, by field; `None` for other failures.
fn input_errors(e: &Fail) -> Option<Vec<FieldError>> {
    match e {
        Fail::Catalog(CatalogError::Invalid(e)) => Some(vec![FieldError {
            field: form::field_of(e),
            message: e.to_string(),
        }]),
        Fail::Catalog(CatalogError::Store(e @ crate::store::StoreError::Conflict { .. })) => {
            Some(vec![form::store_error(e)])
        }
        _ => None,
    }
}

pub(super) async fn create(app: &Arc<App>, session: &Session, fields: &Fields) -> Response<Bytes> {
    let f = RuleForm::from_fields(fields);
    let rule = match f.to_rule() {
        Ok(r) => r,
        Err(errors) => return unprocessable(session, None, &f, &errors),
    };
    match blocking(&app.catalog, move |c| c.create(rule, ACTOR)).await {
        // Post/Redirect/Get: the created rule's own page.
        Ok(stored) => reply::see_other(
            &Method::POST,
            &rule_url(stored.id.unwrap_or_default()),
            None,
        ),
        Err(e) => match input_errors(&e) {
            Some(errors) => unprocessable(session, None, &f, &errors),
            None => failure(&Method::POST, &e),
        },
    }
}

pub(super) async fn update(
    app: &Arc<App>,
    session: &Session,
    id: i64,
    fields: &Fields,
) -> Response<Bytes> {
    let f = RuleForm::from_fields(fields);
    let rule = match f.to_rule() {
        Ok(r) => r,
        Err(errors) => return unprocessable(session, Some(id), &f, &errors),
    };
    match blocking(&app.catalog, move |c| c.update(id, rule, ACTOR)).await {
        Ok(_) => reply::see_other(&Method::POST, &rule_url(id), None),
        Err(e) => match input_errors(&e) {
            Some(errors) => unprocessable(session, Some(id), &f, &errors),
            None => failure(&Method::POST, &e),
        },
    }
}

pub(super) async fn delete(app: &Arc<App>, id: i64, fields: &Fields) -> Response<Bytes> {
    let tombstone = match fields.get("mode") {
        "" | "delete" => false,
        "tombstone" => true,
        other => {
            return reply::message(
                &Method::POST,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Unprocessable Content",
                &format!("{other:?} is not a way to delete; choose delete or tombstone."),
                (&format!("{}/delete", rule_url(id)), "Back to the form"),
            );
        }
    };
    match blocking(&app.catalog, move |c| c.delete(id, tombstone, ACTOR)).await {
        // A tombstone is still a rule: its page. A deleted rule: the list.
        Ok(Some(_)) => reply::see_other(&Method::POST, &rule_url(id), None),
        Ok(None) => reply::see_other(&Method::POST, &format!("/-/admin/rules?deleted={id}"), None),
        Err(e) => failure(&Method::POST, &e),
    }
}
