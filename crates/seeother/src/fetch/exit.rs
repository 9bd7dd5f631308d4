//! Exit statuses of `seeother fetch`, one per error class; curl's number where curl has one.

use seeother_client::{Error, ErrorKind};

/// Bad arguments (also clap's own status).
pub const USAGE: u8 = 2;
/// The output or the cookie jar could not be written (curl: 23).
pub const WRITE: u8 = 23;

/// The table printed by `seeother fetch --help`.
pub const HELP: &str = "\
Exit status:
   0  a final response was obtained, whatever its status
   1  unsupported_scheme: a URL is not http or https
   2  bad arguments (nothing was sent)
   3  invalid_location: a Location that cannot be resolved, or several that disagree
   7  connect: no connection could be opened
   8  protocol: the server's answer is not valid HTTP
  18  body_incomplete: the final body broke off (connection closed or reset before its end)
  23  the output or the cookie jar could not be written
  28  timeout: a time limit ran out (connect, per hop or whole fetch)
  35  tls: the TLS handshake failed
  47  too_many_redirects: more redirects than --max-redirs
  61  decode: a --compressed body does not decode
  63  body_too_large: the final body is larger than --max-filesize (decoded, with --compressed)
  81  redirect_loop: the same request came round again
  82  insecure_downgrade: https redirected to http without --allow-downgrade
  83  body_not_replayable: a 307/308 asked to resend a body that cannot be sent again";

/// The exit status for an error.
pub fn code(error: &Error) -> u8 {
    match error.kind() {
        ErrorKind::Follow(_) => match error.kind_name() {
            "unsupported_scheme" => 1,
            "invalid_location" => 3,
            "too_many_redirects" => 47,
            "redirect_loop" => 81,
            "insecure_downgrade" => 82,
            "body_not_replayable" => 83,
            _ => 1,
        },
        ErrorKind::Connect => 7,
        ErrorKind::Protocol => 8,
        ErrorKind::Timeout(_) => 28,
        ErrorKind::Tls => 35,
        ErrorKind::BodyTooLarge { .. } | ErrorKind::DecodedBodyTooLarge { .. } => 63,
        ErrorKind::Decode => 61,
        ErrorKind::BodyIncomplete { .. } => 18,
        _ => 1,
    }
}
