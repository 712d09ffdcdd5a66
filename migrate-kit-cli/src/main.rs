//! The `migrate` command line.

fn main() -> std::process::ExitCode {
    migrate_kit::cli::main()
}
