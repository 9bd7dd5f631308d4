//! The rule pages and their forms: list, show (with "try it"), create, edit, delete.

use std::sync::Arc;

use axum::extract::State;
use axum::response::IntoResponse;
use http::StatusCode;
use seeother_axum::RedirectContext;
use serde::Deserialize;

use super::ACTOR;
use crate::admin::extract::{Params, RuleId, SignedForm, SignedIn};
use crate::admin::form::{self, FieldError, RuleFields, RuleForm};
use crate::admin::page::{Answer, Page, Refusal};
use crate::admin::try_it;
use crate::admin::view::Back;
use crate::admin::view::rules::{self as view, Place, Search};
use crate::app::App;
use crate::catalog::CatalogError;
use crate::catalog::{TaskError, blocking};
use crate::rule::Kind;
use crate::session::Session;
use crate::store::{At, Browse, Browsed, Cursor, Matching, StoreError};

/// Rules per page of the list.
const PAGE: u32 = 50;

fn rule_url(id: i64) -> String {
    format!("/-/admin/rules/{id}")
}

/// The list's query: a search, an order, the page (its number, or a cursor from a page link
/// with the number it shows), and the rule just deleted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListParams {
    q: String,
    host: String,
    sort: String,
    /// The page's number from the first (alone, typed: read by `OFFSET`).
    page: String,
    /// The page's number from the last (alone: the last page).
    end: String,
    /// The page starts after this place (the last rule of the page before).
    after: String,
    /// The page ends before this place (the first rule of the page after).
    before: String,
    deleted: String,
}

/// A page number of a link: a positive number, or none.
fn number(text: &str) -> Option<u64> {
    text.trim().parse().ok().filter(|&n| n > 0)
}

/// `GET /-/admin/rules`: a page of the rules (50 a page), searched, in the order asked for,
/// with how many there are and how many match.
///
/// The page links carry a cursor (the place of the last rule shown, or of the first for the
/// page before), so that every page costs what the first does: its 50 entries of an index.
/// The last page is read backwards from the end. A page number typed alone (`page=N`) walks
/// N × 50 rules (`OFFSET`), as it always did; the links from it are cheap again.
pub async fn list(
    State(app): State<Arc<App>>,
    SignedIn(session): SignedIn,
    Params(query): Params<ListParams>,
) -> Answer {
    let order = view::order_named(&query.sort);
    let cursor = |name: &str, text: &str| {
        Cursor::parse(order, text.trim()).map_err(|e| Refusal::Input {
            status: StatusCode::BAD_REQUEST,
            message: format!("{name}: {e}"),
            back: Back::rules(),
        })
    };
    let at = match (query.after.trim(), query.before.trim()) {
        ("", "") => None,
        (after, "") => Some(At::After(cursor("after", after)?)),
        ("", before) => Some(At::Before(cursor("before", before)?)),
        _ => {
            return Err(Refusal::Input {
                status: StatusCode::BAD_REQUEST,
                message: "a page of the list starts after a rule or ends before one, not both: \
                          give `after` or `before`, or follow the list's page links"
                    .into(),
                back: Back::rules(),
            });
        }
    };
    let mut search = Search {
        q: query.q.trim().to_owned(),
        host: query.host.trim().to_owned(),
        order,
        place: match (number(&query.end), number(&query.page)) {
            (Some(n), _) => Place::FromEnd(n),
            (None, n) => Place::Page(n.unwrap_or(1)),
        },
    };
    let at = at.unwrap_or(match search.place {
        Place::FromEnd(_) => At::End,
        Place::Page(1) => At::Start,
        Place::Page(n) => At::Offset((n - 1).saturating_mul(u64::from(PAGE))),
    });
    // The served index knows how many rules it holds (as of the last change it applied).
    let total = app.catalog.index().len() as u64;
    let mut found = browse(&app, &search, at, total).await?;
    let mut matching = count(&found, total);
    if found.rules.is_empty() && at != At::Start {
        // Past the end (rules deleted since the link was made), or before the start: the
        // last page, or the first.
        let again = if matches!(at, At::Before(_)) {
            At::Start
        } else {
            At::End
        };
        found = browse(&app, &search, again, total).await?;
        matching = count(&found, total);
        search.place = if again == At::Start {
            Place::Page(1)
        } else {
            Place::FromEnd(1)
        };
    } else if matches!(at, At::Before(_)) && !found.before {
        // Nothing before this page: it is the first, read again whole (rules may have been
        // added before the cursor since).
        found = browse(&app, &search, At::Start, total).await?;
        matching = count(&found, total);
        search.place = Place::Page(1);
    }
    // Counted from the end, a page has its number from the first when the count is known.
    if let (Place::FromEnd(n), Some(m)) = (search.place, matching) {
        search.place = Place::Page(view::pages(m, PAGE).saturating_sub(n - 1).max(1));
    }
    let notice = match query.deleted.parse::<i64>() {
        Ok(id) => format!("Rule {id} was deleted; requests for it now get 404 Not Found."),
        Err(_) => String::new(),
    };
    let html = view::list(&session, &search, &found, (total, matching), PAGE, &notice);
    Ok(Page::ok(html).into_response())
}

/// How many rules match, when known: the store's count of a search, or every rule.
fn count(found: &Browsed, total: u64) -> Option<u64> {
    match found.matching {
        Matching::All => Some(total),
        Matching::Exactly(n) => Some(n),
        Matching::MoreThan(_) => None,
    }
}

/// The page of the list that `search` asks for, read from `at`. The last page holds what is
/// left after the full pages before it when the count is known (so that the pages counted
/// from either end are the same pages).
async fn browse(app: &Arc<App>, search: &Search, at: At, total: u64) -> Result<Browsed, Refusal> {
    let mut asked = Browse {
        search: Some(search.q.clone()).filter(|s| !s.is_empty()),
        host: Some(search.host.to_ascii_lowercase()).filter(|s| !s.is_empty()),
        order: search.order,
        at,
        limit: PAGE,
    };
    if at == At::End && asked.search.is_none() && asked.host.is_none() && total > 0 {
        // (A search's last page is sized by the store, which counts it.)
        let rest = total % u64::from(PAGE);
        asked.limit = if rest == 0 { PAGE } else { rest as u32 };
    }
    Ok(blocking(&app.catalog, move |c| Ok(c.browse(&asked)?)).await?)
}

/// `GET /-/admin/rules/new`.
pub async fn new_form(SignedIn(session): SignedIn, Params(start): Params<NewParams>) -> Page {
    let blank = RuleForm {
        kind: "path".into(),
        matcher: start.path,
        host: start.host,
        status: "303".into(),
        query: "append".into(),
        ..RuleForm::default()
    };
    Page::ok(view::form(&session, None, &blank, &[]))
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

/// What the new-rule form starts with (the dashboard's "Make a rule" for an unknown path).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewParams {
    path: String,
    host: String,
}

/// The "try it" box's query.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TryParams {
    #[serde(rename = "try")]
    url: Option<String>,
    accept: String,
    /// The days of the chart: 30, 90 or 400.
    days: String,
}

/// `GET /-/admin/rules/{id}`: the rule's page, with what the "try it" box asked.
pub async fn show(
    State(app): State<Arc<App>>,
    SignedIn(session): SignedIn,
    RuleId(id): RuleId,
    Params(query): Params<TryParams>,
) -> Answer {
    let (from, to) = super::stats::RangeParams::days(&query.days).range(90);
    let found = blocking(&app.catalog, move |c| match c.get(id)? {
        Some(rule) => Ok(Some((
            rule,
            c.history(id)?,
            c.store().rule_days(id, from, to)?,
        ))),
        None => Ok(None),
    })
    .await?;
    let Some((rule, history, days)) = found else {
        return Err(Refusal::NotFound(format!(
            "No rule has id {id}; it may have been deleted. The list shows the rules there are."
        )));
    };
    let (url, accept, tried) = match query.url {
        Some(url) => {
            let tried = try_it::run(&app.catalog.index(), &url, &query.accept);
            (url, query.accept, Some(tried))
        }
        None => (try_default(&rule), "text/html".to_owned(), None),
    };
    let usage = crate::admin::view::rules::Usage { days, from, to };
    let html = view::show(&session, &rule, &history, &usage, tried, (&url, &accept));
    Ok(Page::ok(html).into_response())
}

/// `GET /-/admin/rules/{id}/edit`.
pub async fn edit_form(
    State(app): State<Arc<App>>,
    SignedIn(session): SignedIn,
    RuleId(id): RuleId,
) -> Answer {
    match blocking(&app.catalog, move |c| Ok(c.get(id)?)).await? {
        Some(rule) => {
            let html = view::form(&session, Some(id), &RuleForm::from_rule(&rule), &[]);
            Ok(Page::ok(html).into_response())
        }
        None => Err(Refusal::NotFound(format!(
            "No rule has id {id}; nothing to edit."
        ))),
    }
}

/// `GET /-/admin/rules/{id}/delete`: the confirmation.
pub async fn confirm_delete(
    State(app): State<Arc<App>>,
    SignedIn(session): SignedIn,
    RuleId(id): RuleId,
) -> Answer {
    match blocking(&app.catalog, move |c| Ok(c.get(id)?)).await? {
        Some(rule) => Ok(Page::ok(view::confirm_delete(&session, &rule)).into_response()),
        None => Err(Refusal::NotFound(format!(
            "No rule has id {id}; nothing to delete."
        ))),
    }
}

/// The form again with 422, the input kept and each error beside its field.
fn unprocessable(
    session: &Session,
    id: Option<i64>,
    f: &RuleForm,
    errors: &[FieldError],
) -> Answer {
    let html = view::form(session, id, f, errors);
    Ok(Page::new(StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
}

/// Errors of the user's input among catalog failures, by field; the failure itself otherwise.
fn input_errors(e: TaskError) -> Result<Vec<FieldError>, TaskError> {
    match e {
        TaskError::Catalog(CatalogError::Invalid(e)) => Ok(vec![FieldError {
            field: form::field_of(&e),
            message: e.to_string(),
        }]),
        TaskError::Catalog(CatalogError::Store(e @ StoreError::Conflict { .. })) => {
            Ok(vec![form::store_error(&e)])
        }
        e => Err(e),
    }
}

/// `POST /-/admin/rules`: a new rule, and `303` to its page.
pub async fn create(
    State(app): State<Arc<App>>,
    redirect: RedirectContext,
    SignedForm(session, fields): SignedForm<RuleFields>,
) -> Answer {
    let f = RuleForm::from_fields(&fields);
    let rule = match f.to_rule() {
        Ok(r) => r,
        Err(errors) => return unprocessable(&session, None, &f, &errors),
    };
    match blocking(&app.catalog, move |c| c.create(rule, ACTOR)).await {
        // RFC 9110 §15.4.4, Post/Redirect/Get: the created rule's own page.
        Ok(stored) => {
            let page = rule_url(stored.id.unwrap_or_default());
            Ok(redirect.see_other(&page)?.into_response())
        }
        Err(e) => unprocessable(&session, None, &f, &input_errors(e)?),
    }
}

/// `POST /-/admin/rules/{id}`: the rule changed, and `303` to its page.
pub async fn update(
    State(app): State<Arc<App>>,
    RuleId(id): RuleId,
    redirect: RedirectContext,
    SignedForm(session, fields): SignedForm<RuleFields>,
) -> Answer {
    let f = RuleForm::from_fields(&fields);
    let rule = match f.to_rule() {
        Ok(r) => r,
        Err(errors) => return unprocessable(&session, Some(id), &f, &errors),
    };
    match blocking(&app.catalog, move |c| c.update(id, rule, ACTOR)).await {
        // RFC 9110 §15.4.4: the changed rule's page.
        Ok(_) => Ok(redirect.see_other(&rule_url(id))?.into_response()),
        Err(e) => unprocessable(&session, Some(id), &f, &input_errors(e)?),
    }
}

/// The delete form's fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteFields {
    mode: String,
}

/// `POST /-/admin/rules/{id}/delete`: deleted (`303` to the list) or kept as a tombstone
/// (`303` to its page).
pub async fn delete(
    State(app): State<Arc<App>>,
    RuleId(id): RuleId,
    redirect: RedirectContext,
    SignedForm(_, fields): SignedForm<DeleteFields>,
) -> Answer {
    let tombstone = match fields.mode.as_str() {
        "" | "delete" => false,
        "tombstone" => true,
        other => {
            return Err(Refusal::Input {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: format!("{other:?} is not a way to delete; choose delete or tombstone."),
                back: Back {
                    href: format!("{}/delete", rule_url(id)),
                    text: "Back to the form",
                },
            });
        }
    };
    let target = match blocking(&app.catalog, move |c| c.delete(id, tombstone, ACTOR)).await? {
        // A tombstone is still a rule: its page. A deleted rule: the list.
        Some(_) => rule_url(id),
        None => format!("/-/admin/rules?deleted={id}"),
    };
    // RFC 9110 §15.4.4: the result of the POST, retrieved with GET.
    Ok(redirect.see_other(&target)?.into_response())
}
