//! `-w/--write-out FORMAT`: curl's variables, printed on standard output after the fetch.

use std::io::{self, Write};
use std::time::Duration;

use http::StatusCode;
use seeother_client::{Error, History, HopRecord, redact};
use url::Url;

/// What a fetch came to, as the variables see it.
pub struct Outcome {
    /// The exit status.
    pub code: u8,
    /// The final status; `None` (printed `000`, as curl) when there was no final response.
    pub status: Option<StatusCode>,
    /// The URL of the last request.
    pub url_effective: Url,
    /// Every request sent.
    pub hops: Vec<HopRecord>,
    /// Bytes of the final body received (before any decoding, as curl counts them).
    pub size_download: u64,
    /// The whole fetch, set by the caller at its end.
    pub time_total: Duration,
    /// The error message, when the fetch failed.
    pub error: Option<String>,
}

impl Outcome {
    /// A fetch that ended in a final response.
    pub fn of_response(code: u8, status: StatusCode, history: &History, size: u64) -> Self {
        Outcome {
            code,
            status: Some(status),
            url_effective: history.final_url.clone(),
            hops: history.hops.clone(),
            size_download: size,
            time_total: Duration::ZERO,
            error: None,
        }
    }

    /// A fetch of `url` that failed.
    pub fn of_error(code: u8, url: &Url, e: &Error) -> Self {
        let history = e.history();
        Outcome {
            code,
            status: None,
            url_effective: history
                .map(|h| &h.final_url)
                .or_else(|| e.url())
                .unwrap_or(url)
                .clone(),
            hops: history.map_or_else(Vec::new, |h| h.hops.clone()),
            size_download: 0,
            time_total: Duration::ZERO,
            error: Some(e.to_string()),
        }
    }

    /// A fetch that failed before anything was sent, or writing its output.
    pub fn of_failure(code: u8, url: &Url) -> Self {
        Outcome {
            code,
            status: None,
            url_effective: url.clone(),
            hops: Vec::new(),
            size_download: 0,
            time_total: Duration::ZERO,
            error: None,
        }
    }

    /// curl's `redirect_url`: where the last response would have led, had it been followed.
    fn redirect_url(&self) -> String {
        let Some(last) = self.hops.last().filter(|h| h.status.is_redirection()) else {
            return String::new();
        };
        let Some(location) = &last.location else {
            return String::new();
        };
        // RFC 9110 §10.2.2: resolved against the URL of the request it answered.
        seeother_core::location::resolve(&last.url, location.as_bytes())
            .map(|u| redact::url(&u).into_owned())
            .unwrap_or_default()
    }

    /// curl's `time_connect`: from the start to the TCP connection of the last request (the
    /// hops before it, then its own connect; 0 for that part when it reused a connection).
    fn time_connect(&self) -> Duration {
        let Some((last, before)) = self.hops.split_last() else {
            return Duration::ZERO;
        };
        before.iter().map(|h| h.elapsed).sum::<Duration>() + last.connect.unwrap_or_default()
    }

    fn value(&self, variable: Variable) -> Value {
        match variable {
            Variable::HttpCode => Value::Text(match self.status {
                Some(s) => s.as_u16().to_string(),
                None => "000".to_owned(),
            }),
            Variable::UrlEffective => Value::Text(redact::url(&self.url_effective).into_owned()),
            Variable::NumRedirects => Value::Number(self.hops.len().saturating_sub(1) as f64),
            Variable::RedirectUrl => Value::Text(self.redirect_url()),
            Variable::TimeTotal => Value::Seconds(self.time_total),
            Variable::TimeConnect => Value::Seconds(self.time_connect()),
            Variable::SizeDownload => Value::Number(self.size_download as f64),
            Variable::ExitCode => Value::Number(f64::from(self.code)),
            Variable::ErrorMsg => Value::Text(self.error.clone().unwrap_or_default()),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variable {
    HttpCode,
    UrlEffective,
    NumRedirects,
    RedirectUrl,
    TimeTotal,
    TimeConnect,
    SizeDownload,
    ExitCode,
    ErrorMsg,
}

const VARIABLES: [(&str, Variable); 9] = [
    ("http_code", Variable::HttpCode),
    ("url_effective", Variable::UrlEffective),
    ("num_redirects", Variable::NumRedirects),
    ("redirect_url", Variable::RedirectUrl),
    ("time_total", Variable::TimeTotal),
    ("time_connect", Variable::TimeConnect),
    ("size_download", Variable::SizeDownload),
    ("exitcode", Variable::ExitCode),
    ("errormsg", Variable::ErrorMsg),
];

enum Value {
    Text(String),
    Number(f64),
    Seconds(Duration),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Text(t) => t.clone(),
            Value::Number(n) => format!("{n}"),
            // curl prints seconds with six decimals.
            Value::Seconds(d) => format!("{:.6}", d.as_secs_f64()),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Value::Text(t) => serde_json::Value::from(t.as_str()),
            Value::Number(n) => serde_json::Value::from(*n as u64),
            Value::Seconds(d) => {
                serde_json::Value::from((d.as_secs_f64() * 1_000_000.0).round() / 1_000_000.0)
            }
        }
    }
}

#[derive(Debug, PartialEq)]
enum Piece {
    Text(String),
    Variable(Variable),
    Json,
}

/// A parsed `--write-out` format.
#[derive(Debug)]
pub struct Format(Vec<Piece>);

impl Format {
    /// Parse FORMAT (`@FILE` reads it from FILE); an unknown variable is an error that lists
    /// the known ones (curl warns and prints nothing for it).
    pub fn parse(format: &str) -> Result<Format, String> {
        let text = match format.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("-w @{path}: cannot read the format file: {e}"))?,
            None => format.to_owned(),
        };
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, chars.peek().copied()) {
                ('\\', Some(e @ ('n' | 'r' | 't' | '\\'))) => {
                    chars.next();
                    literal.push(match e {
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        _ => '\\',
                    });
                }
                ('%', Some('%')) => {
                    chars.next();
                    literal.push('%');
                }
                ('%', Some('{')) => {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                    let piece = if name == "json" {
                        Piece::Json
                    } else {
                        let known = VARIABLES.iter().find(|(n, _)| *n == name).ok_or_else(|| {
                            let names: Vec<_> = VARIABLES.iter().map(|(n, _)| *n).collect();
                            format!(
                                "-w: unknown variable %{{{name}}}; the known ones are {} and json",
                                names.join(", ")
                            )
                        })?;
                        Piece::Variable(known.1)
                    };
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    pieces.push(piece);
                }
                _ => literal.push(c),
            }
        }
        pieces.push(Piece::Text(literal));
        pieces.retain(|p| *p != Piece::Text(String::new()));
        Ok(Format(pieces))
    }

    /// The format with the outcome's values in it.
    pub fn render(&self, outcome: &Outcome) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Variable(v) => out.push_str(&outcome.value(*v).text()),
                Piece::Json => {
                    let object: serde_json::Map<String, serde_json::Value> = VARIABLES
                        .iter()
                        .map(|(name, v)| ((*name).to_owned(), outcome.value(*v).json()))
                        .collect();
                    out.push_str(&serde_json::Value::Object(object).to_string());
                }
            }
        }
        out
    }

    /// Print the format on standard output.
    pub fn print(&self, outcome: &Outcome) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(self.render(outcome).as_bytes())?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_unknown_variables() {
        let f = Format::parse(r"%{http_code}\n100%% %{num_redirects}\t\\").unwrap();
        let outcome = Outcome::of_failure(7, &Url::parse("http://h/").unwrap());
        assert_eq!(f.render(&outcome), "000\n100% 0\t\\");
        let e = Format::parse("%{http_cod}").unwrap_err();
        assert!(e.contains("unknown variable %{http_cod}"), "{e}");
        assert!(e.contains("http_code"), "{e}");
    }
}
