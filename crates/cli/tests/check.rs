//! `rein check`: exit codes, summaries, located errors and the first
//! rejected byte, through the real binary.

use std::path::PathBuf;
use std::process::{Command, Output};

fn rein(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rein"))
        .args(args)
        .output()
        .expect("rein runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rein-check-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn regex_summary_and_exit_codes() {
    let o = rein(&["check", "--regex", "[0-9]+(\\.[0-9]+)?"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("lexemes"), "{}", text(&o));

    let good = temp_file("good.txt", "3.25");
    let o = rein(&[
        "check",
        "--regex",
        "[0-9]+(\\.[0-9]+)?",
        "--input",
        good.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("accepted"));

    let bad = temp_file("bad.txt", "3.2x5");
    let o = rein(&[
        "check",
        "--regex",
        "[0-9]+(\\.[0-9]+)?",
        "--input",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("rejected at byte 3"), "{}", text(&o));

    let short = temp_file("short.txt", "3.");
    let o = rein(&[
        "check",
        "--regex",
        "[0-9]+(\\.[0-9]+)?",
        "--input",
        short.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("incomplete"), "{}", text(&o));
}

#[test]
fn bad_regex_is_a_located_error() {
    let o = rein(&["check", "--regex", "ab(?=c)"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("1:3") || t.contains("look"), "{t}");
}

#[test]
fn grammar_files() {
    let o = rein(&["check", "--grammar", &repo("grammars/json.gbnf")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let input = temp_file("doc.json", "{\"a\": [1, 2, {\"b\": null}]}");
    let o = rein(&[
        "check",
        "--grammar",
        &repo("grammars/json.gbnf"),
        "--input",
        input.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let input = temp_file("bad.json", "{\"a\": [1, 2,, 3]}");
    let o = rein(&[
        "check",
        "--grammar",
        &repo("grammars/json.gbnf"),
        "--input",
        input.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("rejected at byte 12"), "{}", text(&o));
}

#[test]
fn grammar_errors_have_line_and_column() {
    let g = temp_file(
        "bad.gbnf",
        "root ::= item+\nitem ::= \"a\" | undefined-rule\n",
    );
    let o = rein(&["check", "--grammar", g.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("undefined-rule") && t.contains("2:"), "{t}");

    let g = temp_file("syntax.gbnf", "root ::= \"a\" (\n");
    let o = rein(&["check", "--grammar", g.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("1:"), "{}", text(&o));
}

#[test]
fn missing_file_is_an_error_not_a_panic() {
    let o = rein(&["check", "--grammar", "/nonexistent/file.gbnf"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!text(&o).contains("panicked"));
}
