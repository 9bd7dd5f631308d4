//! Small whole numbers in rule fields, written as any number with no fractional part.
//!
//! JSON Schema's `integer` is "a number with a zero fractional part" (JSON Schema 2020-12
//! §4.2.1), so `303.0` is as valid as `303` for a field the API document calls an integer;
//! serde's `u16` takes only the second. Out of range stays an error, saying the range.

use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// The field's name and an example value, for the message about a number written as a
/// string (`status = "303"`), which is the mistake people make.
struct Whole(Option<(&'static str, u16)>);

impl Visitor<'_> for Whole {
    type Value = u16;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number from 0 to 65535")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<u16, E> {
        let quoted = if s.trim().parse::<f64>().is_ok() {
            format!("write {} without quotes", s.trim())
        } else {
            format!("{s:?} is a string")
        };
        Err(E::custom(match self.0 {
            Some((field, example)) => {
                format!("{field} must be a number such as {example}, not a string ({quoted})")
            }
            None => format!("this field must be a whole number, not a string ({quoted})"),
        }))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<u16, E> {
        u16::try_from(n).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(n), &self))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<u16, E> {
        u16::try_from(n).map_err(|_| E::invalid_value(de::Unexpected::Signed(n), &self))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<u16, E> {
        if n.fract() == 0.0 && (0.0..=f64::from(u16::MAX)).contains(&n) {
            Ok(n as u16)
        } else {
            Err(E::invalid_value(de::Unexpected::Float(n), &self))
        }
    }
}

/// `#[serde(deserialize_with = "whole::u16")]`
pub(super) fn u16<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    d.deserialize_any(Whole(None))
}

/// `#[serde(deserialize_with = "whole::status")]`: a rule's `status`.
pub(super) fn status<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    d.deserialize_any(Whole(Some(("status", 303))))
}

/// `#[serde(deserialize_with = "whole::option_u16")]` (with `default` for a missing field).
pub(super) fn option_u16<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    struct Maybe;
    impl<'de> Visitor<'de> for Maybe {
        type Value = Option<u16>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a whole number from 0 to 65535, or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            u16(d).map(Some)
        }
    }
    d.deserialize_option(Maybe)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "super::u16")]
        n: u16,
        #[serde(default, deserialize_with = "super::option_u16")]
        m: Option<u16>,
    }

    fn n(json: &str) -> Result<(u16, Option<u16>), String> {
        serde_json::from_str::<T>(json)
            .map(|t| (t.n, t.m))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn integral_numbers_of_any_spelling_are_taken() {
        assert_eq!(n(r#"{"n": 303}"#), Ok((303, None)));
        assert_eq!(n(r#"{"n": 303.0, "m": 941.0}"#), Ok((303, Some(941))));
        assert_eq!(n(r#"{"n": 0, "m": null}"#), Ok((0, None)));
        let toml: T = toml::from_str("n = 308\nm = 2").unwrap();
        assert_eq!((toml.n, toml.m), (308, Some(2)));
    }

    #[test]
    fn fractions_and_out_of_range_say_the_range() {
        for bad in [r#"{"n": 303.5}"#, r#"{"n": 65536}"#, r#"{"n": -1}"#] {
            let e = n(bad).unwrap_err();
            assert!(e.contains("0 to 65535"), "{bad}: {e}");
        }
        let e = n(r#"{"n": "303"}"#).unwrap_err();
        assert!(e.contains("not a string (write 303 without quotes)"), "{e}");
        assert!(
            n(r#"{"n": 1, "m": 1e9}"#)
                .unwrap_err()
                .contains("0 to 65535")
        );
    }
}
