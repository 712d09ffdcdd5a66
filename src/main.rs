//! The `migrate` command line.

fn main() -> std::process::ExitCode {
    migrate::cli::main()
}
