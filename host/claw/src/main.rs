//! The `claw` binary: the command line only; everything it does is in the
//! crates below it (gateway → core → plugin host → types).

mod cli;

use std::process::ExitCode;

// A request allocates and frees many small buffers on two worker threads;
// mimalloc's per-thread heaps do that with less contention than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::main()
}
