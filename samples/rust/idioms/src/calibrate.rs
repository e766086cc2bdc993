//! `idioms-calibrate [--index-entries N]`: runs the idioms workload under a counting global
//! allocator and prints, as JSON, exactly which libc calls each named function made — the
//! ground truth `idioms --manifest` shows (the same format as `allocs --manifest`).
//!
//! Each block is charged to the named function running when it was allocated
//! (`idioms::current_function`); the charge is stored in a header in front of the block, so its
//! free (by `free` or a later `realloc`) counts for the function that allocated it, whoever frees
//! it. The libc call of each request is the one std's System allocator makes on Linux
//! (library/std/src/sys/alloc/unix.rs), where MIN_ALIGN is 16:
//!   alloc        align <= 16 && align <= size      -> malloc,  else posix_memalign
//!   alloc_zeroed align <= 16 && align <= size      -> calloc,  else posix_memalign + memset
//!   realloc      align <= 16 && align <= new_size  -> realloc, else a new block + copy + free
//! Conventions (as allocs' manifest): `realloc(p, n)` is a free of the old block (for the
//! function that allocated it) followed by an allocation of n bytes; `peak_bytes` is the most
//! bytes of one (function, call) site live at once.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::Mutex;

#[global_allocator]
static GLOBAL: Calibrating = Calibrating;

const MIN_ALIGN: usize = 16;
/// Bytes in front of each block: the site index and the block's requested size.
const HEADER: usize = 16;
const MAX_SITES: usize = 64;

#[derive(Clone, Copy)]
enum Api {
    Malloc,
    Calloc,
    Realloc,
    PosixMemalign,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Malloc => "malloc",
            Api::Calloc => "calloc",
            Api::Realloc => "realloc",
            Api::PosixMemalign => "posix_memalign",
        }
    }
}

#[derive(Clone, Copy)]
struct Site {
    function: &'static str,
    api: &'static str,
    allocations: u64,
    allocated_bytes: u64,
    frees: u64,
    freed_bytes: u64,
    live_blocks: u64,
    live_bytes: u64,
    peak_bytes: u64,
}

const NO_SITE: Site = Site {
    function: "",
    api: "",
    allocations: 0,
    allocated_bytes: 0,
    frees: 0,
    freed_bytes: 0,
    live_blocks: 0,
    live_bytes: 0,
    peak_bytes: 0,
};

/// Sites in order of their first allocation; a fixed array, so counting never allocates.
struct Sites {
    sites: [Site; MAX_SITES],
    len: usize,
}

static SITES: Mutex<Sites> = Mutex::new(Sites { sites: [NO_SITE; MAX_SITES], len: 0 });

impl Sites {
    fn index(&mut self, function: &'static str, api: Api) -> usize {
        let api = api.name();
        if let Some(i) = self.sites[..self.len].iter().position(|s| s.function == function && s.api == api) {
            return i;
        }
        assert!(self.len < MAX_SITES, "idioms-calibrate: more than {MAX_SITES} sites");
        self.sites[self.len] = Site { function, api, ..NO_SITE };
        self.len += 1;
        self.len - 1
    }

    fn alloc(&mut self, api: Api, size: usize) -> usize {
        let i = self.index(idioms::current_function(), api);
        let s = &mut self.sites[i];
        s.allocations += 1;
        s.allocated_bytes += size as u64;
        s.live_blocks += 1;
        s.live_bytes += size as u64;
        s.peak_bytes = s.peak_bytes.max(s.live_bytes);
        i
    }

    fn free(&mut self, site: usize, size: usize) {
        let s = &mut self.sites[site];
        s.frees += 1;
        s.freed_bytes += size as u64;
        s.live_blocks -= 1;
        s.live_bytes -= size as u64;
    }
}

fn record_alloc(api: Api, size: usize) -> usize {
    SITES.lock().unwrap_or_else(|e| e.into_inner()).alloc(api, size)
}

fn record_free(site: usize, size: usize) {
    SITES.lock().unwrap_or_else(|e| e.into_inner()).free(site, size)
}

fn plain(align: usize, size: usize) -> bool {
    align <= MIN_ALIGN && align <= size
}

struct Calibrating;

impl Calibrating {
    /// The layout actually requested from System: room for the header in front, keeping the
    /// block's alignment.
    fn outer(layout: Layout) -> (Layout, usize) {
        let offset = HEADER.max(layout.align());
        (Layout::from_size_align(layout.size() + offset, offset).unwrap(), offset)
    }

    unsafe fn finish(base: *mut u8, offset: usize, site: usize, size: usize) -> *mut u8 {
        if base.is_null() {
            return base;
        }
        let p = base.add(offset);
        (p.sub(HEADER) as *mut [usize; 2]).write_unaligned([site, size]);
        p
    }

    unsafe fn header(p: *mut u8) -> (usize, usize) {
        let [site, size] = (p.sub(HEADER) as *const [usize; 2]).read_unaligned();
        (site, size)
    }
}

unsafe impl GlobalAlloc for Calibrating {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let api = if plain(layout.align(), layout.size()) { Api::Malloc } else { Api::PosixMemalign };
        let site = record_alloc(api, layout.size());
        let (outer, offset) = Self::outer(layout);
        Self::finish(System.alloc(outer), offset, site, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let api = if plain(layout.align(), layout.size()) { Api::Calloc } else { Api::PosixMemalign };
        let site = record_alloc(api, layout.size());
        let (outer, offset) = Self::outer(layout);
        Self::finish(System.alloc_zeroed(outer), offset, site, layout.size())
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (old_site, old_size) = Self::header(p);
        record_free(old_site, old_size);
        // std's fallback for an over-aligned realloc is a fresh aligned block.
        let api = if plain(layout.align(), new_size) { Api::Realloc } else { Api::PosixMemalign };
        let site = record_alloc(api, new_size);
        let (outer, offset) = Self::outer(layout);
        let base = System.realloc(p.sub(offset), outer, new_size + offset);
        Self::finish(base, offset, site, new_size)
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        let (site, size) = Self::header(p);
        record_free(site, size);
        let (outer, offset) = Self::outer(layout);
        System.dealloc(p.sub(offset), outer);
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
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

/// The named functions' sites as JSON, in the order the workload calls the functions.
fn manifest(sites: &[Site], params: &idioms::Params) -> String {
    let mut out = String::new();
    write!(out, "{{\"program\":\"idioms\",\"index_entries\":{},\"sites\":[", params.index_entries).unwrap();
    let mut first = true;
    for function in idioms::function_names() {
        for s in sites.iter().filter(|s| s.function == function) {
            out.push_str(if first { "\n" } else { ",\n" });
            first = false;
            write!(
                out,
                "{{\"function\":{f},\"chain\":[{f}],\"api\":{},\"allocations\":{},\"allocated_bytes\":{},\
                 \"frees\":{},\"freed_bytes\":{},\"live_blocks_at_exit\":{},\"live_bytes_at_exit\":{},\
                 \"peak_bytes\":{},\"thread\":\"main\"}}",
                json_string(s.api),
                s.allocations,
                s.allocated_bytes,
                s.frees,
                s.freed_bytes,
                s.live_blocks,
                s.live_bytes,
                s.peak_bytes,
                f = json_string(s.function),
            )
            .unwrap();
        }
    }
    out.push_str("\n]}\n");
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(params) = idioms::parse_params(&args) else {
        eprintln!("usage: idioms-calibrate [--index-entries N]");
        std::process::exit(2);
    };
    idioms::run(&params);
    // Copied out (onto the stack: allocating under the lock would deadlock) before printing,
    // whose own allocations come after the workload's figures.
    let (sites, len) = {
        let table = SITES.lock().unwrap();
        (table.sites, table.len)
    };
    print!("{}", manifest(&sites[..len], &params));
}
