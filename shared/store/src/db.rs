//! One PostgreSQL client per Lambda container, connected lazily and re-connected when broken.
//!
//! RDS Proxy pools the database connections, so a container keeps exactly one client and never
//! a pool. The client is opened during init when the database answers (init runs with boosted
//! CPU and is not billed against the first request), but a database that is down must not
//! fail the cold start: the first use connects instead. A Lambda container can sit frozen for
//! minutes; the proxy may have closed the connection meanwhile, or the backend may have been
//! terminated. [`Db::run`] notices a broken connection, connects again and repeats the
//! operation once.

use std::time::{Duration, Instant};

use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::Client;

use crate::{ConnectSettings, StoreError};

/// After this long without use, a connection is checked (one empty query) before it is
/// handed out: a Lambda container may have been frozen for minutes, and RDS Proxy closes idle
/// client connections. A request after such a pause then reconnects instead of failing.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(10);

/// The container's database handle.
#[derive(Debug)]
pub struct Db {
    settings: ConnectSettings,
    client: Mutex<Option<(Client, Instant)>>,
    check_after_idle: Duration,
}

impl Db {
    /// A handle that has not connected yet.
    pub fn new(settings: ConnectSettings) -> Self {
        Self {
            settings,
            client: Mutex::new(None),
            check_after_idle: CHECK_AFTER_IDLE,
        }
    }

    /// The same handle with another idle threshold for the liveness check (tests use zero).
    pub fn with_check_after_idle(mut self, idle: Duration) -> Self {
        self.check_after_idle = idle;
        self
    }

    /// Connects now if the database answers within `budget`; otherwise logs why and leaves the
    /// connection to the first use. Never fails: this is what init calls.
    pub async fn warm_up(&self, budget: Duration) {
        match tokio::time::timeout(budget, self.client()).await {
            Ok(Ok(_)) => {
                tracing::debug!(target = %self.settings.target(), "database connected during init")
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "database not reachable during init; will connect on first use")
            }
            Err(_) => tracing::warn!(
                ?budget,
                "database did not answer during init; will connect on first use"
            ),
        }
    }

    pub fn settings(&self) -> &ConnectSettings {
        &self.settings
    }

    /// Exclusive use of a live client, connecting (again) when there is none or it is closed.
    /// A Lambda container handles one request at a time, so exclusivity costs nothing there and
    /// lets callers open transactions (`Client::transaction` needs `&mut`).
    pub async fn client(&self) -> Result<tokio::sync::MappedMutexGuard<'_, Client>, StoreError> {
        let mut slot = self.client.lock().await;
        let usable = match slot.as_ref() {
            None => false,
            Some((client, _)) if client.is_closed() => false,
            Some((client, last_used)) if last_used.elapsed() >= self.check_after_idle => {
                let alive = client.simple_query("").await.is_ok();
                if !alive {
                    tracing::info!("idle database connection was closed; reconnecting");
                }
                alive
            }
            Some(_) => true,
        };
        if !usable {
            *slot = None;
            *slot = Some((self.settings.connect().await?, Instant::now()));
        }
        Ok(MutexGuard::map(slot, |entry| {
            let (client, last_used) = entry.as_mut().expect("connected above");
            *last_used = Instant::now();
            client
        }))
    }

    /// Runs `op` on a live client. When the connection turns out to be broken (the backend was
    /// terminated, the proxy closed an idle connection, the database restarted), connects
    /// again and runs `op` once more.
    ///
    /// `op` must be safe to repeat: a read, a single statement, or a transaction, since a
    /// transaction cut off before its COMMIT was acknowledged was rolled back by the server
    /// unless its effect carries a unique key that makes the repeat a no-op.
    pub async fn run<T, E>(&self, op: impl AsyncFn(&mut Client) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError> + AsConnectionError,
    {
        {
            let mut client = self.client().await?;
            match op(&mut *client).await {
                Err(error) if error.connection_broken() => {
                    tracing::info!("database connection was broken; reconnecting once");
                }
                result => return result,
            }
        }
        self.forget().await;
        let mut client = self.client().await?;
        op(&mut *client).await
    }

    /// Drops the current client so the next use connects afresh.
    pub async fn forget(&self) {
        *self.client.lock().await = None;
    }

    /// The backend process id of the current connection (tests kill it to prove reconnects).
    pub async fn backend_pid(&self) -> Result<i32, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query_typed("SELECT pg_backend_pid()", &[])
            .await
            .map_err(StoreError::query("reading the backend pid"))?;
        Ok(rows[0].get(0))
    }
}

/// Errors that can say whether they come from a broken connection.
pub trait AsConnectionError {
    fn connection_broken(&self) -> bool;
}

impl AsConnectionError for StoreError {
    fn connection_broken(&self) -> bool {
        self.is_unavailable()
    }
}

impl AsConnectionError for tokio_postgres::Error {
    fn connection_broken(&self) -> bool {
        is_connection_broken(self)
    }
}

/// True for errors after which this connection is unusable: closed by either side, I/O
/// failure, or the server's connection-exception and operator-intervention classes (08xxx,
/// 57Pxx: admin shutdown, crash shutdown, cannot connect now).
pub fn is_connection_broken(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if let Some(code) = error.code() {
        let code = code.code();
        return code.starts_with("08") || code.starts_with("57P");
    }
    std::error::Error::source(error).is_some_and(|source| source.is::<std::io::Error>())
}
