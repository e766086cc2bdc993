//! `idioms`: allocations written the way Rust programs write them.
//!
//! Every named `pub fn` below allocates only through std's collections and smart pointers
//! (`Vec::with_capacity`, `Vec::push` growth, `format!`, `Box::new`, `HashMap` / `BTreeMap`
//! inserts, `collect`, `to_string`, `clone`, `Box::leak`, `mem::forget`), never through
//! `std::alloc` directly, and calls no other named function: each allocation's site, the
//! innermost function of the program on its stack, is the named function that made it.
//!
//! Which malloc / realloc / free calls std makes for them (growth strategy, hashbrown's table
//! layout, fmt's capacity estimate) is std's business and changes between Rust releases, so the
//! ground truth is not computed by hand: `idioms-calibrate` (src/calibrate.rs) runs this
//! same code under a counting global allocator that charges each block to the named function
//! running when it was allocated, and prints the exact per-function manifest. The workload is
//! deterministic (fixed hasher keys, one thread, no clocks or randomness), so the calibration
//! run and the measured run make the same calls.
//!
//! Every named function is `#[inline(never)]` and ends with a `black_box`, so it stays a frame
//! of its own on every stack (no inlining into `run`, no tail call).

use std::cell::Cell;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;
use std::hint::black_box;

/// Items each workload handles (except `build_index`, whose count is a parameter).
pub const ITEMS: usize = 5_000;
/// Entries `build_index` inserts by default.
pub const INDEX_ENTRIES: usize = 5_000;
/// `leak_large`: LARGE_LEAKS blocks of LARGE_LEAK_SIZE, each at least memprof's default
/// sampling rate (512 KiB), so a recording at the default rate holds them exactly.
pub const LARGE_LEAKS: usize = 4;
pub const LARGE_LEAK_SIZE: usize = 640 * 1024;
/// `leak_small`: SMALL_BOXES boxed nodes and SMALL_STRINGS strings, never freed.
pub const SMALL_BOXES: usize = 100;
pub const SMALL_STRINGS: usize = 50;
/// Byte written into allocated buffers (non-zero, so `vec![FILL; n]` is a malloc, not a calloc).
const FILL: u8 = 0xA5;

/// Fixed-key SipHash (`DefaultHasher::new()` has constant keys): the same table layout, hence
/// the same allocations, on every run.
pub type FixedState = BuildHasherDefault<DefaultHasher>;

/// What one run does; `idioms --index-entries N` changes only `build_index`'s work.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub index_entries: usize,
}

impl Default for Params {
    fn default() -> Params {
        Params { index_entries: INDEX_ENTRIES }
    }
}

thread_local! {
    /// The named function running now ("" outside them). Constant-initialized and without a
    /// destructor, so reading and writing it never allocates; the calibrating allocator reads it.
    static CURRENT: Cell<&'static str> = const { Cell::new("") };
}

/// The named function running on this thread, "" when none is.
pub fn current_function() -> &'static str {
    CURRENT.with(Cell::get)
}

/// Calls a named function with the tag set to its path (`idioms::build_index`).
macro_rules! tagged {
    ($f:ident ( $($arg:expr),* )) => {{
        CURRENT.with(|c| c.set(std::any::type_name_of_val(&$f)));
        black_box($f($($arg),*));
        CURRENT.with(|c| c.set(""));
    }};
}

/// The named functions, in the order `run` calls them (the manifest lists them in this order).
pub fn function_names() -> [&'static str; 10] {
    use std::any::type_name_of_val as name;
    [
        name(&fill_with_capacity),
        name(&grow_by_push),
        name(&format_labels),
        name(&box_list),
        name(&build_index),
        name(&build_btree),
        name(&collect_squares),
        name(&clone_names),
        name(&leak_large),
        name(&leak_small),
    ]
}

/// The whole workload. Only the two leak functions leave blocks live.
pub fn run(params: &Params) {
    tagged!(fill_with_capacity(ITEMS));
    tagged!(grow_by_push(ITEMS));
    tagged!(format_labels(ITEMS));
    tagged!(box_list(ITEMS));
    tagged!(build_index(params.index_entries));
    tagged!(build_btree(ITEMS));
    tagged!(collect_squares(ITEMS));
    tagged!(clone_names(ITEMS));
    tagged!(leak_large());
    tagged!(leak_small());
}

/// `Vec::with_capacity(n)` filled by n pushes: one allocation, no growth, freed.
#[inline(never)]
pub fn fill_with_capacity(n: usize) -> u64 {
    let mut values: Vec<u64> = Vec::with_capacity(n);
    for i in 0..n {
        values.push(i as u64 * 7);
    }
    let sum = black_box(&values).iter().sum::<u64>();
    drop(values);
    black_box(sum)
}

/// `Vec::new()` and n pushes: grows by reallocation, freed.
#[inline(never)]
pub fn grow_by_push(n: usize) -> u64 {
    let mut values: Vec<u32> = Vec::new();
    for i in 0..n {
        values.push(i as u32 ^ 0x5a5a);
    }
    let last = black_box(&values).last().copied().unwrap_or(0);
    drop(values);
    black_box(last as u64)
}

/// One `format!` label per item, kept in a growing `Vec<String>`, all dropped.
#[inline(never)]
pub fn format_labels(n: usize) -> usize {
    let mut labels = Vec::new();
    for i in 0..n {
        labels.push(format!("item-{i:05}/{:x}", i * 31));
    }
    let total: usize = black_box(&labels).iter().map(String::len).sum();
    drop(labels);
    black_box(total)
}

/// A node of `box_list`'s list and of `leak_small`'s leaks.
pub struct Node {
    pub value: u64,
    pub next: Option<Box<Node>>,
}

/// A linked list of n `Box::new` nodes, taken apart node by node (no deep recursive drop).
#[inline(never)]
pub fn box_list(n: usize) -> usize {
    let mut head: Option<Box<Node>> = None;
    for i in 0..n {
        head = Some(Box::new(Node { value: i as u64, next: head }));
    }
    let mut count = 0;
    while let Some(mut node) = head {
        head = node.next.take();
        count += black_box(node.value) as usize & 1;
    }
    black_box(count)
}

/// A `HashMap<String, u64>` (fixed hasher) of n entries whose keys come from `to_string`,
/// queried, then dropped: hashbrown's table growth and every key are charged here.
#[inline(never)]
pub fn build_index(n: usize) -> u64 {
    let mut index: HashMap<String, u64, FixedState> = HashMap::default();
    for i in 0..n {
        index.insert((i * 7919 % 100_003).to_string(), i as u64);
    }
    // Lookups by a freshly made key (no closure: every allocation stays in this frame).
    let mut hits = 0u64;
    for i in 0..n {
        let key = (i % 1000).to_string();
        hits += black_box(&index).contains_key(&key) as u64;
    }
    drop(index);
    black_box(hits)
}

/// A `BTreeMap<u64, String>` with n inserts in a scrambled (but fixed) key order; values by
/// `format!`.
#[inline(never)]
pub fn build_btree(n: usize) -> usize {
    let mut tree = BTreeMap::new();
    let mut key: u64 = 1;
    for i in 0..n {
        key = key.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        tree.insert(key >> 20, format!("v{i}"));
    }
    let len = black_box(&tree).len();
    drop(tree);
    black_box(len)
}

/// `collect` from an exact-size iterator (one allocation) and from a filter (grows).
#[inline(never)]
pub fn collect_squares(n: usize) -> u64 {
    let squares: Vec<u64> = (0..n as u64).map(|i| i * i).collect();
    let odd: Vec<u64> = black_box(&squares).iter().copied().filter(|s| s % 2 == 1).collect();
    let sum = black_box(&odd).iter().sum::<u64>() + squares.len() as u64;
    drop(odd);
    drop(squares);
    black_box(sum)
}

/// n `to_string`s into a `Vec<String>` sized up front, a deep `clone` of it, and a `join`.
#[inline(never)]
pub fn clone_names(n: usize) -> usize {
    let mut names: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        names.push((i * 13).to_string());
    }
    let copy = black_box(&names).clone();
    let joined = copy.join(",");
    let len = black_box(&joined).len() + copy.len();
    drop(joined);
    drop(copy);
    drop(names);
    black_box(len)
}

/// LARGE_LEAKS buffers of LARGE_LEAK_SIZE (`vec![FILL; size]`, one malloc each) leaked with
/// `Box::leak`: live at exit.
#[inline(never)]
pub fn leak_large() -> usize {
    let mut total = 0;
    for _ in 0..LARGE_LEAKS {
        let buffer: &'static mut [u8] = Box::leak(vec![FILL; LARGE_LEAK_SIZE].into_boxed_slice());
        total += black_box(buffer).len();
    }
    black_box(total)
}

/// SMALL_BOXES `Box::leak(Box::new(Node))` and SMALL_STRINGS `mem::forget(String)`: live at exit.
#[inline(never)]
pub fn leak_small() -> usize {
    let mut total = 0;
    for i in 0..SMALL_BOXES {
        let node: &'static mut Node = Box::leak(Box::new(Node { value: i as u64, next: None }));
        total += black_box(node).value as usize;
    }
    for i in 0..SMALL_STRINGS {
        let text = format!("leaked string number {i}");
        total += text.len();
        std::mem::forget(black_box(text));
    }
    black_box(total)
}

/// Parses the run's parameters: none, or `--index-entries N`.
pub fn parse_params(args: &[String]) -> Option<Params> {
    match args {
        [] => Some(Params::default()),
        [flag, n] if flag == "--index-entries" => n.parse().ok().map(|index_entries| Params { index_entries }),
        _ => None,
    }
}
