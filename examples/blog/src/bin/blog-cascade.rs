//! The blog's own `cascade` binary: the library's command line over the blog's entities.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    cascade_cli::main(blog_example::app()).await
}
