//! Each service's own PostgreSQL database: created if missing, migrated with
//! the service's embedded Diesel migrations (run through diesel-async, so no
//! libpq is needed), and pooled.
//!
//! Tests get a fresh database per test, cloned with `CREATE DATABASE …
//! TEMPLATE …` from a template migrated once ([`test_database`]).

use anyhow::Context;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::bb8;
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

pub type Pool = bb8::Pool<AsyncPgConnection>;
pub type Conn<'a> = bb8::PooledConnection<'a, AsyncPgConnection>;

/// The URL with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// The database name in the URL.
pub fn database_name(url: &str) -> Option<&str> {
    let base = url.split('?').next()?;
    let after_scheme = &base[base.find("://")? + 3..];
    let name = &after_scheme[after_scheme.find('/')? + 1..];
    (!name.is_empty()).then_some(name)
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

async fn admin_connection(url: &str) -> anyhow::Result<AsyncPgConnection> {
    let admin = with_database(url, "postgres");
    AsyncPgConnection::establish(&admin).await.with_context(|| format!("connecting to PostgreSQL at {}", redact(&admin)))
}

async fn exists(conn: &mut AsyncPgConnection, name: &str) -> anyhow::Result<bool> {
    let row: Exists = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result(conn)
        .await?;
    Ok(row.exists)
}

/// Creates the URL's database if it does not exist yet.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let name = database_name(url).context("DATABASE_URL names no database")?;
    let mut conn = admin_connection(url).await?;
    if exists(&mut conn, name).await? {
        return Ok(());
    }
    match diesel::sql_query(format!("CREATE DATABASE {}", quote_ident(name))).execute(&mut conn).await {
        Ok(_) => {
            tracing::info!(database = name, "created database");
            Ok(())
        }
        // Another process created it meanwhile.
        Err(_) if exists(&mut conn, name).await? => Ok(()),
        Err(e) => Err(e).with_context(|| format!("creating database {name}")),
    }
}

/// Runs pending migrations, holding an advisory lock so that several
/// replicas (or a Helm hook and a pod) never migrate at once.
pub async fn migrate(url: &str, migrations: EmbeddedMigrations) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(url).await.with_context(|| format!("connecting to {}", redact(url)))?;
    diesel::sql_query("SELECT pg_advisory_lock(7201865)").execute(&mut conn).await?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let applied = tokio::task::block_in_place(|| harness.run_pending_migrations(migrations).map(|v| v.len()))
        .map_err(|e| anyhow::anyhow!("running migrations: {e}"))?;
    let mut conn = harness.into_inner();
    // The shared job tables (runtime-owned), after the service's own.
    let shared = crate::jobs::apply_schema(&mut conn).await;
    diesel::sql_query("SELECT pg_advisory_unlock(7201865)").execute(&mut conn).await?;
    shared.context("creating the job tables")?;
    if applied > 0 {
        tracing::info!(database = database_name(url).unwrap_or("?"), applied, "applied migrations");
    }
    Ok(())
}

/// A connection pool for the URL.
///
/// A connection is checked when it leaves the pool without a round trip:
/// one PostgreSQL or the network closed (a restart, a failover, a proxy
/// cut) is seen closed and replaced. The default check, a `SELECT 1` per
/// checkout, was two of the four round trips of a message send.
pub async fn pool(url: &str, size: u32) -> anyhow::Result<Pool> {
    use diesel_async::pooled_connection::{ManagerConfig, PoolableConnection, RecyclingMethod};
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    config.recycling_method = RecyclingMethod::CustomFunction(Box::new(|conn| {
        let closed = conn.is_broken();
        Box::pin(async move {
            if closed {
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::ClosedConnection,
                    Box::new("the connection is closed".to_owned()),
                ))
            } else {
                Ok(())
            }
        })
    }));
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    bb8::Pool::builder()
        .max_size(size.max(1))
        .connection_timeout(std::time::Duration::from_secs(10))
        .build(manager)
        .await
        .with_context(|| format!("connecting pool to {}", redact(url)))
}

/// Creates, migrates and pools a service's database: what every service
/// does first.
pub async fn prepare(url: &str, migrations: EmbeddedMigrations, size: u32) -> anyhow::Result<Pool> {
    ensure_database(url).await?;
    migrate(url, migrations).await?;
    pool(url, size).await
}

/// The URL without its password, for logs.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_owned() };
    let rest = &url[scheme_end..];
    match (rest.find('@'), rest.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!("{}{}:***{}", &url[..scheme_end], &rest[..colon], &rest[at..]),
        _ => url.to_owned(),
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A fresh database for one test, cloned from `<prefix>_tpl_<service>`, a
/// template migrated once per migration set. Returns its URL; drop it with
/// [`drop_database`].
pub async fn test_database(base_url: &str, service: &str, migrations: EmbeddedMigrations) -> anyhow::Result<String> {
    let fingerprint = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let list = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&migrations).map_err(|e| anyhow::anyhow!("{e}"))?;
        for m in list {
            h.update(m.name().to_string().as_bytes());
        }
        for statement in crate::jobs::SCHEMA {
            h.update(statement.as_bytes());
        }
        format!("{:x}", h.finalize())[..10].to_owned()
    };
    let template = format!("ocomms_tpl_{service}_{fingerprint}");
    let name = format!("ocomms_t_{service}_{}", uuid::Uuid::new_v4().simple());
    let mut conn = admin_connection(base_url).await?;
    diesel::sql_query("SELECT pg_advisory_lock(7201866)").execute(&mut conn).await?;
    let result = async {
        if !exists(&mut conn, &template).await? {
            diesel::sql_query(format!("CREATE DATABASE {}", quote_ident(&template))).execute(&mut conn).await?;
            migrate(&with_database(base_url, &template), migrations).await?;
        }
        diesel::sql_query(format!("CREATE DATABASE {} TEMPLATE {}", quote_ident(&name), quote_ident(&template))).execute(&mut conn).await?;
        anyhow::Ok(())
    }
    .await;
    diesel::sql_query("SELECT pg_advisory_unlock(7201866)").execute(&mut conn).await?;
    result?;
    Ok(with_database(base_url, &name))
}

/// Drops a database, closing its remaining connections.
pub async fn drop_database(url: &str) -> anyhow::Result<()> {
    let name = database_name(url).context("no database in URL")?;
    let mut conn = admin_connection(url).await?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name))).execute(&mut conn).await?;
    Ok(())
}

/// How many rows a query counts: a small helper for `SELECT count(*) AS n`.
pub async fn count(conn: &mut AsyncPgConnection, sql: &str) -> anyhow::Result<i64> {
    let c: Count = diesel::sql_query(sql).get_result(conn).await?;
    Ok(c.n)
}

/// Raw SQL run as a prepared statement that the connection keeps (keyed by
/// its text), unlike `diesel::sql_query`, which PostgreSQL parses and plans
/// again on every call: for hot hand-written statements (a send's write
/// was planned on each call, which cost more CPU than running it).
///
/// Each `?` in the text is a bind parameter, filled by [`CachedSql::bind`]
/// calls in order (so the JSON `?` operators cannot be used; a value used
/// twice goes in a leading `WITH p AS (SELECT ?::uuid AS …)`). Rows load by
/// name (`QueryableByName`), as with `sql_query`. The text must not vary
/// with the values, or each variant is cached separately.
pub fn cached_sql(sql: &str) -> CachedSql {
    CachedSql { pieces: sql.split('?').map(str::to_owned).collect::<Vec<_>>().into() }
}

/// See [`cached_sql`].
#[derive(Debug, Clone)]
pub struct CachedSql {
    /// The text around the `?`s.
    pieces: std::sync::Arc<[String]>,
}

/// [`CachedSql`] with its next bind parameter.
#[derive(Debug, Clone)]
pub struct CachedBind<Q, V, ST> {
    query: Q,
    value: V,
    /// This parameter's position (from 1) in `pieces`: the text after it.
    index: usize,
    pieces: std::sync::Arc<[String]>,
    sql_type: std::marker::PhantomData<ST>,
}

impl CachedSql {
    pub fn bind<ST, V>(self, value: V) -> CachedBind<Self, V, ST> {
        let pieces = self.pieces.clone();
        CachedBind { query: self, value, index: 1, pieces, sql_type: std::marker::PhantomData }
    }
}

impl<Q, V, ST> CachedBind<Q, V, ST> {
    pub fn bind<ST2, V2>(self, value: V2) -> CachedBind<Self, V2, ST2> {
        let (index, pieces) = (self.index + 1, self.pieces.clone());
        CachedBind { query: self, value, index, pieces, sql_type: std::marker::PhantomData }
    }
}

// No static query id: the statement cache keys these by their SQL text.
impl diesel::query_builder::QueryId for CachedSql {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, V, ST> diesel::query_builder::QueryId for CachedBind<Q, V, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for CachedSql {
    type SqlType = diesel::sql_types::Untyped;
}

impl<Q, V, ST> diesel::query_builder::Query for CachedBind<Q, V, ST> {
    type SqlType = diesel::sql_types::Untyped;
}

/// A cached statement's text and binds so far, walked innermost first.
pub trait CachedPart {
    fn walk_part<'b>(&'b self, out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> diesel::QueryResult<()>;
    /// Whether every `?` has its value.
    fn complete(&self) -> bool;
}

impl CachedPart for CachedSql {
    fn walk_part<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> diesel::QueryResult<()> {
        out.push_sql(self.pieces.iter().next().map_or("", String::as_str));
        Ok(())
    }

    fn complete(&self) -> bool {
        self.pieces.len() == 1
    }
}

impl<Q, V, ST> CachedPart for CachedBind<Q, V, ST>
where
    Q: CachedPart,
    V: diesel::serialize::ToSql<ST, diesel::pg::Pg>,
    diesel::pg::Pg: diesel::sql_types::HasSqlType<ST>,
{
    fn walk_part<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> diesel::QueryResult<()> {
        self.query.walk_part(out.reborrow())?;
        out.push_bind_param::<ST, V>(&self.value)?;
        out.push_sql(self.pieces.get(self.index).map_or("", String::as_str));
        Ok(())
    }

    fn complete(&self) -> bool {
        self.index + 1 == self.pieces.len()
    }
}

/// A statement runs only with exactly one value per `?` (otherwise it
/// would run with its text cut short, or with a stray placeholder).
fn walk_cached<'b, P: CachedPart>(part: &'b P, out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> diesel::QueryResult<()> {
    if !part.complete() {
        return Err(diesel::result::Error::QueryBuilderError("a cached_sql statement needs exactly one bind value per `?`".into()));
    }
    part.walk_part(out)
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for CachedSql {
    fn walk_ast<'b>(&'b self, out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> diesel::QueryResult<()> {
        walk_cached(self, out)
    }
}

impl<Q, V, ST> diesel::query_builder::QueryFragment<diesel::pg::Pg> for CachedBind<Q, V, ST>
where
    Self: CachedPart,
{
    fn walk_ast<'b>(&'b self, out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> diesel::QueryResult<()> {
        walk_cached(self, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_database_names() {
        assert_eq!(with_database("postgres://u:p@h:5432/app?sslmode=disable", "x"), "postgres://u:p@h:5432/x?sslmode=disable");
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(database_name("postgres://h:1/ocomms_auth"), Some("ocomms_auth"));
        assert_eq!(database_name("postgres://h:1/"), None);
        assert_eq!(redact("postgres://me:secret@h/db"), "postgres://me:***@h/db");
    }
}
