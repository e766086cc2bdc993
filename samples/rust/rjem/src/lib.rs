//! A `#[global_allocator]` over jemalloc making the same calls as tikv-jemallocator 0.6:
//! `alloc` → `malloc(size)` when the alignment comes for free, else `mallocx(size, LG_ALIGN)`;
//! `alloc_zeroed` → `calloc(1, size)` or `mallocx(size, LG_ALIGN | ZERO)`; `realloc` →
//! `realloc(p, n)` or `rallocx(p, n, LG_ALIGN)`; `dealloc` → `sdallocx(p, size, flags)`.
//! With the `static` feature the symbols carry tikv-jemalloc-sys's `_rjem_` prefix.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::{c_char, c_int, c_void, CStr};

macro_rules! jemalloc_fns {
    ($($plain:literal $prefixed:literal fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)*) => {
        extern "C" {
            $(
                #[cfg_attr(feature = "static", link_name = $prefixed)]
                #[cfg_attr(not(feature = "static"), link_name = $plain)]
                fn $name($($arg: $ty),*) $(-> $ret)?;
            )*
        }
    };
}

jemalloc_fns! {
    "malloc" "_rjem_malloc" fn je_malloc(size: usize) -> *mut c_void;
    "calloc" "_rjem_calloc" fn je_calloc(n: usize, size: usize) -> *mut c_void;
    "realloc" "_rjem_realloc" fn je_realloc(p: *mut c_void, size: usize) -> *mut c_void;
    "mallocx" "_rjem_mallocx" fn je_mallocx(size: usize, flags: c_int) -> *mut c_void;
    "rallocx" "_rjem_rallocx" fn je_rallocx(p: *mut c_void, size: usize, flags: c_int) -> *mut c_void;
    "sdallocx" "_rjem_sdallocx" fn je_sdallocx(p: *mut c_void, size: usize, flags: c_int);
    "mallctl" "_rjem_mallctl" fn je_mallctl(name: *const c_char, oldp: *mut c_void, oldlenp: *mut usize,
        newp: *mut c_void, newlen: usize) -> c_int;
}

/// jemalloc's MALLOCX_ZERO.
const MALLOCX_ZERO: c_int = 0x40;
/// The alignment every plain malloc gives on x86-64 (alignof(max_align_t)).
const MAX_ALIGN: usize = 16;

/// MALLOCX_LG_ALIGN(log2 align), or 0 when malloc's own alignment suffices.
fn layout_to_flags(align: usize, size: usize) -> c_int {
    if align <= MAX_ALIGN && align <= size {
        0
    } else {
        align.trailing_zeros() as c_int
    }
}

pub struct Jemalloc;

unsafe impl GlobalAlloc for Jemalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let flags = layout_to_flags(layout.align(), layout.size());
        if flags == 0 { je_malloc(layout.size()) } else { je_mallocx(layout.size(), flags) }.cast()
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let flags = layout_to_flags(layout.align(), layout.size());
        if flags == 0 { je_calloc(1, layout.size()) } else { je_mallocx(layout.size(), flags | MALLOCX_ZERO) }.cast()
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        je_sdallocx(ptr.cast(), layout.size(), layout_to_flags(layout.align(), layout.size()))
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let flags = layout_to_flags(layout.align(), new_size);
        if flags == 0 { je_realloc(ptr.cast(), new_size) } else { je_rallocx(ptr.cast(), new_size, flags) }.cast()
    }
}

/// Writes a heap profile (`prof.dump`) to `path`; fails when jemalloc was built without profiling
/// or profiling is off (`prof:true` in the MALLOC_CONF variable).
pub fn prof_dump(path: &CStr) -> Result<(), c_int> {
    let mut name: *const c_char = path.as_ptr();
    let err = unsafe {
        je_mallctl(c"prof.dump".as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(),
            (&mut name as *mut *const c_char).cast(), std::mem::size_of::<*const c_char>())
    };
    if err == 0 { Ok(()) } else { Err(err) }
}

/// Whether jemalloc's heap profiling is compiled in and turned on (`opt.prof`, set by `prof:true`
/// in the MALLOC_CONF variable): only then can [`prof_dump`] write a profile.
pub fn prof_enabled() -> bool {
    let mut on = false;
    let mut len = std::mem::size_of::<bool>();
    let err = unsafe {
        je_mallctl(c"opt.prof".as_ptr(), (&mut on as *mut bool).cast(), &mut len, std::ptr::null_mut(), 0)
    };
    err == 0 && on
}
