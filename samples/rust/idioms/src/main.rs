//! `idioms`: runs the workload of lib.rs on the system allocator (std's default, as any Rust
//! program), or prints its ground truth.
//!
//! Usage:
//!   idioms [--index-entries N]             run the workload once; the leaked blocks stay live
//!   idioms --manifest [--index-entries N]  print the exact ground truth of that run as JSON, from
//!                                          a calibration run of the same code (the sibling
//!                                          program `<this program>-calibrate`)

use std::os::unix::process::CommandExt;
use std::process::{exit, Command};

fn usage() -> ! {
    eprintln!("usage: idioms [--manifest] [--index-entries N]");
    exit(2);
}

/// Replaces this process by the calibrating build of the same workload, installed beside it.
fn exec_calibration(args: &[String]) -> ! {
    let exe = std::env::current_exe().expect("current_exe");
    let mut calibrate = exe.into_os_string();
    calibrate.push("-calibrate");
    let error = Command::new(&calibrate).args(args).exec();
    eprintln!("idioms: cannot run {}: {error} (samples/build.sh builds it)", calibrate.to_string_lossy());
    exit(1);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--manifest") {
        if idioms::parse_params(&args[1..]).is_none() {
            usage();
        }
        exec_calibration(&args[1..]);
    }
    let Some(params) = idioms::parse_params(&args) else { usage() };
    idioms::run(&params);
}
