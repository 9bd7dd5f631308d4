//! The packed table as bytes, for a snapshot: written and read section by section through a
//! CRC-32 of everything, so a file cut short or changed is refused before it is served.
//! Numbers are little-endian; every length read is checked against the bytes left in the
//! file before anything is allocated for it.

use std::io::{self, Read, Write};

/// Why an image could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The file could not be read.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// It is not a whole, valid image.
    #[error("{0}")]
    Invalid(String),
}

impl ImageError {
    pub(super) fn invalid(why: &str) -> Self {
        ImageError::Invalid(why.to_owned())
    }
}

/// Writes numbers and bytes, keeping the CRC of what was written.
pub struct Out<W> {
    w: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Out<W> {
    /// Write to `w`.
    pub fn new(w: W) -> Self {
        Out {
            w,
            crc: crc32fast::Hasher::new(),
        }
    }

    /// Write `b` as it is.
    pub fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.crc.update(b);
        self.w.write_all(b)
    }

    /// Write `n`.
    pub fn u32(&mut self, n: u32) -> io::Result<()> {
        self.bytes(&n.to_le_bytes())
    }

    /// Write `n`.
    pub fn u64(&mut self, n: u64) -> io::Result<()> {
        self.bytes(&n.to_le_bytes())
    }

    /// Write `n`.
    pub fn i64(&mut self, n: i64) -> io::Result<()> {
        self.bytes(&n.to_le_bytes())
    }

    /// Write `b`'s length, then `b`.
    pub fn block(&mut self, b: &[u8]) -> io::Result<()> {
        self.u64(b.len() as u64)?;
        self.bytes(b)
    }

    /// Write the CRC of everything written (not itself counted), and give the writer back.
    pub fn finish(mut self) -> io::Result<W> {
        let crc = self.crc.clone().finalize();
        self.w.write_all(&crc.to_le_bytes())?;
        Ok(self.w)
    }
}

/// Reads what [`Out`] wrote, from a source of known length, keeping the CRC of what was read.
pub struct In<R> {
    r: R,
    crc: crc32fast::Hasher,
    /// Bytes left before the CRC at the end.
    left: u64,
}

impl<R: Read> In<R> {
    /// Read from `r`, which holds `len` bytes (the CRC included).
    pub fn new(r: R, len: u64) -> Result<Self, ImageError> {
        let left = len
            .checked_sub(4)
            .ok_or_else(|| ImageError::invalid("it is cut short"))?;
        Ok(In {
            r,
            crc: crc32fast::Hasher::new(),
            left,
        })
    }

    /// Fill `buf`.
    pub fn fill(&mut self, buf: &mut [u8]) -> Result<(), ImageError> {
        if buf.len() as u64 > self.left {
            return Err(ImageError::invalid("it is cut short"));
        }
        self.r.read_exact(buf)?;
        self.crc.update(buf);
        self.left -= buf.len() as u64;
        Ok(())
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<Vec<u8>, ImageError> {
        if n as u64 > self.left {
            return Err(ImageError::invalid("it is cut short"));
        }
        let mut v = vec![0; n];
        self.fill(&mut v)?;
        Ok(v)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ImageError> {
        let mut b = [0; N];
        self.fill(&mut b)?;
        Ok(b)
    }

    /// The next number.
    pub fn u32(&mut self) -> Result<u32, ImageError> {
        self.array().map(u32::from_le_bytes)
    }

    /// The next number.
    pub fn u64(&mut self) -> Result<u64, ImageError> {
        self.array().map(u64::from_le_bytes)
    }

    /// The next number.
    pub fn i64(&mut self) -> Result<i64, ImageError> {
        self.array().map(i64::from_le_bytes)
    }

    /// A count of things of at least `each` bytes that follow: refused if they could not
    /// fit in what is left.
    pub fn count(&mut self, each: usize, what: &str) -> Result<usize, ImageError> {
        let n = self.u64()?;
        if n.saturating_mul(each.max(1) as u64) > self.left {
            return Err(ImageError::Invalid(format!(
                "it is cut short, or says more {what} than it holds"
            )));
        }
        Ok(n as usize)
    }

    /// A block [`Out::block`] wrote.
    pub fn block(&mut self) -> Result<Vec<u8>, ImageError> {
        let n = self.count(1, "bytes")?;
        self.bytes(n)
    }

    /// Check that everything was read and the CRC at the end is the CRC of it.
    pub fn finish(mut self) -> Result<(), ImageError> {
        if self.left != 0 {
            return Err(ImageError::invalid("it has bytes past its end"));
        }
        let mut b = [0; 4];
        self.r.read_exact(&mut b).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => ImageError::invalid("it is cut short"),
            _ => e.into(),
        })?;
        if u32::from_le_bytes(b) != self.crc.clone().finalize() {
            return Err(ImageError::invalid(
                "its CRC-32 does not match (cut short or changed)",
            ));
        }
        Ok(())
    }
}
