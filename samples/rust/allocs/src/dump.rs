//! `allocs heavy-dump PATH`: the `heavy` workload, then jemalloc's heap profile of what is still
//! live written to PATH (`prof.dump`, the heap_v2 text format `memprof import jemalloc` and
//! `jeprof` read). Only a build with jemalloc's profiling compiled in (`allocs-jemalloc-prof`)
//! and turned on (`prof:true` in `_RJEM_MALLOC_CONF`, or in `MALLOC_CONF` for the dynamic build)
//! can dump: any other build or setting exits with status 3 before running the workload.
//! The ground truth is `allocs --manifest heavy`: the dump holds the sites' live bytes at exit.

/// Exit status when no heap profile can be written.
const CANNOT_DUMP: i32 = 3;

pub fn run(path: &str) {
    if let Err(why) = check_can_dump() {
        eprintln!("allocs: heavy-dump: {why}");
        std::process::exit(CANNOT_DUMP);
    }
    crate::heavy::run();
    if let Err(why) = dump(path) {
        eprintln!("allocs: heavy-dump: {why}");
        std::process::exit(CANNOT_DUMP);
    }
}

#[cfg(any(feature = "jemalloc", feature = "jemalloc-dyn"))]
const CONF_VARIABLE: &str = if cfg!(feature = "jemalloc") { "_RJEM_MALLOC_CONF" } else { "MALLOC_CONF" };

#[cfg(any(feature = "jemalloc", feature = "jemalloc-dyn"))]
fn check_can_dump() -> Result<(), String> {
    if rjem::prof_enabled() {
        Ok(())
    } else {
        Err(format!(
            "jemalloc's heap profiling is not available: it needs a build with profiling compiled in \
             (allocs-jemalloc-prof) and {CONF_VARIABLE}=prof:true"
        ))
    }
}

#[cfg(any(feature = "jemalloc", feature = "jemalloc-dyn"))]
fn dump(path: &str) -> Result<(), String> {
    let name = std::ffi::CString::new(path).map_err(|_| format!("the path {path:?} contains a NUL byte"))?;
    rjem::prof_dump(&name).map_err(|code| format!("prof.dump to {path} failed with error {code}"))
}

#[cfg(not(any(feature = "jemalloc", feature = "jemalloc-dyn")))]
fn check_can_dump() -> Result<(), String> {
    Err("this build allocates with the system allocator, which writes no heap profiles; \
         use the jemalloc build with profiling (allocs-jemalloc-prof)"
        .to_string())
}

#[cfg(not(any(feature = "jemalloc", feature = "jemalloc-dyn")))]
fn dump(_path: &str) -> Result<(), String> {
    unreachable!("check_can_dump refuses builds without jemalloc")
}
