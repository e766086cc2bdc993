//! Ground truth for `allocs --manifest`.
//!
//! Each workload's libc calls are replayed here against per-site counters, using the same
//! constants the workloads use. A site is one (function, libc API) pair; the realloc workload
//! therefore has two sites: its first `malloc` and its `realloc`s.
//!
//! Conventions:
//! * A block is counted by the site that allocated it; its free (by `free` or by a later
//!   `realloc`) is counted by that same site, with the block's size.
//! * `realloc(p, n)` counts as a free of the old block (old size) followed by an allocation of
//!   `n` bytes, in that order; so the old and new blocks are never live at the same time.
//! * `peak_bytes` is the largest number of bytes allocated by the site that are live at once.
//! * `chain` lists the sample's named functions on the stack, outermost first, ending with the
//!   allocating function (main and std frames are left out).
//! * Names are the demangled symbol paths (the type name of the function item).

use crate::*;
use std::any::type_name_of_val;
use std::fmt::Write;

/// Counters of one allocation site.
pub(crate) struct Site {
    function: &'static str,
    chain: Vec<&'static str>,
    api: &'static str,
    thread: &'static str,
    allocations: u64,
    allocated_bytes: u64,
    frees: u64,
    freed_bytes: u64,
    live_blocks: u64,
    live_bytes: u64,
    peak_bytes: u64,
}

impl Site {
    pub(crate) fn new(chain: Vec<&'static str>, api: &'static str, thread: &'static str) -> Site {
        Site {
            function: chain.last().copied().expect("chain ends with the allocating function"),
            chain,
            api,
            thread,
            allocations: 0,
            allocated_bytes: 0,
            frees: 0,
            freed_bytes: 0,
            live_blocks: 0,
            live_bytes: 0,
            peak_bytes: 0,
        }
    }

    pub(crate) fn alloc(&mut self, size: usize) {
        let size = size as u64;
        self.allocations += 1;
        self.allocated_bytes += size;
        self.live_blocks += 1;
        self.live_bytes += size;
        self.peak_bytes = self.peak_bytes.max(self.live_bytes);
    }

    pub(crate) fn free(&mut self, size: usize) {
        let size = size as u64;
        self.frees += 1;
        self.freed_bytes += size;
        self.live_blocks -= 1;
        self.live_bytes -= size;
    }

    fn write_json(&self, out: &mut String) {
        let chain: Vec<String> = self.chain.iter().map(|f| json_string(f)).collect();
        write!(
            out,
            "{{\"function\":{},\"chain\":[{}],\"api\":{},\"allocations\":{},\"allocated_bytes\":{},\
             \"frees\":{},\"freed_bytes\":{},\"live_blocks_at_exit\":{},\"live_bytes_at_exit\":{},\
             \"peak_bytes\":{},\"thread\":{}}}",
            json_string(self.function),
            chain.join(","),
            json_string(self.api),
            self.allocations,
            self.allocated_bytes,
            self.frees,
            self.freed_bytes,
            self.live_blocks,
            self.live_bytes,
            self.peak_bytes,
            json_string(self.thread),
        )
        .unwrap();
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Sites in workload order.
fn run_sites() -> Vec<Site> {
    let mut sites = Vec::new();

    // 1. leak_outer -> leak_middle -> leak_leaf: LEAK_BLOCKS x malloc(LEAK_SIZE), never freed.
    let mut s = Site::new(
        vec![type_name_of_val(&leak_outer), type_name_of_val(&leak_middle), type_name_of_val(&leak_leaf)],
        "malloc",
        MAIN_THREAD,
    );
    for _ in 0..LEAK_BLOCKS {
        s.alloc(LEAK_SIZE);
    }
    sites.push(s);

    // 2. churn: malloc + free, sizes cycling through CHURN_SIZES.
    let mut s = Site::new(vec![type_name_of_val(&churn)], "malloc", MAIN_THREAD);
    for i in 0..CHURN_ITERATIONS {
        let size = CHURN_SIZES[i % CHURN_SIZES.len()];
        s.alloc(size);
        s.free(size);
    }
    sites.push(s);

    // 3. peak_build: all blocks live together, then all freed.
    let mut s = Site::new(vec![type_name_of_val(&peak_build)], "malloc", MAIN_THREAD);
    for _ in 0..PEAK_BLOCKS {
        s.alloc(PEAK_SIZE);
    }
    for _ in 0..PEAK_BLOCKS {
        s.free(PEAK_SIZE);
    }
    sites.push(s);

    // 4. realloc_grow: malloc(REALLOC_START), realloc doubling to REALLOC_END, free.
    let chain = vec![type_name_of_val(&realloc_grow)];
    let mut first = Site::new(chain.clone(), "malloc", MAIN_THREAD);
    let mut grown = Site::new(chain, "realloc", MAIN_THREAD);
    let mut size = REALLOC_START;
    first.alloc(size);
    let mut owner_is_first = true;
    while size < REALLOC_END {
        let new_size = size * 2;
        if owner_is_first {
            first.free(size);
        } else {
            grown.free(size);
        }
        grown.alloc(new_size);
        owner_is_first = false;
        size = new_size;
    }
    if owner_is_first {
        first.free(size);
    } else {
        grown.free(size);
    }
    sites.push(first);
    if grown.allocations > 0 {
        sites.push(grown);
    }

    // 5. zeroed_alloc: calloc(ZEROED_SIZE, 1); the first ZEROED_KEEP stay live.
    let mut s = Site::new(vec![type_name_of_val(&zeroed_alloc)], "calloc", MAIN_THREAD);
    for _ in 0..ZEROED_BLOCKS {
        s.alloc(ZEROED_SIZE);
    }
    for _ in ZEROED_KEEP..ZEROED_BLOCKS {
        s.free(ZEROED_SIZE);
    }
    sites.push(s);

    // 6. aligned_alloc_site: posix_memalign(ALIGNED_ALIGN, ALIGNED_SIZE); the first ALIGNED_KEEP
    //    stay live.
    let mut s = Site::new(vec![type_name_of_val(&aligned_alloc_site)], ALIGNED_API, MAIN_THREAD);
    for _ in 0..ALIGNED_BLOCKS {
        s.alloc(ALIGNED_SIZE);
    }
    for _ in ALIGNED_KEEP..ALIGNED_BLOCKS {
        s.free(ALIGNED_SIZE);
    }
    sites.push(s);

    // 7. thread_worker on WORKER_THREAD: malloc(WORKER_SIZE); the first WORKER_KEEP stay live.
    let mut s = Site::new(vec![type_name_of_val(&thread_worker)], "malloc", WORKER_THREAD);
    for _ in 0..WORKER_BLOCKS {
        s.alloc(WORKER_SIZE);
    }
    for _ in WORKER_KEEP..WORKER_BLOCKS {
        s.free(WORKER_SIZE);
    }
    sites.push(s);

    sites
}

/// Sites of one `serve_tick` call (counted from a fresh start: its peak excludes the blocks
/// leaked by earlier ticks).
fn serve_sites() -> Vec<Site> {
    let mut s = Site::new(vec![type_name_of_val(&serve_tick)], "malloc", MAIN_THREAD);
    for _ in 0..SERVE_CHURN_BLOCKS {
        s.alloc(SERVE_CHURN_SIZE);
    }
    for _ in 0..SERVE_CHURN_BLOCKS {
        s.free(SERVE_CHURN_SIZE);
    }
    s.alloc(SERVE_LEAK_SIZE);
    vec![s]
}

fn render(header: &str, sites: &[Site]) -> String {
    let mut out = String::new();
    write!(out, "{{{header},\"sites\":[").unwrap();
    for (i, site) in sites.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        site.write_json(&mut out);
    }
    out.push_str("\n]}\n");
    out
}

/// Ground truth of the default run (workloads 1-7).
pub fn run_manifest() -> String {
    render("\"program\":\"allocs\"", &run_sites())
}

/// Ground truth of one serve-mode tick; the tick repeats every `tick_interval_ms`.
pub fn serve_manifest() -> String {
    let header = format!(
        "\"program\":\"allocs\",\"mode\":\"serve\",\"per_tick\":true,\"tick_interval_ms\":{}",
        SERVE_TICK_INTERVAL.as_millis()
    );
    render(&header, &serve_sites())
}

/// Ground truth of `allocs leak-more`: the leak chain only, LEAK_MORE_BLOCKS blocks.
pub fn leak_more_manifest() -> String {
    let mut s = Site::new(
        vec![type_name_of_val(&leak_outer), type_name_of_val(&leak_middle), type_name_of_val(&leak_leaf)],
        "malloc",
        MAIN_THREAD,
    );
    for _ in 0..LEAK_MORE_BLOCKS {
        s.alloc(LEAK_SIZE);
    }
    render("\"program\":\"allocs\",\"mode\":\"leak-more\"", &[s])
}

/// Ground truth of `allocs heavy`.
pub fn heavy_manifest() -> String {
    render("\"program\":\"allocs\",\"mode\":\"heavy\"", &crate::heavy::sites())
}

/// Ground truth of `allocs large`.
pub fn large_manifest() -> String {
    render("\"program\":\"allocs\",\"mode\":\"large\"", &crate::large::sites())
}
