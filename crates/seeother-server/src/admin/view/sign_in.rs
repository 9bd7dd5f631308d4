//! The sign-in page.

use seeother_core::note::escape;

use super::{Field, error_summary, layout};
use crate::admin::form::FieldError;

/// The sign-in form; `csrf` is its signed token (the same as its cookie's), `next` is where
/// to go after signing in.
pub fn page(csrf: &str, next: &str, errors: &[FieldError], notice: &str) -> String {
    let token = Field {
        name: "token",
        label: "Admin token",
        hint: "The token <code>seeother serve</code> printed where it came from at start \
               (the same one the JSON API takes).",
        errors,
    };
    let notice = if notice.is_empty() {
        String::new()
    } else {
        format!("<p class=\"flash\">{}</p>", escape(notice))
    };
    let body = format!(
        "{notice}{}<form class=\"stack\" method=\"post\" action=\"/-/admin/sign-in\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"next\" value=\"{}\">{}\
         <div class=\"actions\"><button type=\"submit\">Sign in</button></div></form>",
        error_summary(errors),
        escape(csrf),
        escape(next),
        token.text("password", ""),
    );
    layout("Sign in", None, &body)
}
