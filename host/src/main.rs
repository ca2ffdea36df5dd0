use std::process::ExitCode;

fn main() -> ExitCode {
    claw::cli::main()
}
