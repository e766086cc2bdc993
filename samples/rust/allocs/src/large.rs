//! `allocs large`: blocks of at least the default sampling rate (512 KiB), which memprof records
//! exactly (always sampled, weighed at their own size), and the frees and reallocs of such
//! sampled blocks, whose stacks are checked (`allocs --manifest large`).

use crate::manifest::Site;
use crate::MAIN_THREAD;
use std::alloc::{alloc, dealloc, handle_alloc_error, realloc, Layout};
use std::any::type_name_of_val;
use std::hint::black_box;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

/// Above the default rate, and not a power of two, so an estimate cannot land on it by chance.
pub const LARGE_SIZE: usize = 1_000_000;
pub const LEAK_BLOCKS: usize = 3;
pub const CHURN_BLOCKS: usize = 4;
pub const SHRINK_BLOCKS: usize = 4;
/// What `large_shrink` reallocs each large block down to: a small block, rarely sampled.
pub const SHRINK_SIZE: usize = 64;

static LEAKED: [AtomicPtr<u8>; LEAK_BLOCKS] = [const { AtomicPtr::new(ptr::null_mut()) }; LEAK_BLOCKS];

// Macros rather than functions, so that no helper shows up as an (inlined) frame between a
// named function and the allocator.

macro_rules! layout {
    ($size:expr) => {
        Layout::from_size_align($size, 8).unwrap()
    };
}

/// Exactly one malloc(size); the block is filled, so its pages are really used.
macro_rules! malloc {
    ($size:expr) => {{
        let size: usize = $size;
        let p = unsafe { alloc(layout!(size)) };
        if p.is_null() {
            handle_alloc_error(layout!(size));
        }
        unsafe { ptr::write_bytes(p, 0xA5, size) };
        black_box(p)
    }};
}

/// Exactly one free(p).
macro_rules! free {
    ($p:expr, $size:expr) => {
        unsafe { dealloc(black_box($p), layout!($size)) }
    };
}

/// LEAK_BLOCKS x malloc(LARGE_SIZE), never freed.
#[inline(never)]
pub fn large_leak() -> usize {
    for slot in LEAKED.iter() {
        slot.store(malloc!(LARGE_SIZE), Ordering::Relaxed);
    }
    black_box(&LEAKED);
    black_box(LEAK_BLOCKS)
}

/// CHURN_BLOCKS x { malloc(LARGE_SIZE); free }: the free's stack is the allocation's but for the leaf.
#[inline(never)]
pub fn large_churn() -> usize {
    for _ in 0..CHURN_BLOCKS {
        let block = malloc!(LARGE_SIZE);
        free!(block, LARGE_SIZE);
    }
    black_box(CHURN_BLOCKS)
}

/// SHRINK_BLOCKS x { malloc(LARGE_SIZE); realloc(p, SHRINK_SIZE); free }: the realloc frees a
/// sampled block while its result is most likely not sampled.
#[inline(never)]
pub fn large_shrink() -> usize {
    for _ in 0..SHRINK_BLOCKS {
        let block = malloc!(LARGE_SIZE);
        let small = unsafe { realloc(block, layout!(LARGE_SIZE), SHRINK_SIZE) };
        if small.is_null() {
            handle_alloc_error(layout!(SHRINK_SIZE));
        }
        free!(small, SHRINK_SIZE);
    }
    black_box(SHRINK_BLOCKS)
}

pub fn run() {
    black_box(large_leak());
    black_box(large_churn());
    black_box(large_shrink());
}

/// Ground truth of `run`, same conventions as the default manifest.
pub fn sites() -> Vec<Site> {
    let mut leak = Site::new(vec![type_name_of_val(&large_leak)], "malloc", MAIN_THREAD);
    for _ in 0..LEAK_BLOCKS {
        leak.alloc(LARGE_SIZE);
    }
    let mut churn = Site::new(vec![type_name_of_val(&large_churn)], "malloc", MAIN_THREAD);
    for _ in 0..CHURN_BLOCKS {
        churn.alloc(LARGE_SIZE);
        churn.free(LARGE_SIZE);
    }
    let mut first = Site::new(vec![type_name_of_val(&large_shrink)], "malloc", MAIN_THREAD);
    let mut shrunk = Site::new(vec![type_name_of_val(&large_shrink)], "realloc", MAIN_THREAD);
    for _ in 0..SHRINK_BLOCKS {
        first.alloc(LARGE_SIZE);
        first.free(LARGE_SIZE);
        shrunk.alloc(SHRINK_SIZE);
        shrunk.free(SHRINK_SIZE);
    }
    vec![leak, churn, first, shrunk]
}
