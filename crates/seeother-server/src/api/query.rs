//! Query-string parameters of API requests.

use http::StatusCode;
use percent_encoding::percent_decode_str;

use super::reply::ApiError;

/// Decoded `name=value` pairs of a query string.
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    /// Parse `query` (`application/x-www-form-urlencoded`: `+` is a space).
    pub(super) fn parse(query: Option<&str>) -> Self {
        let decode = |s: &str| {
            percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        Query(
            query
                .unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (decode(k), decode(v)),
                    None => (decode(p), String::new()),
                })
                .collect(),
        )
    }

    /// The first value of `name`.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `name` as a number.
    pub(super) fn number(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("parameter `{name}` is {v:?}; give a whole number"),
                    )
                })
            })
            .transpose()
    }

    /// `name` as a number from `min` to `max`, `default` when absent. A number out of range
    /// is an error rather than clamped, as the OpenAPI document's `minimum` and `maximum` say.
    pub(super) fn bounded(
        &self,
        name: &str,
        default: i64,
        min: i64,
        max: i64,
    ) -> Result<i64, ApiError> {
        match self.number(name)?.unwrap_or(default) {
            n if (min..=max).contains(&n) => Ok(n),
            n => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("parameter `{name}` is {n}; give a number from {min} to {max}"),
            )),
        }
    }

    /// `name` as a flag (`true`/`1`/`yes`, or present without a value).
    pub(super) fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(false),
            Some("" | "true" | "1" | "yes") => Ok(true),
            Some("false" | "0" | "no") => Ok(false),
            Some(v) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("parameter `{name}` is {v:?}; give true or false"),
            )),
        }
    }
}
