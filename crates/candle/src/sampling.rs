//! Choosing the next token from logits: greedy, or temperature with top-k and top-p.
//!
//! Masked-out tokens carry `-inf` logits and are never chosen. (candle-transformers'
//! `LogitsProcessor` cannot carry a mask: its `sample_f` hook sees probabilities after the
//! softmax and greedy decoding skips it.)

/// How the next token is chosen. Built by [`GenerateConfig`](crate::GenerateConfig).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Sampling {
    /// 0 means greedy (argmax).
    pub(crate) temperature: f32,
    pub(crate) top_k: Option<usize>,
    pub(crate) top_p: Option<f32>,
}

impl Default for Sampling {
    fn default() -> Sampling {
        Sampling {
            temperature: 0.0,
            top_k: None,
            top_p: None,
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): the same sequence on every platform and version,
/// so a seed reproduces a run.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Picks a token from `logits` (`-inf` = not allowed). `candidates`, when given, lists every
/// token whose logit may be finite (the allowed tokens of a mask), so the whole vocabulary
/// need not be scanned. `None` when no token is allowed.
pub(crate) fn sample(
    s: &Sampling,
    rng: &mut Rng,
    logits: &[f32],
    candidates: Option<&[u32]>,
) -> Option<u32> {
    let finite = |i: &u32| logits.get(*i as usize).is_some_and(|l| l.is_finite());
    let mut ids: Vec<u32> = match candidates {
        Some(c) => c.iter().copied().filter(finite).collect(),
        None => (0..logits.len() as u32).filter(finite).collect(),
    };
    if ids.is_empty() {
        return None;
    }
    let by_logit_desc = |a: &u32, b: &u32| {
        logits[*b as usize]
            .total_cmp(&logits[*a as usize])
            .then(a.cmp(b))
    };
    if s.temperature <= 0.0 || s.top_k == Some(1) {
        // Greedy: the largest logit, the lowest id among equals.
        return ids.iter().copied().min_by(by_logit_desc);
    }
    if let Some(k) = s.top_k {
        if k > 0 && k < ids.len() {
            ids.select_nth_unstable_by(k - 1, by_logit_desc);
            ids.truncate(k);
        }
    }
    let max = ids
        .iter()
        .map(|&i| logits[i as usize])
        .fold(f32::NEG_INFINITY, f32::max);
    let t = f64::from(s.temperature);
    let weight = |i: u32| ((f64::from(logits[i as usize]) - f64::from(max)) / t).exp();
    if let Some(p) = s.top_p.filter(|&p| p < 1.0) {
        ids = nucleus(ids, f64::from(p.max(0.0)), &weight, &by_logit_desc);
    }
    let total: f64 = ids.iter().map(|&i| weight(i)).sum();
    let mut r = rng.next_f64() * total;
    for &i in &ids {
        r -= weight(i);
        if r < 0.0 {
            return Some(i);
        }
    }
    // Rounding left a sliver of mass: the last candidate takes it.
    ids.last().copied()
}

/// The smallest set of most likely tokens whose probability reaches `p` (at least one).
/// Sorts only as many candidates as needed: first the top 256, growing 8x while their mass
/// falls short, so a 262,144-token vocabulary is rarely sorted whole.
fn nucleus(
    mut ids: Vec<u32>,
    p: f64,
    weight: &impl Fn(u32) -> f64,
    by_logit_desc: &impl Fn(&u32, &u32) -> std::cmp::Ordering,
) -> Vec<u32> {
    let total: f64 = ids.iter().map(|&i| weight(i)).sum();
    let target = p * total;
    let mut n = 256.min(ids.len());
    loop {
        if n < ids.len() {
            ids.select_nth_unstable_by(n - 1, by_logit_desc);
        }
        ids[..n].sort_unstable_by(by_logit_desc);
        let mut acc = 0.0;
        for (k, &i) in ids[..n].iter().enumerate() {
            acc += weight(i);
            if acc >= target {
                ids.truncate(k + 1);
                return ids;
            }
        }
        if n == ids.len() {
            return ids;
        }
        n = (n * 8).min(ids.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampling(temperature: f32, top_k: Option<usize>, top_p: Option<f32>) -> Sampling {
        Sampling {
            temperature,
            top_k,
            top_p,
        }
    }

    /// Empirical distribution over `n` draws.
    fn histogram(s: &Sampling, logits: &[f32], n: usize) -> Vec<f64> {
        let mut rng = Rng::new(42);
        let mut h = vec![0f64; logits.len()];
        for _ in 0..n {
            let t = sample(s, &mut rng, logits, None).unwrap();
            h[t as usize] += 1.0 / n as f64;
        }
        h
    }

    #[test]
    fn greedy_takes_the_largest_allowed_logit() {
        let logits = [1.0, 5.0, f32::NEG_INFINITY, 5.0, 2.0];
        let mut rng = Rng::new(0);
        let g = Sampling::default();
        assert_eq!(sample(&g, &mut rng, &logits, None), Some(1));
        // Candidates restrict the choice; -inf candidates are skipped.
        assert_eq!(sample(&g, &mut rng, &logits, Some(&[0, 2, 4])), Some(4));
        assert_eq!(sample(&g, &mut rng, &[f32::NEG_INFINITY; 3], None), None);
    }

    #[test]
    fn temperature_follows_the_softmax() {
        let logits = [0.0f32, 1.0, 2.0, f32::NEG_INFINITY];
        let h = histogram(&sampling(1.0, None, None), &logits, 40_000);
        let z: f64 = [0f64, 1.0, 2.0].iter().map(|x| x.exp()).sum();
        for (i, &got) in h.iter().take(3).enumerate() {
            let want = (i as f64).exp() / z;
            assert!((got - want).abs() < 0.01, "token {i}: {got} vs {want}");
        }
        assert_eq!(h[3], 0.0, "a masked token was sampled");
        // A high temperature flattens the distribution.
        let h = histogram(&sampling(100.0, None, None), &logits, 40_000);
        for p in &h[..3] {
            assert!((p - 1.0 / 3.0).abs() < 0.02, "{h:?}");
        }
    }

    #[test]
    fn top_k_keeps_the_k_most_likely() {
        let logits = [3.0f32, 0.0, 2.9, 1.0, 2.8];
        let h = histogram(&sampling(1.0, Some(2), None), &logits, 20_000);
        assert!(h[0] > 0.4 && h[2] > 0.4, "{h:?}");
        assert_eq!(h[1] + h[3] + h[4], 0.0, "{h:?}");
    }

    #[test]
    fn top_p_keeps_the_smallest_nucleus() {
        // Probabilities ~ 0.665, 0.245, 0.090: p = 0.8 keeps the first two.
        let logits = [2.0f32, 1.0, 0.0];
        let h = histogram(&sampling(1.0, None, Some(0.8)), &logits, 20_000);
        assert_eq!(h[2], 0.0, "{h:?}");
        assert!((h[0] - 0.665 / 0.91).abs() < 0.02, "{h:?}");
        // A large vocabulary: the nucleus search grows past its first 256 candidates.
        let big: Vec<f32> = (0..5000).map(|i| -(i as f32) * 1e-4).collect();
        let mut rng = Rng::new(1);
        let s = sampling(1.0, None, Some(0.5));
        for _ in 0..200 {
            let t = sample(&s, &mut rng, &big, None).unwrap();
            // The nucleus of mass 0.5 of a nearly flat distribution is about half of it.
            assert!(t < 2600, "token {t} is outside the nucleus");
        }
    }

    #[test]
    fn same_seed_same_choices() {
        let logits: Vec<f32> = (0..100).map(|i| (i % 7) as f32 * 0.3).collect();
        let s = sampling(0.8, Some(50), Some(0.9));
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..50)
                .map(|_| sample(&s, &mut rng, &logits, None).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
