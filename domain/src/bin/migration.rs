//! SeaORM's migration CLI over the domain's migrator: `cargo run -p genai-factory --bin migration
//! -- up|down|fresh|status` (with `DATABASE_URL` set).

use sea_orm_migration::prelude::*;

#[tokio::main]
async fn main() {
    cli::run_cli(genai_factory::Migrator).await;
}
