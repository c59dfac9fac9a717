//! The `wix-oauth-mock` binary: everything it does is in the library (`cli`, `server`).

fn main() -> std::process::ExitCode {
    wix_oauth_mock::cli::main()
}
