//! The store's database on Cloudflare: D1 (the default), or Postgres through Hyperdrive when
//! `DOCENT_STORE=postgres`. Hyperdrive keeps warm connections to the origin database near it, so a
//! Worker opens one cheap connection per invocation over a Workers TCP socket; pooling and the TLS
//! to the origin are Hyperdrive's. Locally, wrangler points the binding at `localConnectionString`.

use docent_core::ports::StoreDatabase;
use docent_postgres::PgDatabase;
use worker::{console_error, Env};

use crate::D1;

/// The Hyperdrive binding in wrangler.toml.
pub const HYPERDRIVE_BINDING: &str = "HYPERDRIVE";

pub type Database = StoreDatabase<D1, PgDatabase>;

/// A Postgres connection through the Hyperdrive binding; its protocol task runs on the isolate's
/// event loop until the invocation ends and the socket closes.
pub async fn connect_hyperdrive(env: &Env) -> Result<PgDatabase, String> {
    let hyperdrive = env
        .hyperdrive(HYPERDRIVE_BINDING)
        .map_err(|e| format!("Hyperdrive binding {HYPERDRIVE_BINDING}: {e}"))?;
    let config: tokio_postgres::Config = hyperdrive
        .connection_string()
        .parse()
        .map_err(|e| format!("Hyperdrive connection string: {e}"))?;
    let socket =
        hyperdrive.connect().map_err(|e| format!("opening a socket to Hyperdrive: {e}"))?;
    // Hyperdrive's own endpoint speaks plain Postgres to the Worker; it encrypts towards the
    // origin.
    let (client, connection) = config
        .connect_raw(socket, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("connecting to Postgres through Hyperdrive: {e}"))?;
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(error) = connection.await {
            console_error!("postgres connection ended: {error}");
        }
    });
    Ok(PgDatabase::new(client))
}
