//! Where mask time goes on MaskBench cases: compiles each case's schema,
//! feeds its valid instances token by token and prints the matcher's
//! counters and timings.
//!
//! With `SHOW_SLOW=1`, prints the output so far at every mask that built a
//! token table; with `SLOWEST=N`, the N slowest masks of the run at the
//! end; `QUIET=1` prints only the totals; `COMPILE_ONLY=1` only compiles
//! (for TTFM profiles). Schemas are compiled with keys
//! in any order, as `rein mask-bench` does (`KEY_ORDER=declared` for the
//! order of `properties`).
//!
//! ```text
//! cargo run --release -p rein-engine --example profile_case -- llama3 CASE.json...
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use rein_engine::{Compiler, Matcher, MatcherStats, TokenMask, Vocabulary};
use rein_grammar::json_schema::{compile, KeyOrder, Options};
use serde_json::Value;

/// A slow mask: its time, the case, the output before it, and (table
/// builds, table hits, walk nodes, frontier walks) during it.
type Slow = (Duration, String, String, (u64, u64, u64, u64));

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let tok = args.next().unwrap_or_else(|| "llama3".into());
    let vocab = Arc::new(Vocabulary::load(&tok)?);
    let quiet = std::env::var_os("QUIET").is_some();
    let compile_only = std::env::var_os("COMPILE_ONLY").is_some();
    let t = Instant::now();
    let _ = Compiler::new(&vocab);
    println!(
        "vocabulary slices: {:.1} ms ({} tokens, {} trie nodes)",
        t.elapsed().as_secs_f64() * 1e3,
        vocab.len(),
        vocab.trie().num_nodes()
    );
    let mut all: Vec<Duration> = Vec::new();
    let mut ttfms: Vec<Duration> = Vec::new();
    let mut front: Vec<Duration> = Vec::new();
    // With `SLOWEST=N`, the N slowest masks of the whole run are printed at
    // the end, with what they did.
    let slowest: usize = std::env::var("SLOWEST")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut slow: Vec<Slow> = Vec::new();
    let mut options = Options::default();
    options.strict = std::env::var_os("STRICT").is_some();
    options.key_order = match std::env::var("KEY_ORDER").as_deref() {
        Ok("declared") => KeyOrder::Declared,
        _ => KeyOrder::Any,
    };
    // With `INLINE=N`, regular rules up to N regex nodes are inlined.
    let mut config = rein_engine::Config::default();
    if let Some(n) = std::env::var("INLINE").ok().and_then(|s| s.parse().ok()) {
        config.limits.inline_regex_nodes = n;
    }
    // With `INLINE_COST=N`, only regular rules up to N estimated NFA
    // states are inlined.
    if let Some(n) = std::env::var("INLINE_COST")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        config.limits.inline_regex_cost = n;
    }
    // With `REPEAT=N`, each case is compiled N times (for profiles).
    let repeat: usize = std::env::var("REPEAT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let args: Vec<String> = args.collect();
    let args = args
        .iter()
        .flat_map(|a| std::iter::repeat_n(a.clone(), repeat));
    for path in args {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        let t = Instant::now();
        let ir = match compile(&case["schema"], &options) {
            Ok(ir) => ir,
            Err(e) => {
                println!("{path}: schema error: {e}");
                continue;
            }
        };
        front.push(t.elapsed());
        let g = match Compiler::new(&vocab)
            .with_config(config.clone())
            .grammar(&ir)
        {
            Ok(g) => Arc::new(g),
            Err(e) => {
                println!("{path}: compile error: {e}");
                continue;
            }
        };
        let ttfm = t.elapsed();
        let stats = g.stats();
        if compile_only {
            ttfms.push(ttfm);
            if !quiet {
                println!(
                    "{path}: ttfm {:.0} µs (front {:.0}), lexemes {}, nts {}, nfa states {}",
                    ttfm.as_secs_f64() * 1e6,
                    front[front.len() - 1].as_secs_f64() * 1e6,
                    stats.lexemes,
                    stats.nonterminals,
                    stats.nfa_states
                );
            }
            continue;
        }
        let mut total = MatcherStats::default();
        let mut times: Vec<Duration> = Vec::new();
        let mut mask = TokenMask::new(vocab.len());
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        for test in case["tests"].as_array().into_iter().flatten() {
            if test["valid"] != Value::Bool(true) {
                continue;
            }
            let text = dumps(&test["data"]);
            let mut m = Matcher::new(g.clone());
            let mut done: Vec<u8> = Vec::new();
            let show = std::env::var_os("SHOW_SLOW").is_some();
            for tk in vocab.encode(&text)? {
                let t = Instant::now();
                let s0 = m.stats();
                let before = s0.table_builds;
                m.compute_mask(&mut mask)?;
                let took = t.elapsed();
                times.push(took);
                if slowest > 0 && (slow.len() < slowest || took > slow[slow.len() - 1].0) {
                    let s1 = m.stats();
                    // (table builds, table hits, walk nodes, frontier walks)
                    let delta = (
                        s1.table_builds - s0.table_builds,
                        s1.table_hits - s0.table_hits,
                        s1.walk_nodes - s0.walk_nodes,
                        s1.frontier_walks - s0.frontier_walks,
                    );
                    let tail = &done[done.len().saturating_sub(50)..];
                    slow.push((
                        took,
                        path.clone(),
                        String::from_utf8_lossy(tail).into_owned(),
                        delta,
                    ));
                    slow.sort_by_key(|x| std::cmp::Reverse(x.0));
                    slow.truncate(slowest);
                }
                if show && m.stats().table_builds > before {
                    let tail = &done[done.len().saturating_sub(40)..];
                    println!(
                        "  table build {:>6.0} µs after {:?}",
                        us(t.elapsed()),
                        String::from_utf8_lossy(tail)
                    );
                }
                done.extend_from_slice(vocab.token_bytes(tk));
                if m.commit(tk).is_err() {
                    break;
                }
            }
            let s = m.stats();
            total.masks += s.masks;
            total.table_hits += s.table_hits;
            total.table_builds += s.table_builds;
            total.walk_nodes += s.walk_nodes;
            total.frontier_walks += s.frontier_walks;
        }
        times.sort();
        all.extend_from_slice(&times);
        ttfms.push(ttfm);
        if quiet {
            continue;
        }
        let avg = times.iter().sum::<Duration>().as_secs_f64() * 1e6 / times.len().max(1) as f64;
        let p = |q: usize| times.get(times.len() * q / 100).copied().map_or(0.0, us);
        println!(
            "{path}: ttfm {:.0} µs, lexemes {}, nts {}, tokens {}, avg {avg:.0} µs, p50 {:.0}, p90 {:.0}, max {:.0}\n  {total:?}",
            us(ttfm),
            stats.lexemes,
            stats.nonterminals,
            times.len(),
            p(50),
            p(90),
            times.last().copied().map_or(0.0, us),
        );
    }
    for (d, path, tail, (builds, hits, nodes, frontier)) in &slow {
        let name = path.rsplit('/').next().unwrap_or(path);
        println!(
            "{:>8.0} µs {name}: builds {builds} hits {hits} walk nodes {nodes} frontier {frontier} after {tail:?}",
            d.as_secs_f64() * 1e6,
        );
    }
    all.sort();
    ttfms.sort();
    front.sort();
    let pct = |v: &[Duration], q: f64| {
        v.get((v.len() as f64 * q / 100.0) as usize)
            .or(v.last())
            .map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    println!(
        "all: {} masks; TBM p50 {:.1} µs, p90 {:.1}, p99 {:.1}, p99.9 {:.1}, max {:.1}; TTFM min {:.0} µs, p50 {:.0} µs, p99 {:.0} (schema to IR: p50 {:.0} µs, p99 {:.0})",
        all.len(),
        pct(&all, 50.0),
        pct(&all, 90.0),
        pct(&all, 99.0),
        pct(&all, 99.9),
        pct(&all, 100.0),
        pct(&ttfms, 0.0),
        pct(&ttfms, 50.0),
        pct(&ttfms, 99.0),
        pct(&front, 50.0),
        pct(&front, 99.0),
    );
    Ok(())
}

/// Python's `json.dumps` layout (`", "` and `": "`, non-ASCII kept).
fn dumps(v: &Value) -> String {
    match v {
        Value::Array(a) => format!("[{}]", a.iter().map(dumps).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), dumps(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}
