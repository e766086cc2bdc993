//! Links jemalloc: the static, `_rjem_`-prefixed archive in `RJEM_LIB_DIR` (built by
//! samples/jemalloc/build.sh), or the system's `libjemalloc.so.2`.
fn main() {
    println!("cargo:rerun-if-env-changed=RJEM_LIB_DIR");
    let is_static = std::env::var_os("CARGO_FEATURE_STATIC").is_some();
    let is_dynamic = std::env::var_os("CARGO_FEATURE_DYNAMIC").is_some();
    match (is_static, is_dynamic) {
        (true, false) => {
            let dir = std::env::var("RJEM_LIB_DIR").expect("RJEM_LIB_DIR: the directory holding libjemalloc_pic.a");
            println!("cargo:rerun-if-changed={dir}/libjemalloc_pic.a");
            println!("cargo:rustc-link-search=native={dir}");
            println!("cargo:rustc-link-lib=static=jemalloc_pic");
        }
        (false, true) => println!("cargo:rustc-link-lib=dylib:+verbatim=libjemalloc.so.2"),
        _ => panic!("enable exactly one of the features `static` and `dynamic`"),
    }
}
