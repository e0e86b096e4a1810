//! Tokens per second with and without a JSON Schema, and what the mask costs.
//!
//! ```text
//! cargo run --release -p rein-candle --example generate_bench -- [MODEL] [RUNS]
//! ```
//!
//! `MODEL` is a known name (`smollm2-135m-instruct`, the default, or `gemma3-270m`) or a
//! GGUF path. For each of a few record-extraction prompts, greedy decoding:
//!
//! 1. **constrained**: JSON Schema constraint with the default settings (fast-forward of
//!    forced tokens, logits of allowed tokens only, `MaskOverlap::Auto`);
//! 2. **constrained, serial mask**: the mask computed before each forward pass
//!    (`MaskOverlap::Never`), to measure what the mask itself costs per sampled token;
//!    and with every mask on a second thread (`MaskOverlap::Always`);
//! 3. **unconstrained, same text**: the same output tokens generated one per step without
//!    a constraint (each step a forward pass, all logits, a greedy pick; the fed token is
//!    the constrained output's, so the text is identical);
//! 4. **unconstrained, free**: plain greedy decoding of as many tokens.
//!
//! The prompt (prefill) is timed separately and left out of the per-token figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rein_candle::{GenerateConfig, Generator, MaskOverlap, Prompt};
use rein_grammar::json_schema::{self, Options, Whitespace};
use serde_json::json;

fn cases() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        (
            "Extract the person as JSON: Marie Curie was a physicist and chemist born in \
             Warsaw in 1867; she won two Nobel Prizes and died in 1934 at the age of 66.",
            json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 60},
                    "birth_year": {"type": "integer", "minimum": 0, "maximum": 2100},
                    "birth_city": {"type": "string", "maxLength": 40},
                    "occupation": {"type": "array", "items": {"type": "string", "maxLength": 30}, "maxItems": 3},
                    "nobel_prizes": {"type": "integer", "minimum": 0, "maximum": 10},
                    "age_at_death": {"type": "integer", "minimum": 0, "maximum": 130}
                },
                "required": ["name", "birth_year", "birth_city", "occupation", "nobel_prizes", "age_at_death"]
            }),
        ),
        (
            "Extract the order as JSON: I'd like three large pepperoni pizzas and two cans of \
             cola delivered to 12 Baker Street before 7 pm, paying by card.",
            json!({
                "type": "object",
                "properties": {
                    "items": {"type": "array", "maxItems": 5, "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string", "maxLength": 40},
                            "quantity": {"type": "integer", "minimum": 1, "maximum": 100},
                            "size": {"enum": ["small", "medium", "large", "none"]}
                        },
                        "required": ["name", "quantity", "size"]
                    }},
                    "address": {"type": "string", "maxLength": 80},
                    "deadline": {"type": "string", "maxLength": 20},
                    "payment": {"enum": ["cash", "card", "voucher"]}
                },
                "required": ["items", "address", "deadline", "payment"]
            }),
        ),
        (
            "Extract the event as JSON: The Rust conference takes place in Utrecht, \
             Netherlands, from 9 to 11 September 2025; tickets cost 350 euros and about 400 \
             people are expected.",
            json!({
                "type": "object",
                "properties": {
                    "title": {"type": "string", "maxLength": 60},
                    "city": {"type": "string", "maxLength": 40},
                    "country": {"type": "string", "maxLength": 40},
                    "start_date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                    "end_date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                    "price_eur": {"type": "number", "minimum": 0, "maximum": 100000},
                    "attendees": {"type": "integer", "minimum": 0, "maximum": 1000000}
                },
                "required": ["title", "city", "country", "start_date", "end_date", "price_eur", "attendees"]
            }),
        ),
    ]
}

#[derive(Default)]
struct Totals {
    tokens: usize,
    sampled: usize,
    forced: usize,
    wall: Duration,
    mask: Duration,
}

impl Totals {
    fn per_token_ms(&self) -> f64 {
        self.wall.as_secs_f64() * 1e3 / self.tokens.max(1) as f64
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let model = args
        .next()
        .unwrap_or_else(|| "smollm2-135m-instruct".into());
    let runs: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);

    let t = Instant::now();
    let mut g = Generator::load(&model, None).with_context(|| format!("loading {model}"))?;
    println!(
        "model {model}: loaded in {:.2?}, weights {:.0} MB, vocabulary {}",
        t.elapsed(),
        g.model().weights_bytes() as f64 / 1e6,
        g.vocab().len()
    );
    let opts = Options::default()
        .with_whitespace(Whitespace::Compact)
        .with_strict(true)
        .with_trailing_zeros(false);

    let (mut con, mut serial, mut always, mut same, mut free) = (
        Totals::default(),
        Totals::default(),
        Totals::default(),
        Totals::default(),
        Totals::default(),
    );
    for run in 0..runs {
        for (i, (text, schema)) in cases().into_iter().enumerate() {
            let grammar = json_schema::compile(&schema, &opts)?;
            let t = Instant::now();
            let compiled = Arc::new(g.compiler().grammar(&grammar)?);
            let compile = t.elapsed();
            let prompt = Prompt::chat(text).with_schema(schema.to_string());
            let cfg = GenerateConfig::new().max_tokens(300);

            // 1. Constrained.
            let out = g.generate(&prompt, Some(&compiled), &cfg)?;
            let after_prompt = out.total_time - out.prompt_time;
            if run == 0 {
                println!(
                    "case {i}: {:?} ({}; compiled in {:.1} ms)",
                    out.text,
                    out.finish.as_str(),
                    compile.as_secs_f64() * 1e3
                );
            }
            con.tokens += out.tokens.len();
            con.sampled += out.sampled;
            con.forced += out.forced;
            con.wall += after_prompt;
            con.mask += out.mask_time;

            // 2. Constrained, mask computed before each forward pass.
            let s = g.generate(
                &prompt,
                Some(&compiled),
                &cfg.clone().overlap_mask(MaskOverlap::Never),
            )?;
            assert_eq!(s.tokens, out.tokens, "serial mask changed the output");
            if run == 0 {
                println!(
                    "  {} tokens: {} sampled, {} forced; constraint time: first run {:.2} ms, \
                     second (serial) run {:.2} ms in all, {:.3} ms per sampled token",
                    s.tokens.len(),
                    s.sampled,
                    s.forced,
                    out.mask_time.as_secs_f64() * 1e3,
                    s.mask_time.as_secs_f64() * 1e3,
                    s.mask_time.as_secs_f64() * 1e3 / s.sampled.max(1) as f64
                );
            }
            serial.tokens += s.tokens.len();
            serial.sampled += s.sampled;
            serial.wall += s.total_time - s.prompt_time;
            serial.mask += s.mask_time;
            let a = g.generate(
                &prompt,
                Some(&compiled),
                &cfg.clone().overlap_mask(MaskOverlap::Always),
            )?;
            assert_eq!(a.tokens, out.tokens, "overlapped mask changed the output");
            always.tokens += a.tokens.len();
            always.wall += a.total_time - a.prompt_time;

            // 3. The same text, unconstrained: one forward pass and all logits per token.
            let ids = g.encode_prompt(&prompt)?;
            let m = g.model_mut();
            m.clear_cache();
            let mut logits = m.forward(&ids, 0)?;
            let t = Instant::now();
            for (k, &tok) in out.tokens.iter().enumerate() {
                let pick = argmax(&logits);
                std::hint::black_box(pick);
                logits = m.forward(&[tok], ids.len() + k)?;
            }
            same.tokens += out.tokens.len();
            same.wall += t.elapsed();

            // 4. Free unconstrained greedy decoding of as many tokens.
            let f = g.generate(&prompt, None, &cfg.clone().max_tokens(out.tokens.len()))?;
            free.tokens += f.tokens.len();
            free.wall += f.total_time - f.prompt_time;
        }
    }
    let tps = |t: &Totals| 1e3 / t.per_token_ms();
    println!(
        "constrained (JSON Schema): {} tokens ({} sampled, {} forced) in {:.2} s: {:.1} tokens/s",
        con.tokens,
        con.sampled,
        con.forced,
        con.wall.as_secs_f64(),
        tps(&con)
    );
    println!(
        "unconstrained, same text:  {} tokens in {:.2} s: {:.1} tokens/s",
        same.tokens,
        same.wall.as_secs_f64(),
        tps(&same)
    );
    println!(
        "unconstrained, free:       {} tokens in {:.2} s: {:.1} tokens/s",
        free.tokens,
        free.wall.as_secs_f64(),
        tps(&free)
    );
    println!(
        "extraction wall time vs the same text unconstrained: {:.1}%",
        con.wall.as_secs_f64() / same.wall.as_secs_f64() * 100.0
    );
    let mask_per_sampled = serial.mask.as_secs_f64() * 1e3 / serial.sampled.max(1) as f64;
    let cold_per_sampled = con.mask.as_secs_f64() * 1e3 / con.sampled.max(1) as f64;
    println!(
        "mask, first run of each constraint (lazy automata cold): {:.3} ms per sampled token \
         = {:.2}% of an unconstrained step",
        cold_per_sampled,
        cold_per_sampled / same.per_token_ms() * 100.0
    );
    let step_ms = same.per_token_ms();
    println!(
        "mask: {:.3} ms per sampled token = {:.2}% of an unconstrained step ({:.2} ms); \
         constrained tokens/s with the mask serial {:.1}, always overlapped {:.1}, auto {:.1}",
        mask_per_sampled,
        mask_per_sampled / step_ms * 100.0,
        step_ms,
        tps(&serial),
        tps(&always),
        tps(&con)
    );
    Ok(())
}

fn argmax(xs: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
}
