//! `allocs heavy`: about 10 GiB of allocations in well under a million calls, for checking sampled
//! estimates against exact ground truth (`allocs --manifest heavy`). Blocks are not written to, so
//! the run is fast and its memory mostly virtual; the leak and peak sites use 1 MiB blocks so
//! their live bytes can be estimated tightly from samples.

use crate::manifest::Site;
use crate::MAIN_THREAD;
use std::alloc::{alloc, dealloc, handle_alloc_error, realloc, Layout};
use std::any::type_name_of_val;
use std::hint::black_box;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

pub const CHURN_CALLS: usize = 400_000;
pub const CHURN_SIZES: [usize; 4] = [8 << 10, 12 << 10, 16 << 10, 20 << 10];
pub const BATCH_CALLS: usize = 20_000;
pub const BATCH_SIZE: usize = 64 << 10;
pub const BATCH_LIVE: usize = 100;
pub const PEAK_BLOCKS: usize = 512;
pub const BIG_SIZE: usize = 1 << 20;
pub const LEAK_BLOCKS: usize = 256;
pub const REALLOC_CHAINS: usize = 20_000;
pub const REALLOC_START: usize = 4 << 10;
pub const REALLOC_END: usize = 64 << 10;

static LEAKED: [AtomicPtr<u8>; LEAK_BLOCKS] = [const { AtomicPtr::new(ptr::null_mut()) }; LEAK_BLOCKS];

// Macros rather than functions, so that no helper shows up as an (inlined) frame between a
// named function and the allocator.

macro_rules! layout {
    ($size:expr) => {
        Layout::from_size_align($size, 8).unwrap()
    };
}

/// Exactly one malloc(size); the block is left unwritten.
macro_rules! malloc {
    ($size:expr) => {{
        let size: usize = $size;
        let p = unsafe { alloc(layout!(size)) };
        if p.is_null() {
            handle_alloc_error(layout!(size));
        }
        black_box(p)
    }};
}

/// Exactly one free(p).
macro_rules! free {
    ($p:expr, $size:expr) => {
        unsafe { dealloc(black_box($p), layout!($size)) }
    };
}

/// CHURN_CALLS x { malloc(CHURN_SIZES[i % 4]); free }: lots of bytes, nothing retained.
#[inline(never)]
pub fn heavy_churn() -> usize {
    for i in 0..CHURN_CALLS {
        let size = CHURN_SIZES[i % CHURN_SIZES.len()];
        let block = malloc!(size);
        free!(block, size);
    }
    black_box(CHURN_CALLS)
}

/// BATCH_CALLS x malloc(BATCH_SIZE), freed BATCH_LIVE at a time.
#[inline(never)]
pub fn heavy_batch() -> usize {
    let mut live = [ptr::null_mut::<u8>(); BATCH_LIVE];
    for _ in 0..BATCH_CALLS / BATCH_LIVE {
        for b in live.iter_mut() {
            *b = malloc!(BATCH_SIZE);
        }
        for b in live.iter() {
            free!(*b, BATCH_SIZE);
        }
    }
    black_box(BATCH_CALLS)
}

/// PEAK_BLOCKS x malloc(BIG_SIZE) all live at once, then freed.
#[inline(never)]
pub fn heavy_peak() -> usize {
    let mut live = vec![ptr::null_mut::<u8>(); 0];
    live.reserve_exact(PEAK_BLOCKS); // one malloc of the vector before the measured ones
    let keep = black_box(live.as_mut_ptr());
    for i in 0..PEAK_BLOCKS {
        let block = malloc!(BIG_SIZE);
        unsafe { keep.add(i).write(block) };
    }
    for i in 0..PEAK_BLOCKS {
        let block = unsafe { keep.add(i).read() };
        free!(block, BIG_SIZE);
    }
    black_box(PEAK_BLOCKS)
}

/// LEAK_BLOCKS x malloc(BIG_SIZE), never freed.
#[inline(never)]
pub fn heavy_leak() -> usize {
    for slot in LEAKED.iter() {
        slot.store(malloc!(BIG_SIZE), Ordering::Relaxed);
    }
    black_box(&LEAKED);
    black_box(LEAK_BLOCKS)
}

/// REALLOC_CHAINS x { malloc(REALLOC_START); realloc doubling to REALLOC_END; free }.
#[inline(never)]
pub fn heavy_realloc() -> usize {
    for _ in 0..REALLOC_CHAINS {
        let mut size = REALLOC_START;
        let mut p = malloc!(size);
        while size < REALLOC_END {
            p = unsafe { realloc(p, layout!(size), size * 2) };
            if p.is_null() {
                handle_alloc_error(layout!(size * 2));
            }
            p = black_box(p);
            size *= 2;
        }
        free!(p, size);
    }
    black_box(REALLOC_CHAINS)
}

pub fn run() {
    black_box(heavy_churn());
    black_box(heavy_batch());
    black_box(heavy_peak());
    black_box(heavy_leak());
    black_box(heavy_realloc());
}

/// Ground truth of `run`, same conventions as the default manifest. heavy_peak's vector of
/// pointers is a small site of its own (`heavy_peak` via std's RawVec), left out on purpose.
pub fn sites() -> Vec<Site> {
    let mut churn = Site::new(vec![type_name_of_val(&heavy_churn)], "malloc", MAIN_THREAD);
    for i in 0..CHURN_CALLS {
        let size = CHURN_SIZES[i % CHURN_SIZES.len()];
        churn.alloc(size);
        churn.free(size);
    }
    let mut batch = Site::new(vec![type_name_of_val(&heavy_batch)], "malloc", MAIN_THREAD);
    for _ in 0..BATCH_CALLS / BATCH_LIVE {
        for _ in 0..BATCH_LIVE {
            batch.alloc(BATCH_SIZE);
        }
        for _ in 0..BATCH_LIVE {
            batch.free(BATCH_SIZE);
        }
    }
    let mut peak = Site::new(vec![type_name_of_val(&heavy_peak)], "malloc", MAIN_THREAD);
    for _ in 0..PEAK_BLOCKS {
        peak.alloc(BIG_SIZE);
    }
    for _ in 0..PEAK_BLOCKS {
        peak.free(BIG_SIZE);
    }
    let mut leak = Site::new(vec![type_name_of_val(&heavy_leak)], "malloc", MAIN_THREAD);
    for _ in 0..LEAK_BLOCKS {
        leak.alloc(BIG_SIZE);
    }
    let mut first = Site::new(vec![type_name_of_val(&heavy_realloc)], "malloc", MAIN_THREAD);
    let mut grow = Site::new(vec![type_name_of_val(&heavy_realloc)], "realloc", MAIN_THREAD);
    for _ in 0..REALLOC_CHAINS {
        first.alloc(REALLOC_START);
        first.free(REALLOC_START);
        let mut size = REALLOC_START * 2;
        grow.alloc(size);
        while size < REALLOC_END {
            grow.free(size);
            size *= 2;
            grow.alloc(size);
        }
        grow.free(size);
    }
    vec![churn, batch, peak, leak, first, grow]
}
