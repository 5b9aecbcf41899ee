//! The `jieyue` command. Everything lives in the library; see `jieyue --help`.

fn main() -> std::process::ExitCode {
    jieyue_server::cli::main()
}
