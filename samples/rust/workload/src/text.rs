//! Deterministic synthetic text: a vocabulary of pronounceable words and documents drawn from
//! it with a skewed (roughly Zipf-like) word frequency, so a few words are very common and most
//! are rare, as in real text.

/// xorshift64*: small, fast, and the same sequence on every run and machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Index in [0, n), cubically skewed towards 0.
    pub fn skewed(&mut self, n: usize) -> usize {
        let u = self.unit();
        ((u * u * u) * n as f64) as usize
    }
}

const SYLLABLES: [&str; 24] = [
    "ka", "to", "ri", "mu", "sen", "lo", "va", "pre", "din", "qua", "el", "or", "tis", "gra",
    "bo", "ne", "shi", "zu", "fal", "mir", "co", "un", "der", "yo",
];

/// `size` distinct lowercase words of 1-4 syllables.
pub fn vocabulary(rng: &mut Rng, size: usize) -> Vec<String> {
    let mut seen = std::collections::HashSet::with_capacity(size);
    let mut words = Vec::with_capacity(size);
    while words.len() < size {
        let mut word = String::new();
        for _ in 0..1 + rng.below(4) {
            word.push_str(SYLLABLES[rng.below(SYLLABLES.len())]);
        }
        if seen.insert(word.clone()) {
            words.push(word);
        }
    }
    words
}

/// One document: sentences of skewed-frequency words, each sentence capitalised and ended with
/// a period, built by appending to a growing String as real text assembly does.
pub fn document(rng: &mut Rng, vocab: &[String], words: usize) -> String {
    let mut doc = String::new();
    let mut sentence_left = 0;
    for _ in 0..words {
        if sentence_left == 0 {
            if !doc.is_empty() {
                doc.push_str(". ");
            }
            sentence_left = 5 + rng.below(12);
            let word = &vocab[rng.skewed(vocab.len())];
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                doc.extend(first.to_uppercase());
                doc.push_str(chars.as_str());
            }
        } else {
            doc.push(' ');
            doc.push_str(&vocab[rng.skewed(vocab.len())]);
        }
        sentence_left -= 1;
    }
    doc.push('.');
    doc
}
