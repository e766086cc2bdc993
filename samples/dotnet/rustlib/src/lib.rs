//! The native half of the .NET sample: a std-only Rust library that a C# program calls through
//! `[LibraryImport]`. Each exported function makes exactly the libc calls the sample's manifest
//! says (`DotnetSample --manifest`): `std::alloc::alloc` with an alignment of 8 is one `malloc` of
//! the requested size on glibc, `dealloc` one `free`.

use std::alloc::{alloc, dealloc, Layout};
use std::hint::black_box;

#[inline(always)]
fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).expect("sizes are small and non-zero")
}

/// Allocates `size` bytes and touches them, so the block is real memory. A macro, not a
/// function: the allocating function must be the exported one, with no helper frame between.
macro_rules! allocate {
    ($size:expr) => {{
        let size = $size;
        let block = unsafe { alloc(layout(size)) };
        assert!(!block.is_null(), "out of memory");
        unsafe { block.write_bytes(0x5A, size) };
        black_box(block)
    }};
}

/// Leaks `count` blocks of `size` bytes: they stay live until the process ends.
#[no_mangle]
#[inline(never)]
pub extern "C" fn rustlib_leak(count: u32, size: usize) -> usize {
    let mut sum = 0usize;
    for _ in 0..count {
        sum = sum.wrapping_add(allocate!(size) as usize);
    }
    sum
}

/// One short-lived block of `size` bytes: allocated, used, freed before returning.
#[no_mangle]
#[inline(never)]
pub extern "C" fn rustlib_churn(size: usize) -> u64 {
    let block = allocate!(size);
    let checksum = unsafe { u64::from(*block) + u64::from(*block.add(size - 1)) };
    unsafe { dealloc(block, layout(size)) };
    checksum
}

/// Holds `count` blocks of `size` bytes at once (a peak), then frees them all.
#[no_mangle]
#[inline(never)]
pub extern "C" fn rustlib_peak(count: u32, size: usize) -> u64 {
    const MAX: usize = 256;
    let count = (count as usize).min(MAX);
    let mut blocks = [std::ptr::null_mut::<u8>(); MAX];
    for slot in blocks.iter_mut().take(count) {
        *slot = allocate!(size);
    }
    let mut checksum = 0u64;
    for &block in blocks.iter().take(count) {
        checksum += u64::from(unsafe { *block });
        unsafe { dealloc(block, layout(size)) };
    }
    checksum
}
