//! The `cascade` binary of the shipped domain: the library's command line with the GenAI Factory
//! app (an app builds its own the same way).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    cascade_cli::main(genai_factory::app()).await
}
