//! The body of a response as shared parts, so a note is sent without being copied together.

use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Most parts a body has: a note is its fixed text cut around two copies of the target.
const PARTS: usize = 5;

/// A response body: one buffer, or a note in parts (fixed text shared by every note of its
/// status, and the target shared with the `Location` value), so building one copies nothing.
///
/// It is a [`Buf`], so it can be the data of an `http_body` body (e.g.
/// `http_body_util::Full<Body>`) and written with one vectored write.
///
/// ```
/// use bytes::{Buf, Bytes};
/// use seeother_core::respond::Body;
///
/// let mut body = Body::from(Bytes::from_static(b"hello"));
/// assert_eq!(body.remaining(), 5);
/// assert_eq!(body.to_bytes(), "hello");
/// body.advance(2);
/// assert_eq!(body.chunk(), b"llo");
/// ```
#[derive(Clone, Debug)]
pub struct Body {
    parts: [Bytes; PARTS],
    /// The first part not yet consumed.
    at: usize,
}

impl Body {
    /// No bytes.
    pub const EMPTY: Body = Body {
        parts: [const { Bytes::new() }; PARTS],
        at: PARTS,
    };

    /// A body of `parts`, in order (empty parts are skipped).
    pub(crate) fn from_parts(parts: [Bytes; PARTS]) -> Self {
        let mut body = Body { parts, at: 0 };
        body.skip_empty();
        body
    }

    fn skip_empty(&mut self) {
        while self.at < PARTS && self.parts[self.at].is_empty() {
            self.at += 1;
        }
    }

    /// How many bytes are left.
    pub fn len(&self) -> usize {
        self.parts[self.at.min(PARTS)..]
            .iter()
            .map(Bytes::len)
            .sum()
    }

    /// Whether no byte is left.
    pub fn is_empty(&self) -> bool {
        self.at >= PARTS
    }

    /// The bytes left, part by part.
    pub fn parts(&self) -> impl Iterator<Item = &[u8]> {
        self.parts[self.at.min(PARTS)..]
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| &p[..])
    }

    /// The bytes left, in one buffer (shared when there is one part, copied otherwise).
    pub fn to_bytes(&self) -> Bytes {
        let rest = &self.parts[self.at.min(PARTS)..];
        match rest.iter().filter(|p| !p.is_empty()).count() {
            0 => Bytes::new(),
            1 => rest
                .iter()
                .find(|p| !p.is_empty())
                .cloned()
                .unwrap_or_default(),
            _ => {
                let mut all = BytesMut::with_capacity(self.len());
                for part in rest {
                    all.extend_from_slice(part);
                }
                all.freeze()
            }
        }
    }
}

impl Default for Body {
    /// An empty body.
    fn default() -> Self {
        Body::EMPTY
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Body::from_parts([
            bytes,
            Bytes::new(),
            Bytes::new(),
            Bytes::new(),
            Bytes::new(),
        ])
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::from(Bytes::from(text))
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Body::from(Bytes::from_static(text.as_bytes()))
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}

impl Eq for Body {}

impl Buf for Body {
    fn remaining(&self) -> usize {
        self.len()
    }

    fn chunk(&self) -> &[u8] {
        self.parts.get(self.at).map_or(&[], |p| p)
    }

    fn advance(&mut self, mut cnt: usize) {
        while cnt > 0 && self.at < PARTS {
            let part = &mut self.parts[self.at];
            let n = cnt.min(part.len());
            part.advance(n);
            cnt -= n;
            self.skip_empty();
        }
        assert!(cnt == 0, "advanced past the end of a body");
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for part in self.parts[self.at.min(PARTS)..]
            .iter()
            .filter(|p| !p.is_empty())
        {
            let Some(slot) = dst.get_mut(n) else { break };
            *slot = IoSlice::new(part);
            n += 1;
        }
        n
    }

    fn copy_to_bytes(&mut self, len: usize) -> Bytes {
        // One part holds it all: share it instead of copying.
        if let Some(part) = self.parts.get_mut(self.at)
            && part.len() >= len
        {
            let out = part.split_to(len);
            self.skip_empty();
            return out;
        }
        let mut out = BytesMut::with_capacity(len);
        out.put((&mut *self).take(len));
        out.freeze()
    }
}
