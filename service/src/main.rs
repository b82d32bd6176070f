//! The `cascade` binary: parse arguments, run, map the outcome to an exit code
//! (0 success, 1 a finding, 2 usage, connection or internal error).

use std::process::ExitCode;

use clap::Parser;
use service::cli::{Cli, run};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout().lock();
    match run(cli, &mut stdout).await {
        Ok(status) => status.into(),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
