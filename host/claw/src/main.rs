//! The `claw` binary: the command line only; everything it does is in the
//! crates below it (gateway → core → plugin host → types).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
