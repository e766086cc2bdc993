//! `workload`: a realistic, single-threaded Rust program for memprof's overhead benchmark.
//!
//! It generates text, builds a word index out of `HashMap`s of `String`s, answers queries
//! against it, sorts, and drops everything — the allocation pattern of ordinary Rust code
//! (many small Strings and Vecs, growing buffers, hash tables), with allocation a minority of
//! the time, unlike a malloc microbenchmark.
//!
//! Usage:
//!   workload [SCALE]          run SCALE x 20 rounds (at least one) after an untimed warm-up
//!                             round; prints `elapsed_s <seconds>` (the timed rounds only) and
//!                             `checksum <n>`
//!   workload --count [SCALE]  the same run, also counting the rounds' allocator calls; prints
//!                             `alloc_calls`, `realloc_calls`, `free_calls`, `allocated_bytes`
//!   workload --windows MS     after the warm-up prints `ready <pid>`, then runs rounds until
//!                             killed, printing `window <start_ns> <end_ns> <ns_per_round>
//!                             <cpu_ns_per_round>` (Unix time; the thread's CPU time) for every stretch of at least MS milliseconds: for measuring a
//!                             profiler that attaches to it while it runs
//! Every round does the same kind of work on fresh text, so the time and the allocations grow
//! linearly with SCALE; the checksum depends only on SCALE.

mod counting;
mod text;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use text::Rng;

#[global_allocator]
static ALLOCATOR: counting::CountingAllocator = counting::CountingAllocator;

const VOCABULARY: usize = 20_000;
/// The work is done in equal rounds so that its mix, and so a profiler's relative cost, is the
/// same at every SCALE (a slow profiler can run a smaller SCALE and still be compared).
const ROUNDS_PER_SCALE: f64 = 20.0;
const DOCUMENTS_PER_ROUND: usize = 800;
const QUERIES_PER_ROUND: usize = 2_000;
const WORDS_PER_DOCUMENT: (usize, usize) = (40, 160);
const TOP_HITS: usize = 10;

/// word -> (document, occurrences in it), documents in increasing order.
type Index = HashMap<String, Vec<(u32, u32)>>;

#[inline(never)]
fn generate_documents(rng: &mut Rng, vocab: &[String], count: usize) -> Vec<String> {
    let (min, max) = WORDS_PER_DOCUMENT;
    (0..count)
        .map(|_| {
            let words = min + rng.below(max - min);
            text::document(rng, vocab, words)
        })
        .collect()
}

/// Lowercases each token (a fresh String per token, as normalising code usually does), counts
/// it per document, then merges the per-document counts into the index.
#[inline(never)]
fn build_index(docs: &[String]) -> Index {
    let mut index = Index::new();
    for (doc_id, doc) in docs.iter().enumerate() {
        let mut counts: HashMap<String, u32> = HashMap::new();
        for token in doc.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()) {
            *counts.entry(token.to_lowercase()).or_insert(0) += 1;
        }
        for (word, n) in counts {
            match index.get_mut(&word) {
                Some(postings) => postings.push((doc_id as u32, n)),
                None => {
                    index.insert(word, vec![(doc_id as u32, n)]);
                }
            }
        }
    }
    index
}

/// Counts adjacent word pairs, building each key in a reused buffer and allocating only for
/// pairs not seen before.
#[inline(never)]
fn count_bigrams(docs: &[String]) -> HashMap<String, u32> {
    let mut bigrams = HashMap::new();
    let mut key = String::new();
    for doc in docs {
        for sentence in doc.split('.') {
            let mut words = sentence.split_whitespace();
            let Some(mut previous) = words.next() else { continue };
            for word in words {
                key.clear();
                key.push_str(previous);
                key.push(' ');
                key.push_str(word);
                match bigrams.get_mut(key.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        bigrams.insert(key.clone(), 1);
                    }
                }
                previous = word;
            }
        }
    }
    bigrams
}

/// tf-idf ranked queries of two or three words; returns a checksum of the top hits.
#[inline(never)]
fn run_queries(rng: &mut Rng, vocab: &[String], index: &Index, docs: usize, count: usize) -> u64 {
    let mut checksum = 0u64;
    for _ in 0..count {
        let terms = 2 + rng.below(2);
        let query: Vec<String> = (0..terms).map(|_| vocab[rng.below(vocab.len())].clone()).collect();
        let mut scores: HashMap<u32, f64> = HashMap::new();
        for term in &query {
            let Some(postings) = index.get(term) else { continue };
            let idf = (docs as f64 / postings.len() as f64).ln();
            for &(doc, tf) in postings {
                *scores.entry(doc).or_insert(0.0) += tf as f64 * idf;
            }
        }
        let mut ranked: Vec<(u32, f64)> = scores.into_iter().collect();
        ranked.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (doc, _) in ranked.iter().take(TOP_HITS) {
            checksum = checksum.wrapping_mul(31).wrapping_add(*doc as u64);
        }
    }
    checksum
}

/// The most frequent words, formatted as a report, and the documents in text order.
#[inline(never)]
fn sort_and_report(index: &Index, bigrams: &HashMap<String, u32>, docs: &[String]) -> u64 {
    let mut words: Vec<(&str, u64)> =
        index.iter().map(|(w, p)| (w.as_str(), p.iter().map(|&(_, n)| n as u64).sum())).collect();
    words.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut pairs: Vec<(&String, &u32)> = bigrams.iter().collect();
    pairs.sort_unstable_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut report = String::new();
    for (word, n) in words.iter().take(100) {
        report.push_str(&format!("{word}\t{n}\n"));
    }
    for (pair, n) in pairs.iter().take(100) {
        report.push_str(&format!("{pair}\t{n}\n"));
    }
    let mut by_text: Vec<&String> = docs.iter().collect();
    by_text.sort_unstable();
    report.len() as u64 + by_text[by_text.len() / 2].len() as u64
}

/// One round: a fresh corpus, its index and bigram counts, queries, sorting, then drop it all.
fn round(rng: &mut Rng, vocab: &[String]) -> u64 {
    let docs = generate_documents(rng, vocab, DOCUMENTS_PER_ROUND);
    let index = build_index(&docs);
    let bigrams = count_bigrams(&docs);
    let mut checksum = run_queries(rng, vocab, &index, docs.len(), QUERIES_PER_ROUND);
    checksum ^= sort_and_report(&index, &bigrams, &docs);
    drop(black_box(bigrams));
    drop(black_box(index));
    drop(black_box(docs));
    checksum
}

/// SCALE x ROUNDS_PER_SCALE rounds (at least one).
fn rounds(scale: f64) -> usize {
    ((scale * ROUNDS_PER_SCALE).round() as usize).max(1)
}

fn usage() -> ! {
    eprintln!("usage: workload [--count] [SCALE] | workload --windows MS");
    std::process::exit(2);
}

/// Nanoseconds since the Unix epoch (what the benchmark script's clock reads).
fn unix_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// CPU time of this thread (CLOCK_THREAD_CPUTIME_ID): what the work cost it, kernel time in
/// probes included, whatever else the machine runs meanwhile.
fn thread_cpu_ns() -> u128 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    let mut ts = Timespec { sec: 0, nsec: 0 };
    unsafe { clock_gettime(3, &mut ts) };
    ts.sec as u128 * 1_000_000_000 + ts.nsec as u128
}

fn windows(ms: u64) -> ! {
    use std::io::Write;
    let mut rng = Rng::new(0x5EED_CAFE);
    let vocab = text::vocabulary(&mut rng, VOCABULARY);
    black_box(round(&mut rng, &vocab));
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", std::process::id()).expect("write stdout");
    out.flush().expect("flush stdout");
    let window = std::time::Duration::from_millis(ms);
    loop {
        let (start_ns, start, cpu) = (unix_ns(), Instant::now(), thread_cpu_ns());
        let mut rounds = 0u64;
        while start.elapsed() < window {
            black_box(round(&mut rng, &vocab));
            rounds += 1;
        }
        let ns = start.elapsed().as_nanos() as f64 / rounds as f64;
        let cpu_ns = (thread_cpu_ns() - cpu) as f64 / rounds as f64;
        writeln!(out, "window {start_ns} {} {ns:.0} {cpu_ns:.0}", unix_ns()).expect("write stdout");
        out.flush().expect("flush stdout");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, ms] = args.as_slice() {
        if flag == "--windows" {
            windows(ms.parse().unwrap_or_else(|_| usage()));
        }
    }
    let (count, rest) = match args.first().map(String::as_str) {
        Some("--count") => (true, &args[1..]),
        _ => (false, &args[..]),
    };
    let scale = match rest {
        [] => 1.0,
        [s] => s.parse::<f64>().ok().filter(|s| *s > 0.0).unwrap_or_else(|| usage()),
        _ => usage(),
    };
    // Set-up, outside the timed and counted part: the vocabulary, and one warm-up round that
    // grows the heap and warms the caches, so that every timed round costs the same.
    let mut rng = Rng::new(0x5EED_CAFE);
    let vocab = text::vocabulary(&mut rng, VOCABULARY);
    black_box(round(&mut rng, &vocab));
    if count {
        counting::start_counting();
    }
    let start = Instant::now();
    let mut checksum = 0u64;
    for _ in 0..rounds(black_box(scale)) {
        checksum = checksum.rotate_left(7) ^ round(&mut rng, &vocab);
    }
    let elapsed = start.elapsed();
    if count {
        let c = counting::stop_counting();
        println!("alloc_calls {}", c.alloc_calls);
        println!("realloc_calls {}", c.realloc_calls);
        println!("free_calls {}", c.free_calls);
        println!("allocated_bytes {}", c.allocated_bytes);
    }
    println!("elapsed_s {:.6}", elapsed.as_secs_f64());
    println!("checksum {checksum}");
}
