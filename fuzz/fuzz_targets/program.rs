//! Program templates: parsing never panics; what parses compiles to a
//! grammar (variables it names are filled in) or fails cleanly, and a
//! matcher can walk it.
#![no_main]

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rein_program::{ParseOptions, Program, ProgramError, Vars};

/// A directory with one small file of each kind a hole may name
/// (`grammar="g.gbnf"`, `schema="s.json"`).
fn options() -> &'static ParseOptions {
    static O: OnceLock<ParseOptions> = OnceLock::new();
    O.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rein-fuzz-program-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let files = [
            ("g.gbnf", "root ::= \"a\" root | \"b\"\n"),
            (
                "s.json",
                r#"{"type": "array", "items": {"enum": [1, "x"]}}"#,
            ),
            ("bad.json", "{"),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("fixture file");
        }
        ParseOptions {
            base_dir: Some(PathBuf::from(dir)),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = Program::parse_with(src, options()) else {
        return;
    };
    // Fill in the variables the template names, one error at a time.
    let mut vars = Vars::new();
    for _ in 0..8 {
        match p.grammar(&vars) {
            Ok(g) => return common::exercise(&g, 8),
            Err(ProgramError::UnknownVariable { name, .. }) => {
                vars.insert(name, "v".into());
            }
            Err(_) => return,
        }
    }
});
