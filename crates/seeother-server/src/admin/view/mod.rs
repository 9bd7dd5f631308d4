//! The admin pages' HTML: the shared layout and form helpers. Pages are built on the core's page
//! shell (`seeother_core::note::page`), so they look like the 303 note and the 404 page; every
//! value that comes from a user or the store is escaped with `seeother_core::note::escape`.

pub mod import;
pub mod rules;
pub mod sign_in;

use std::fmt::Write as _;

use seeother_core::note::{self, escape};

use super::form::FieldError;
use super::style;
use crate::session::Session;

/// A complete page: the core's shell, the admin stylesheet, the navigation (with the sign-out
/// form when signed in) and `body`.
pub fn layout(title: &str, session: Option<&Session>, body: &str) -> String {
    let mut html = String::with_capacity(body.len() + 1024);
    let _ = write!(
        html,
        "<link rel=\"stylesheet\" href=\"{}\">\n<nav class=\"top\" aria-label=\"Admin\">\
         <a class=\"brand\" href=\"/-/admin/rules\">seeother admin</a>",
        style::PATH
    );
    if let Some(s) = session.filter(|s| s.signed_in) {
        let _ = write!(
            html,
            "<a href=\"/-/admin/rules\">Rules</a><a href=\"/-/admin/rules/new\">New rule</a>\
             <a href=\"/-/admin/import\">Import</a>\
             <form method=\"post\" action=\"/-/admin/sign-out\">{}<button type=\"submit\">Sign out</button></form>",
            csrf_input(s)
        );
    }
    html.push_str("</nav>\n<main>\n");
    html.push_str(body);
    html.push_str("\n</main>");
    note::page(title, &html)
}

/// The hidden CSRF field every form carries.
pub fn csrf_input(session: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(&session.csrf)
    )
}

/// The list of errors at the top of a form, each linking to its field.
pub fn error_summary(errors: &[FieldError]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let mut html = String::from(
        "<div class=\"summary\" role=\"alert\"><h2>The form has problems; nothing was changed</h2><ul>",
    );
    for e in errors {
        let target = if e.field == "form" { "" } else { e.field };
        if target.is_empty() {
            let _ = write!(html, "<li>{}</li>", escape(&e.message));
        } else {
            let _ = write!(
                html,
                "<li><a href=\"#{target}\">{}</a></li>",
                escape(&e.message)
            );
        }
    }
    html.push_str("</ul></div>");
    html
}

/// A form field: label, hint, control and the field's error. `control` gets `id`, `name`,
/// `aria-describedby` and `aria-invalid` from here through `{attrs}`.
pub struct Field<'a> {
    /// Field name and id.
    pub name: &'static str,
    /// Label text.
    pub label: &'a str,
    /// A hint under the label.
    pub hint: &'a str,
    /// The errors of the whole form; this field's is shown.
    pub errors: &'a [FieldError],
}

impl Field<'_> {
    fn error(&self) -> Option<&FieldError> {
        self.errors.iter().find(|e| e.field == self.name)
    }

    fn messages(&self) -> impl Iterator<Item = &FieldError> {
        self.errors.iter().filter(|e| e.field == self.name)
    }

    fn attrs(&self) -> String {
        let mut described = Vec::new();
        if !self.hint.is_empty() {
            described.push(format!("{}-hint", self.name));
        }
        if self.error().is_some() {
            described.push(format!("{}-error", self.name));
        }
        let mut a = format!("id=\"{0}\" name=\"{0}\"", self.name);
        if !described.is_empty() {
            let _ = write!(a, " aria-describedby=\"{}\"", described.join(" "));
        }
        if self.error().is_some() {
            a.push_str(" aria-invalid=\"true\"");
        }
        a
    }

    fn wrap(&self, control: &str) -> String {
        let mut html = format!(
            "<div class=\"field\"><label for=\"{}\">{}</label>",
            self.name,
            escape(self.label)
        );
        if !self.hint.is_empty() {
            let _ = write!(
                html,
                "<p class=\"hint\" id=\"{}-hint\">{}</p>",
                self.name, self.hint
            );
        }
        html.push_str(control);
        if self.error().is_some() {
            let _ = write!(html, "<div class=\"error\" id=\"{}-error\">", self.name);
            for e in self.messages() {
                let _ = write!(html, "<p class=\"error\">{}</p>", escape(&e.message));
            }
            html.push_str("</div>");
        }
        html.push_str("</div>");
        html
    }

    /// A one-line text input holding `value`.
    pub fn text(&self, kind: &str, value: &str) -> String {
        self.wrap(&format!(
            "<input type=\"{kind}\" {} value=\"{}\">",
            self.attrs(),
            escape(value)
        ))
    }

    /// A text area holding `value`.
    pub fn textarea(&self, rows: u32, value: &str) -> String {
        self.wrap(&format!(
            "<textarea {} rows=\"{rows}\">{}</textarea>",
            self.attrs(),
            escape(value)
        ))
    }

    /// A select of `(value, text)` options with `value` selected.
    pub fn select(&self, options: &[(&str, &str)], value: &str) -> String {
        let mut control = format!("<select {}>", self.attrs());
        for (v, text) in options {
            let _ = write!(
                control,
                "<option value=\"{}\"{}>{}</option>",
                escape(v),
                if *v == value { " selected" } else { "" },
                escape(text)
            );
        }
        control.push_str("</select>");
        self.wrap(&control)
    }
}

/// A checkbox with its label after it.
pub fn checkbox(name: &str, label: &str, checked: bool) -> String {
    format!(
        "<div><input type=\"checkbox\" id=\"{name}\" name=\"{name}\" value=\"on\"{}> \
         <label for=\"{name}\">{}</label></div>",
        if checked { " checked" } else { "" },
        escape(label)
    )
}

/// `at` (Unix seconds) as `YYYY-MM-DD hh:mm:ss UTC`.
pub fn time(at: i64) -> String {
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
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
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
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(time(1_709_251_199), "2024-02-29 23:59:59 UTC");
    }

    #[test]
    fn fields_escape_and_link_errors() {
        let errors = [FieldError {
            field: "to",
            message: "bad <target>".into(),
        }];
        let f = Field {
            name: "to",
            label: "Target",
            hint: "",
            errors: &errors,
        };
        let html = f.text("text", "\"><script>");
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;\""));
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(html.contains(
            "<div class=\"error\" id=\"to-error\"><p class=\"error\">bad &lt;target&gt;</p></div>"
        ));
        assert!(html.contains("<label for=\"to\">Target</label>"));
    }
}
