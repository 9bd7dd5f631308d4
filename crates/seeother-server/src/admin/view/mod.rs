//! The admin pages' HTML, written with `maud`: every interpolated value is escaped unless it is
//! wrapped in `PreEscaped` (none is). Pages are built on the core's page shell
//! (`seeother_core::note::page`), so they look like the 303 note and the 404 page.

pub mod chart;
pub mod checks;
pub mod import;
pub mod rules;
pub mod sign_in;
pub mod stats;

use maud::{Markup, html};
use seeother_core::note;

use super::form::FieldError;
use super::style;
use crate::session::Session;

/// A complete page: the core's shell, the admin stylesheet, the navigation (with the sign-out
/// form when signed in) and `body`.
pub fn layout(title: &str, session: Option<&Session>, body: Markup) -> String {
    let inner = html! {
        link rel="stylesheet" href=(style::PATH);
        "\n"
        nav class="top" aria-label="Admin" {
            a class="brand" href="/-/admin/rules" { "seeother admin" }
            @if let Some(s) = session.filter(|s| s.signed_in) {
                a href="/-/admin/rules" { "Rules" }
                a href="/-/admin/rules/new" { "New rule" }
                a href="/-/admin/import" { "Import" }
                a href="/-/admin/checks" { "Link checks" }
                a href="/-/admin/stats" { "Usage" }
                form method="post" action="/-/admin/sign-out" {
                    (csrf_input(s))
                    button type="submit" { "Sign out" }
                }
            }
        }
        "\n"
        main { "\n" (body) "\n" }
    };
    // The shell takes the body as HTML: maud's output, escaped where it had to be.
    let page = note::page(title, &inner.into_string());
    // The icon belongs in the head (HTML: `icon` is not body-ok); the path is a constant.
    page.replacen(
        "</head>",
        &format!(
            "<link rel=\"icon\" type=\"image/svg+xml\" href=\"{}\">\n</head>",
            style::ICON_PATH
        ),
        1,
    )
}

/// Where a message page leads back to.
#[derive(Clone, Debug)]
pub struct Back {
    /// The link's target (a path of this server).
    pub href: String,
    /// The link's text.
    pub text: &'static str,
}

impl Back {
    /// Back to the rule list.
    pub fn rules() -> Self {
        Back {
            href: "/-/admin/rules".to_owned(),
            text: "Back to the rules",
        }
    }

    /// To the sign-in form.
    pub fn sign_in() -> Self {
        Back {
            href: "/-/admin/sign-in".to_owned(),
            text: "Sign in",
        }
    }
}

/// A short message page (errors, refusals) in the admin look.
pub fn message(title: &str, text: &str, back: &Back) -> String {
    layout(
        title,
        None,
        html! {
            p { (text) }
            p { a href=(back.href) { (back.text) } }
        },
    )
}

/// The hidden CSRF field every form carries.
pub fn csrf_input(session: &Session) -> Markup {
    hidden("csrf", &session.csrf)
}

/// A hidden field.
pub fn hidden(name: &str, value: &str) -> Markup {
    html! { input type="hidden" name=(name) value=(value); }
}

/// A notice at the top of a page (`role=status`).
pub fn flash(text: &str) -> Markup {
    html! { @if !text.is_empty() { p class="flash" role="status" { (text) } } }
}

/// The list of errors at the top of a form, each linking to its field.
pub fn error_summary(errors: &[FieldError]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="summary" role="alert" {
                h2 { "The form has problems; nothing was changed" }
                ul {
                    @for e in errors {
                        @if e.field == "form" {
                            li { (e.message) }
                        } @else {
                            li { a href={ "#" (e.field) } { (e.message) } }
                        }
                    }
                }
            }
        }
    }
}

/// A form field: label, hint, control and the field's errors; the control gets `id`, `name`,
/// `aria-describedby` and `aria-invalid` from here.
pub struct Field<'a> {
    /// Field name and id.
    pub name: &'static str,
    /// Label text.
    pub label: &'a str,
    /// A hint under the label.
    pub hint: Option<Markup>,
    /// The errors of the whole form; this field's are shown.
    pub errors: &'a [FieldError],
}

impl<'a> Field<'a> {
    /// A field without a hint.
    pub fn new(name: &'static str, label: &'a str, errors: &'a [FieldError]) -> Self {
        Field {
            name,
            label,
            hint: None,
            errors,
        }
    }

    /// The same field with `hint` under its label.
    pub fn hint(mut self, hint: Markup) -> Self {
        self.hint = Some(hint);
        self
    }

    fn invalid(&self) -> bool {
        self.errors.iter().any(|e| e.field == self.name)
    }

    fn described_by(&self) -> Option<String> {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.name));
        }
        if self.invalid() {
            ids.push(format!("{}-error", self.name));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    fn wrap(&self, control: Markup) -> Markup {
        html! {
            div class="field" {
                label for=(self.name) { (self.label) }
                @if let Some(hint) = &self.hint {
                    p class="hint" id={ (self.name) "-hint" } { (hint) }
                }
                (control)
                @if self.invalid() {
                    div class="error" id={ (self.name) "-error" } {
                        @for e in self.errors.iter().filter(|e| e.field == self.name) {
                            p class="error" { (e.message) }
                        }
                    }
                }
            }
        }
    }

    /// A one-line input of type `kind` holding `value`.
    pub fn text(&self, kind: &str, value: &str) -> Markup {
        self.wrap(html! {
            input type=(kind) id=(self.name) name=(self.name)
                aria-describedby=[self.described_by()]
                aria-invalid=[self.invalid().then_some("true")]
                value=(value);
        })
    }

    /// A text area of `rows` rows holding `value`.
    pub fn textarea(&self, rows: u32, value: &str) -> Markup {
        self.wrap(html! {
            textarea id=(self.name) name=(self.name)
                aria-describedby=[self.described_by()]
                aria-invalid=[self.invalid().then_some("true")]
                rows=(rows) { (value) }
        })
    }

    /// A select of `(value, text)` options with `value` selected.
    pub fn select(&self, options: &[(&str, &str)], value: &str) -> Markup {
        self.wrap(html! {
            select id=(self.name) name=(self.name)
                aria-describedby=[self.described_by()]
                aria-invalid=[self.invalid().then_some("true")] {
                @for (v, text) in options {
                    option value=(v) selected[*v == value] { (text) }
                }
            }
        })
    }
}

/// A checkbox with its label after it.
pub fn checkbox(name: &str, label: &str, checked: bool) -> Markup {
    html! {
        div {
            input type="checkbox" id=(name) name=(name) value="on" checked[checked];
            " "
            label for=(name) { (label) }
        }
    }
}

/// A URL or path as text that a narrow column breaks after its separators (`/`, `?`, `&`,
/// `=`, `#`, `.`, `-`, `_`) rather than anywhere: a `<wbr>` after each. (The stylesheet still
/// lets a segment longer than the column break inside.)
pub fn breakable(text: &str) -> Markup {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '/' | '?' | '&' | '=' | '#' | '.' | '-' | '_') {
            pieces.push(&text[start..i + 1]);
            start = i + 1;
        }
    }
    pieces.push(&text[start..]);
    html! {
        @for (i, p) in pieces.iter().enumerate() {
            @if i > 0 { wbr; }
            (p)
        }
    }
}

/// `at` (Unix seconds) as ISO 8601 in UTC, `YYYY-MM-DDThh:mm:ssZ` (RFC 3339 §5.6), in a
/// `<time>` element.
pub fn time(at: i64) -> Markup {
    let iso = iso8601(at);
    html! { time datetime=(iso) { (iso) } }
}

/// `at` (Unix seconds) as `YYYY-MM-DDThh:mm:ssZ` (RFC 3339 §5.6, ISO 8601's extended format).
pub fn iso8601(at: i64) -> String {
    // Days to civil date: H. Hinnant's algorithm, proleptic Gregorian.
    let days = at.div_euclid(86_400);
    let secs = at.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(
            time(1_709_251_199).into_string(),
            "<time datetime=\"2024-02-29T23:59:59Z\">2024-02-29T23:59:59Z</time>"
        );
    }

    #[test]
    fn targets_break_after_separators() {
        assert_eq!(
            breakable("https://a.example/x?y=1").into_string(),
            "https:/<wbr>/<wbr>a.<wbr>example/<wbr>x?<wbr>y=<wbr>1"
        );
        assert_eq!(breakable("<b>").into_string(), "&lt;b&gt;");
    }

    #[test]
    fn fields_escape_and_link_errors() {
        let errors = [FieldError {
            field: "to",
            message: "bad <target>".into(),
        }];
        let f = Field::new("to", "Target", &errors);
        let html = f.text("text", "\"><script>").into_string();
        assert!(
            html.contains("value=\"&quot;&gt;&lt;script&gt;\""),
            "{html}"
        );
        assert!(html.contains("aria-describedby=\"to-error\" aria-invalid=\"true\""));
        assert!(html.contains(
            "<div class=\"error\" id=\"to-error\"><p class=\"error\">bad &lt;target&gt;</p></div>"
        ));
        assert!(html.contains("<label for=\"to\">Target</label>"));
        let summary = error_summary(&errors).into_string();
        assert!(summary.contains("<li><a href=\"#to\">bad &lt;target&gt;</a></li>"));
    }

    #[test]
    fn a_field_without_errors_is_not_marked() {
        let f = Field::new("host", "Host", &[]).hint(html! { "Empty for " code { "any" } });
        let html = f.text("text", "a&b").into_string();
        assert!(html.contains("aria-describedby=\"host-hint\" value=\"a&amp;b\""));
        assert!(!html.contains("aria-invalid"));
        assert!(html.contains("<p class=\"hint\" id=\"host-hint\">Empty for <code>any</code></p>"));
    }
}
