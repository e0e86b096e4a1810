//! Token healing: at a text/hole boundary the last given token is taken
//! back, so the model can use the token that spans the boundary. Without
//! healing, `https:` ends in the token `:` and the model can only go on with
//! `//`, a tokenization of `https://` that the tokenizer never produces;
//! with healing the canonical `://` is allowed (and taken by some seeds).

use rein_candle::{GenerateConfig, Generator, Model, Prompt};
use rein_program::{Program, RunConfig, Vars};
use rein_vocab::{TokenId, Vocabulary};

fn vocab() -> Vocabulary {
    let mut toks: Vec<Vec<u8>> = (32u8..127).map(|b| vec![b]).collect();
    for t in ["https", "://", "//", "www", ".com", "Link"] {
        toks.push(t.as_bytes().to_vec());
    }
    let eos = TokenId(toks.len() as u32);
    toks.push(Vec::new());
    Vocabulary::from_token_bytes(toks, vec![eos])
}

fn id(v: &Vocabulary, s: &str) -> u32 {
    (0..v.len() as u32)
        .find(|&t| v.token_bytes(TokenId(t)) == s.as_bytes())
        .unwrap()
}

/// Runs the program for `seeds` and returns, per seed, whether the token
/// after `https` was `://` (the canonical tokenization), checking the text.
fn runs(healing: bool, seeds: u64) -> Vec<bool> {
    let v = vocab();
    let colon_slashes = id(&v, "://");
    let https = id(&v, "https");
    let p = Program::parse(r#"Link: https:{{gen "rest" regex="//[a-z]{2,6}\.com"}}"#).unwrap();
    let re = regex::Regex::new(r"^Link: https://[a-z]{2,6}\.com$").unwrap();
    (0..seeds)
        .map(|seed| {
            let mut g = Generator::new(Model::tiny_random(v.len(), seed), v.clone()).unwrap();
            let config = RunConfig::new()
                .healing(healing)
                .prompt(Prompt::raw("A"))
                .generate(GenerateConfig::new().temperature(1.0).seed(seed));
            let out = p.run(&mut g, &Vars::new(), &config).unwrap();
            assert!(re.is_match(&out.text), "seed {seed}: {:?}", out.text);
            assert_eq!(out.healed, usize::from(healing));
            let at = out.tokens.iter().position(|&t| t == https).unwrap();
            out.tokens[at + 1] == colon_slashes
        })
        .collect()
}

#[test]
fn healing_lets_the_model_use_the_token_across_the_boundary() {
    let healed = runs(true, 24);
    assert!(healed.iter().any(|&x| x), "no seed used `://`: {healed:?}");
}

#[test]
fn without_healing_the_boundary_token_is_unreachable() {
    let plain = runs(false, 24);
    assert!(plain.iter().all(|&x| !x), "{plain:?}");
}

#[test]
fn healing_at_the_prompt_boundary() {
    // The program starts with a hole: the prompt's last token is healed.
    let v = vocab();
    let colon_slashes = id(&v, "://");
    let p = Program::parse(r#"{{gen "rest" regex="//[a-z]{2,6}"}}"#).unwrap();
    let mut used = 0;
    for seed in 0..24 {
        let mut g = Generator::new(Model::tiny_random(v.len(), seed), v.clone()).unwrap();
        let config = RunConfig::new()
            .prompt(Prompt::raw("Link: https:"))
            .generate(GenerateConfig::new().temperature(1.0).seed(seed));
        let out = p.run(&mut g, &Vars::new(), &config).unwrap();
        // The output does not repeat the healed `:`.
        assert!(out.text.starts_with("//"), "{:?}", out.text);
        assert_eq!(out.captures.text("rest"), Some(out.text.as_str()));
        used += usize::from(out.tokens.contains(&colon_slashes));
    }
    assert!(used > 0);
}
