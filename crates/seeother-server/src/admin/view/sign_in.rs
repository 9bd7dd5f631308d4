//! The sign-in page.

use maud::html;

use super::{Field, error_summary, hidden, layout};
use crate::admin::form::FieldError;

/// The sign-in form; `csrf` is its signed token (the same as its cookie's), `next` is where
/// to go after signing in, as given (the POST judges it).
pub fn page(csrf: &str, next: &str, errors: &[FieldError], notice: &str) -> String {
    let token = Field::new("token", "Admin token", errors).hint(html! {
        "The token " code { "seeother serve" } " printed where it came from at start \
         (the same one the JSON API takes)."
    });
    let body = html! {
        @if !notice.is_empty() { p class="flash" { (notice) } }
        (error_summary(errors))
        form class="stack" method="post" action="/-/admin/sign-in" {
            (hidden("csrf", csrf))
            (hidden("next", next))
            (token.text("password", ""))
            div class="actions" { button type="submit" { "Sign in" } }
        }
    };
    layout("Sign in", None, body)
}
