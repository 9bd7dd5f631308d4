//! Content codings of the final body (`ClientBuilder::decompress`): gzip, deflate, br and zstd
//! decoded as the body arrives, with the body size limit on the decoded bytes, so a small
//! compressed body that expands without end (a decompression bomb) is an error after `limit`
//! bytes, never an allocation of its full size.

use std::io;
use std::pin::Pin;

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZlibDecoder, ZstdDecoder};
use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http::header::CONTENT_ENCODING;
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};

/// The `Accept-Encoding` sent when decoding is on (RFC 9110 §12.5.3).
pub(crate) const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// A content coding this client decodes (RFC 9110 §8.4.1; br RFC 7932; zstd RFC 8878).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    /// HTTP's "deflate" is the zlib format (RFC 9110 §8.4.1.2).
    Deflate,
    Brotli,
    Zstd,
}

/// The codings of a `Content-Encoding`, in the order they were applied; `None` when there are
/// none to undo, or one is not known (the body is then passed on as it came, as curl does).
pub(crate) fn codings(headers: &HeaderMap) -> Option<Vec<Coding>> {
    let mut out = Vec::new();
    for value in headers.get_all(CONTENT_ENCODING) {
        for name in value.to_str().ok()?.split(',') {
            let coding = match name.trim().to_ascii_lowercase().as_str() {
                "" | "identity" => continue,
                // RFC 9110 §8.4.1.3: x-gzip is gzip.
                "gzip" | "x-gzip" => Coding::Gzip,
                "deflate" => Coding::Deflate,
                "br" => Coding::Brotli,
                "zstd" => Coding::Zstd,
                _ => return None,
            };
            out.push(coding);
        }
    }
    // More than a few layers is no real server.
    (!out.is_empty() && out.len() <= 4).then_some(out)
}

/// The decoded body, read from the raw one.
pub(crate) struct Decoder {
    reader: Pin<Box<dyn AsyncRead + Send>>,
    buffer: BytesMut,
    /// Decoded bytes produced so far.
    pub(crate) produced: u64,
}

/// The piece size read from the decoder: memory stays at one piece whatever the ratio.
const PIECE: usize = 64 << 10;

impl Decoder {
    /// Decode `raw`, which the codings were applied to in this order.
    pub(crate) fn new(raw: impl AsyncRead + Send + 'static, codings: &[Coding]) -> Self {
        let mut reader: Pin<Box<dyn AsyncRead + Send>> = Box::pin(raw);
        // RFC 9110 §8.4: undone in the reverse of the order they were applied in.
        for coding in codings.iter().rev() {
            let input = BufReader::new(reader);
            reader = match coding {
                Coding::Gzip => Box::pin(multiple(GzipDecoder::new(input))),
                Coding::Deflate => Box::pin(ZlibDecoder::new(input)),
                Coding::Brotli => Box::pin(BrotliDecoder::new(input)),
                Coding::Zstd => Box::pin(multiple(ZstdDecoder::new(input))),
            };
        }
        Decoder {
            reader,
            buffer: BytesMut::new(),
            produced: 0,
        }
    }

    /// The next decoded piece, `None` at the end.
    pub(crate) async fn piece(&mut self) -> io::Result<Option<Bytes>> {
        self.buffer.reserve(PIECE);
        let n = (&mut self.reader)
            .take(PIECE as u64)
            .read_buf(&mut self.buffer)
            .await?;
        if n == 0 {
            return Ok(None);
        }
        self.produced += n as u64;
        Ok(Some(self.buffer.split().freeze()))
    }
}

/// gzip and zstd allow several members one after the other (RFC 1952 §2.2, RFC 8878 §3.1).
fn multiple<D: MultipleMembers>(mut decoder: D) -> D {
    decoder.multiple_members(true);
    decoder
}

trait MultipleMembers {
    fn multiple_members(&mut self, on: bool);
}

impl<R: tokio::io::AsyncBufRead> MultipleMembers for GzipDecoder<R> {
    fn multiple_members(&mut self, on: bool) {
        GzipDecoder::multiple_members(self, on);
    }
}

impl<R: tokio::io::AsyncBufRead> MultipleMembers for ZstdDecoder<R> {
    fn multiple_members(&mut self, on: bool) {
        ZstdDecoder::multiple_members(self, on);
    }
}
