//! The `wutt-campaign` binary: everything lives in the library; this only sets the exit code.

fn main() -> std::process::ExitCode {
    wutt_campaign::cli::main()
}
