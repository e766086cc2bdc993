//! `allocs`: a ground-truth allocation workload for memprof.
//!
//! Every named `pub fn` below makes an exactly known sequence of libc allocation calls, and
//! `allocs --manifest` prints that ground truth as JSON, computed from the same constants the
//! workloads use (see `manifest.rs`).
//!
//! Usage:
//!   allocs                    run workloads 1-7 once (the worker thread is joined), then exit 0
//!                             without freeing the blocks that are meant to stay live
//!   allocs --manifest         print the ground truth of the default run (does not run it)
//!   allocs --manifest serve   print the ground truth of ONE `serve_tick` call
//!   allocs serve              print `ready <pid>`, then call `serve_tick` every ~10 ms until
//!                             killed (SIGTERM / SIGINT)
//!   allocs serve-rounds       as serve, and on each SIGUSR1 run workloads 1-7 once (exactly the
//!                             default manifest) and print `round N`: for checking an attach from
//!                             its start (the ticks keep allocating, as an attach needs a thread
//!                             that calls the allocator)
//!   allocs bench N            N malloc+free pairs in `bench_loop`; prints `ns_per_pair <float>`
//!   allocs bench-windows MS   prints `ready <pid>`, then runs `bench_loop` until killed, printing
//!                             `window <start_ns> <end_ns> <ns_per_pair> <cpu_ns_per_pair>` (Unix
//!                             time; the thread's CPU time per pair) for every
//!                             stretch of at least MS milliseconds: for measuring a profiler that
//!                             attaches to it while it runs
//!   allocs leak | churn       run only workload 1 (leak chain) or 2 (churn); their sites are as
//!                             in the default manifest
//!   allocs leak-more          workload 1 leaking LEAK_MORE_BLOCKS (20 % more) from the same
//!                             `leak_leaf` site, for regression checks
//!   allocs --manifest leak-more  print the ground truth of `allocs leak-more`
//!   allocs heavy              ~10 GiB in under a million calls, for sampling accuracy (heavy.rs)
//!   allocs --manifest heavy   print the ground truth of `allocs heavy`
//!   allocs large              blocks of at least the default sampling rate: leaked, freed and
//!                             shrunk by realloc (large.rs)
//!   allocs --manifest large   print the ground truth of `allocs large`
//!   allocs heavy-dump PATH    the heavy workload, then jemalloc's heap profile written to PATH
//!                             (allocs-jemalloc-prof with _RJEM_MALLOC_CONF=prof:true; dump.rs)
//!
//! How the libc calls are made exact: the workloads call `std::alloc::{alloc, alloc_zeroed,
//! realloc, dealloc}` with explicit `Layout`s, never `Box`/`Vec`/formatting. With the default
//! (System) global allocator on Linux, std maps them as follows (library/std/src/sys/alloc/unix.rs):
//!   alloc(l)            align <= 16 && align <= size  -> malloc(size)
//!                       otherwise                     -> posix_memalign(&p, max(align, 8), size)
//!   alloc_zeroed(l)     align <= 16 && align <= size  -> calloc(size, 1)
//!   realloc(p, l, n)    align <= 16 && align <= n     -> realloc(p, n)
//!   dealloc(p, l)                                     -> free(p)
//! Plain blocks use `PLAIN_ALIGN` (8) and sizes >= 8, so they always take the malloc / calloc /
//! realloc path; the over-aligned site uses align 4096 and takes the posix_memalign path.
//!
//! Every named function is `#[inline(never)]`, passes each pointer through `black_box` (so no
//! allocation can be elided), and ends with a `black_box` after its last call (so no call is
//! turned into a tail jump that would drop the function from frame-pointer stacks).

mod dump;
mod heavy;
mod large;
mod manifest;

/// The jemalloc variants allocate through jemalloc the way tikv-jemallocator does: the same
/// workloads then call malloc / calloc / realloc / mallocx (over-aligned) / sdallocx.
#[cfg(any(feature = "jemalloc", feature = "jemalloc-dyn"))]
#[global_allocator]
static GLOBAL: rjem::Jemalloc = rjem::Jemalloc;

/// The API the over-aligned site calls: posix_memalign on the system allocator, mallocx
/// (MALLOCX_LG_ALIGN) on jemalloc.
pub const ALIGNED_API: &str = if cfg!(any(feature = "jemalloc", feature = "jemalloc-dyn")) { "mallocx" } else { "posix_memalign" };

/// jemalloc variants: after the default run, `ALLOCS_PROF_DUMP=PATH` writes a jemalloc heap
/// profile there (`prof.dump`; needs a profiling build with `prof:true`).
fn prof_dump_if_requested() {
    #[cfg(any(feature = "jemalloc", feature = "jemalloc-dyn"))]
    if let Some(path) = std::env::var_os("ALLOCS_PROF_DUMP") {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(path.as_bytes()).expect("no NUL in ALLOCS_PROF_DUMP");
        if let Err(code) = rjem::prof_dump(&path) {
            eprintln!("allocs: prof.dump failed with error {code}");
            std::process::exit(3);
        }
    }
}

use std::alloc::{alloc, alloc_zeroed, dealloc, handle_alloc_error, realloc, Layout};
use std::hint::black_box;
use std::io::Write;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Alignment of every plain (malloc / calloc / realloc) block; every plain size is >= this.
pub const PLAIN_ALIGN: usize = 8;
/// Byte written over allocated memory (non-zero so malloc + fill can never become calloc).
const FILL: u8 = 0xA5;

// 1. Leaks through a three-deep chain.
pub const LEAK_BLOCKS: usize = 10;
pub const LEAK_SIZE: usize = 4096;
/// Blocks `leak_leaf` leaks in leak-more mode: 20 % more than LEAK_BLOCKS.
pub const LEAK_MORE_BLOCKS: usize = 12;
// 2. Churn: CHURN_ITERATIONS malloc+free pairs, size cycling through CHURN_SIZES.
pub const CHURN_ITERATIONS: usize = 10_000;
pub const CHURN_SIZES: [usize; 4] = [24, 56, 120, 248];
// 3. Peak: PEAK_BLOCKS blocks of PEAK_SIZE all live at once, then all freed.
pub const PEAK_BLOCKS: usize = 64;
pub const PEAK_SIZE: usize = 64 * 1024;
// 4. Realloc growth: malloc(REALLOC_START), realloc doubling up to REALLOC_END, free.
pub const REALLOC_START: usize = 16;
pub const REALLOC_END: usize = 64 * 1024;
// 5. calloc: ZEROED_BLOCKS blocks, the first ZEROED_KEEP stay live.
pub const ZEROED_BLOCKS: usize = 8;
pub const ZEROED_SIZE: usize = 3000;
pub const ZEROED_KEEP: usize = 3;
// 6. Over-aligned: ALIGNED_BLOCKS blocks aligned to ALIGNED_ALIGN, the first ALIGNED_KEEP stay live.
pub const ALIGNED_BLOCKS: usize = 6;
pub const ALIGNED_SIZE: usize = 8192;
pub const ALIGNED_ALIGN: usize = 4096;
pub const ALIGNED_KEEP: usize = 2;
// 7. Second thread: WORKER_BLOCKS blocks, the first WORKER_KEEP stay live.
pub const WORKER_THREAD: &str = "worker";
pub const WORKER_BLOCKS: usize = 100;
pub const WORKER_SIZE: usize = 640;
pub const WORKER_KEEP: usize = 20;
/// Name of the thread that runs workloads 1-6 (the process's main thread).
pub const MAIN_THREAD: &str = "main";
// serve mode: per tick, SERVE_CHURN_BLOCKS blocks allocated then freed, then one
// SERVE_LEAK_SIZE block leaked.
pub const SERVE_CHURN_BLOCKS: usize = 4;
pub const SERVE_CHURN_SIZE: usize = 1000;
pub const SERVE_LEAK_SIZE: usize = 128;
pub const SERVE_TICK_INTERVAL: Duration = Duration::from_millis(10);
// bench mode: malloc+free pairs of BENCH_SIZE.
pub const BENCH_SIZE: usize = 32;

// The libc call each site makes depends on these (see the mapping at the top of this file).
const _: () = {
    let plain_sizes = [
        LEAK_SIZE, CHURN_SIZES[0], CHURN_SIZES[1], CHURN_SIZES[2], CHURN_SIZES[3], PEAK_SIZE,
        REALLOC_START, ZEROED_SIZE, WORKER_SIZE, SERVE_CHURN_SIZE, SERVE_LEAK_SIZE, BENCH_SIZE,
    ];
    let mut i = 0;
    while i < plain_sizes.len() {
        assert!(plain_sizes[i] >= PLAIN_ALIGN, "plain sizes must be >= PLAIN_ALIGN (malloc path)");
        i += 1;
    }
    assert!(PLAIN_ALIGN <= 16, "PLAIN_ALIGN must be <= 16 (malloc path)");
    assert!(ALIGNED_ALIGN > 16, "ALIGNED_ALIGN must be > 16 (posix_memalign path)");
    assert!(SERVE_LEAK_SIZE >= std::mem::size_of::<*mut u8>(), "serve leaks hold a list link");
    assert!(ZEROED_KEEP <= ZEROED_BLOCKS && ALIGNED_KEEP <= ALIGNED_BLOCKS && WORKER_KEEP <= WORKER_BLOCKS);
};

// Blocks meant to stay live are kept reachable here (fixed-size statics: no extra allocation).
static LEAKED: [AtomicPtr<u8>; LEAK_MORE_BLOCKS] = [const { AtomicPtr::new(ptr::null_mut()) }; LEAK_MORE_BLOCKS];
/// How many blocks `leak_leaf` leaks: LEAK_BLOCKS, or LEAK_MORE_BLOCKS in leak-more mode.
static LEAK_COUNT: AtomicUsize = AtomicUsize::new(LEAK_BLOCKS);
static ZEROED_KEPT: [AtomicPtr<u8>; ZEROED_KEEP] = [const { AtomicPtr::new(ptr::null_mut()) }; ZEROED_KEEP];
static ALIGNED_KEPT: [AtomicPtr<u8>; ALIGNED_KEEP] = [const { AtomicPtr::new(ptr::null_mut()) }; ALIGNED_KEEP];
static WORKER_KEPT: [AtomicPtr<u8>; WORKER_KEEP] = [const { AtomicPtr::new(ptr::null_mut()) }; WORKER_KEEP];
/// Head of an intrusive list through the serve-mode leaks (each block's first word points to
/// the previously leaked block), so they stay reachable without any bookkeeping allocation.
static SERVE_LEAKS: AtomicPtr<u8> = AtomicPtr::new(ptr::null_mut());

// ---------------------------------------------------------------------------------------------
// Allocation helpers. Macros rather than functions, so that no helper shows up as an (inlined)
// frame between a named function and std's allocator entry points.

/// Layout of a plain block: malloc / calloc / realloc path (size >= PLAIN_ALIGN).
macro_rules! plain {
    ($size:expr) => {
        Layout::from_size_align($size, PLAIN_ALIGN).unwrap()
    };
}

/// Aborts via `handle_alloc_error` on null; passes the pointer through `black_box`.
macro_rules! checked {
    ($ptr:expr, $layout:expr) => {{
        let p: *mut u8 = $ptr;
        if p.is_null() {
            handle_alloc_error($layout);
        }
        black_box(p)
    }};
}

/// `alloc` with a layout, then fill the block: malloc(size), or posix_memalign if over-aligned.
macro_rules! alloc_filled {
    ($layout:expr) => {{
        let layout: Layout = $layout;
        let p = checked!(unsafe { alloc(layout) }, layout);
        unsafe { ptr::write_bytes(p, FILL, layout.size()) };
        p
    }};
}

/// Exactly one `malloc(size)`; the block is filled.
macro_rules! malloc_filled {
    ($size:expr) => {
        alloc_filled!(plain!($size))
    };
}

/// Exactly one `free(p)`.
macro_rules! free_block {
    ($ptr:expr, $layout:expr) => {
        unsafe { dealloc(black_box($ptr), $layout) }
    };
}

// ---------------------------------------------------------------------------------------------
// 1. Leaks through a three-deep chain: leak_outer -> leak_middle -> leak_leaf.

#[inline(never)]
pub fn leak_outer() -> usize {
    let n = leak_middle();
    black_box(n)
}

#[inline(never)]
pub fn leak_middle() -> usize {
    let n = leak_leaf();
    black_box(n)
}

/// LEAK_COUNT (LEAK_BLOCKS unless leak-more mode) x malloc(LEAK_SIZE), never freed.
#[inline(never)]
pub fn leak_leaf() -> usize {
    let count = LEAK_COUNT.load(Ordering::Relaxed);
    for slot in LEAKED.iter().take(count) {
        slot.store(malloc_filled!(LEAK_SIZE), Ordering::Relaxed);
    }
    black_box(count)
}

// 2. Churn.

/// CHURN_ITERATIONS x { malloc(CHURN_SIZES[i % 4]); free }.
#[inline(never)]
pub fn churn() -> usize {
    let mut bytes = 0;
    for i in 0..CHURN_ITERATIONS {
        let size = CHURN_SIZES[i % CHURN_SIZES.len()];
        let p = malloc_filled!(size);
        free_block!(p, plain!(size));
        bytes += size;
    }
    black_box(bytes)
}

// 3. Peak built and released.

/// PEAK_BLOCKS x malloc(PEAK_SIZE), all live together, then PEAK_BLOCKS x free.
#[inline(never)]
pub fn peak_build() -> usize {
    let mut blocks = [ptr::null_mut::<u8>(); PEAK_BLOCKS];
    for b in blocks.iter_mut() {
        *b = malloc_filled!(PEAK_SIZE);
    }
    black_box(&mut blocks);
    for b in blocks.iter() {
        free_block!(*b, plain!(PEAK_SIZE));
    }
    black_box(PEAK_BLOCKS * PEAK_SIZE)
}

// 4. realloc growth.

/// malloc(REALLOC_START), then realloc(p, 2*size) until REALLOC_END, then free.
#[inline(never)]
pub fn realloc_grow() -> usize {
    let mut size = REALLOC_START;
    let mut p = malloc_filled!(size);
    let mut steps = 0;
    while size < REALLOC_END {
        let new_size = size * 2;
        p = checked!(unsafe { realloc(p, plain!(size), new_size) }, plain!(new_size));
        unsafe { ptr::write_bytes(p.add(size), FILL, new_size - size) };
        size = new_size;
        steps += 1;
    }
    free_block!(p, plain!(size));
    black_box(steps)
}

// 5. calloc.

/// ZEROED_BLOCKS x calloc(ZEROED_SIZE, 1); the first ZEROED_KEEP stay live, the rest are freed.
#[inline(never)]
pub fn zeroed_alloc() -> usize {
    let layout = plain!(ZEROED_SIZE);
    let mut blocks = [ptr::null_mut::<u8>(); ZEROED_BLOCKS];
    for b in blocks.iter_mut() {
        *b = checked!(unsafe { alloc_zeroed(layout) }, layout);
    }
    for (i, &b) in blocks.iter().enumerate() {
        if i < ZEROED_KEEP {
            ZEROED_KEPT[i].store(b, Ordering::Relaxed);
        } else {
            free_block!(b, layout);
        }
    }
    black_box(ZEROED_KEEP)
}

// 6. Over-aligned.

/// ALIGNED_BLOCKS x posix_memalign(&p, ALIGNED_ALIGN, ALIGNED_SIZE); the first ALIGNED_KEEP stay
/// live, the rest are freed.
#[inline(never)]
pub fn aligned_alloc_site() -> usize {
    let layout = Layout::from_size_align(ALIGNED_SIZE, ALIGNED_ALIGN).unwrap();
    let mut blocks = [ptr::null_mut::<u8>(); ALIGNED_BLOCKS];
    for b in blocks.iter_mut() {
        *b = alloc_filled!(layout);
    }
    for (i, &b) in blocks.iter().enumerate() {
        if i < ALIGNED_KEEP {
            ALIGNED_KEPT[i].store(b, Ordering::Relaxed);
        } else {
            free_block!(b, layout);
        }
    }
    black_box(ALIGNED_KEEP)
}

// 7. Second thread.

/// Runs on the thread named WORKER_THREAD: WORKER_BLOCKS x malloc(WORKER_SIZE); the first
/// WORKER_KEEP stay live, the rest are freed.
#[inline(never)]
pub fn thread_worker() -> usize {
    let mut blocks = [ptr::null_mut::<u8>(); WORKER_BLOCKS];
    for b in blocks.iter_mut() {
        *b = malloc_filled!(WORKER_SIZE);
    }
    for (i, &b) in blocks.iter().enumerate() {
        if i < WORKER_KEEP {
            WORKER_KEPT[i].store(b, Ordering::Relaxed);
        } else {
            free_block!(b, plain!(WORKER_SIZE));
        }
    }
    black_box(WORKER_KEEP)
}

// serve mode.

/// One tick: SERVE_CHURN_BLOCKS x malloc(SERVE_CHURN_SIZE), then SERVE_CHURN_BLOCKS x free,
/// then one malloc(SERVE_LEAK_SIZE) that is never freed.
#[inline(never)]
pub fn serve_tick() -> usize {
    let mut blocks = [ptr::null_mut::<u8>(); SERVE_CHURN_BLOCKS];
    for b in blocks.iter_mut() {
        *b = malloc_filled!(SERVE_CHURN_SIZE);
    }
    for &b in blocks.iter() {
        free_block!(b, plain!(SERVE_CHURN_SIZE));
    }
    let leak = malloc_filled!(SERVE_LEAK_SIZE);
    unsafe { (leak as *mut *mut u8).write_unaligned(SERVE_LEAKS.load(Ordering::Relaxed)) };
    SERVE_LEAKS.store(leak, Ordering::Relaxed);
    black_box(SERVE_CHURN_BLOCKS)
}

// bench mode.

/// `pairs` x { malloc(BENCH_SIZE); free }.
#[inline(never)]
pub fn bench_loop(pairs: u64) -> u64 {
    let layout = plain!(BENCH_SIZE);
    for _ in 0..pairs {
        let p = checked!(unsafe { alloc(layout) }, layout);
        free_block!(p, layout);
    }
    black_box(pairs)
}

// ---------------------------------------------------------------------------------------------

/// Workloads 1-7 in order. Blocks meant to stay live are left allocated.
fn run_workloads() {
    black_box(leak_outer());
    black_box(churn());
    black_box(peak_build());
    black_box(realloc_grow());
    black_box(zeroed_alloc());
    black_box(aligned_alloc_site());
    let worker = std::thread::Builder::new()
        .name(WORKER_THREAD.to_string())
        .spawn(|| black_box(thread_worker()))
        .expect("spawn worker thread");
    black_box(worker.join().expect("join worker thread"));
    keep_reachable();
}

/// Lets the statics escape, so the stores of the kept pointers cannot be optimized away (a
/// static that is only ever written would otherwise be dropped) and the live blocks stay
/// reachable until exit.
#[inline(never)]
fn keep_reachable() {
    black_box(&LEAKED);
    black_box(&ZEROED_KEPT);
    black_box(&ALIGNED_KEPT);
    black_box(&WORKER_KEPT);
}

extern "C" {
    /// libc `signal(2)` (std already links libc; no crate needed).
    fn signal(signum: i32, handler: usize) -> usize;
}
const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;
const SIGUSR1: i32 = 10;
const SIG_DFL: usize = 0;

/// Rounds asked for by SIGUSR1 and not run yet.
static ROUNDS_ASKED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn ask_round(_signal: i32) {
    ROUNDS_ASKED.fetch_add(1, Ordering::Relaxed);
}

fn serve_rounds() -> ! {
    unsafe {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGUSR1, ask_round as extern "C" fn(i32) as usize);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", std::process::id()).expect("write stdout");
    out.flush().expect("flush stdout");
    let mut done = 0;
    loop {
        if ROUNDS_ASKED.load(Ordering::Relaxed) > done {
            run_workloads();
            done += 1;
            writeln!(out, "round {done}").expect("write stdout");
            out.flush().expect("flush stdout");
        }
        black_box(serve_tick());
        std::thread::sleep(SERVE_TICK_INTERVAL);
    }
}

fn serve() -> ! {
    // A background job of a non-interactive shell starts with SIGINT ignored; make both SIGINT
    // and SIGTERM end the process whatever the launcher did.
    unsafe {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", std::process::id()).expect("write stdout");
    out.flush().expect("flush stdout");
    drop(out);
    loop {
        black_box(serve_tick());
        std::thread::sleep(SERVE_TICK_INTERVAL);
    }
}

fn bench(pairs: u64) {
    let start = Instant::now();
    black_box(bench_loop(black_box(pairs)));
    let elapsed = start.elapsed();
    let ns_per_pair = if pairs == 0 { 0.0 } else { elapsed.as_nanos() as f64 / pairs as f64 };
    println!("ns_per_pair {ns_per_pair:.3}");
}

fn bench_windows(ms: u64) -> ! {
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
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", std::process::id()).expect("write stdout");
    out.flush().expect("flush stdout");
    let window = Duration::from_millis(ms);
    const CHUNK: u64 = 10_000;
    loop {
        let (start_ns, start, cpu) = (unix_ns(), Instant::now(), thread_cpu_ns());
        let mut pairs = 0u64;
        while start.elapsed() < window {
            black_box(bench_loop(black_box(CHUNK)));
            pairs += CHUNK;
        }
        let ns = start.elapsed().as_nanos() as f64 / pairs as f64;
        let cpu_ns = (thread_cpu_ns() - cpu) as f64 / pairs as f64;
        writeln!(out, "window {start_ns} {} {ns:.3} {cpu_ns:.3}", unix_ns()).expect("write stdout");
        out.flush().expect("flush stdout");
    }
}

fn usage() -> ! {
    eprintln!("usage: allocs [--manifest [serve|heavy|large|leak-more] | serve | serve-rounds | heavy | large | leak | leak-more | churn | bench N | bench-windows MS | heavy-dump PATH]");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => {
            run_workloads();
            prof_dump_if_requested();
        }
        ["--manifest"] => print!("{}", manifest::run_manifest()),
        ["--manifest", "serve"] => print!("{}", manifest::serve_manifest()),
        ["--manifest", "heavy"] => print!("{}", manifest::heavy_manifest()),
        ["heavy"] => heavy::run(),
        ["--manifest", "large"] => print!("{}", manifest::large_manifest()),
        ["large"] => large::run(),
        ["heavy-dump", path] => dump::run(path),
        ["leak"] => {
            black_box(leak_outer());
            keep_reachable();
        }
        ["leak-more"] => {
            LEAK_COUNT.store(LEAK_MORE_BLOCKS, Ordering::Relaxed);
            black_box(leak_outer());
            keep_reachable();
        }
        ["--manifest", "leak-more"] => print!("{}", manifest::leak_more_manifest()),
        ["churn"] => {
            black_box(churn());
        }
        ["serve"] => serve(),
        ["serve-rounds"] => serve_rounds(),
        ["bench-windows", ms] => match ms.parse::<u64>() {
            Ok(ms) => bench_windows(ms),
            Err(_) => usage(),
        },
        ["bench", n] => match n.parse::<u64>() {
            Ok(pairs) => bench(pairs),
            Err(_) => usage(),
        },
        _ => usage(),
    }
}
