//! The seed's lockout (5.3) as it runs against the database: each sign-in
//! attempt (and each check of one's own password) takes a numbered place
//! before the password is checked, waits the delay the failures so far
//! call for, and is then spent as a success (the count clears) or a
//! failure (the count stays; the attempt that reaches the limit sets the
//! lock). The rules themselves (delays, limits, lock lengths) are
//! `domain.rs`'s.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use ocomms_runtime::db::Pool;
use ocomms_runtime::ids::UserId;
use ocomms_runtime::time::rfc3339;
use ocomms_runtime::{ErrorCode, ServiceError, ServiceResult};

use crate::domain::{self, FailureOutcome};
use crate::store::users::{self, Lockout};

/// A sign-in attempt counted before the password is checked: unless spent
/// (the check answered), it is given back when dropped, so that an error,
/// a second factor asked for, or a caller gone away holds no place.
pub(crate) struct Attempt {
    pool: Pool,
    user: UserId,
    spent: bool,
    /// Failures counted before this attempt.
    failed_before: i32,
    lockout_count: i32,
}

/// Takes one of `user`'s attempts, then waits the delay their failures so
/// far call for.
pub(crate) async fn begin(pool: &Pool, user: UserId) -> ServiceResult<Attempt> {
    let counted = reserve(pool, user).await?;
    let attempt = Attempt {
        pool: pool.clone(),
        user,
        spent: false,
        failed_before: counted.failed_attempts - 1,
        lockout_count: counted.lockout_count,
    };
    tokio::time::sleep(domain::attempt_delay(attempt.failed_before)).await;
    Ok(attempt)
}

impl Attempt {
    /// The password (and code) were right: the count clears, unless a lock
    /// was set meanwhile.
    pub(crate) async fn succeed(mut self, conn: &mut AsyncPgConnection) -> ServiceResult<()> {
        self.spent = true;
        users::clear_unless_locked(conn, self.user).await?;
        Ok(())
    }

    /// They were wrong: the failure keeps its count, and the attempt that
    /// reaches the limit sets the lock, answered as `(until, lockout_count)`.
    pub(crate) async fn fail(mut self, conn: &mut AsyncPgConnection) -> ServiceResult<Option<(DateTime<Utc>, i32)>> {
        self.spent = true;
        match domain::on_failure(self.failed_before, self.lockout_count, Utc::now()) {
            FailureOutcome::Count { .. } => Ok(None),
            FailureOutcome::Lock { until, lockout_count } => {
                users::set_lockout(conn, self.user, &Lockout { failed_attempts: 0, lockout_count, locked_until: Some(until) }).await?;
                Ok(Some((until, lockout_count)))
            }
        }
    }

    /// Gives the attempt back before answering (a second factor asked for:
    /// not a failure, the next attempt with the code takes its place).
    pub(crate) async fn give_back(mut self) {
        self.spent = true;
        release(&self.pool, self.user).await;
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if self.spent {
            return;
        }
        let (pool, user) = (self.pool.clone(), self.user);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { release(&pool, user).await });
        }
    }
}

async fn release(pool: &Pool, user: UserId) {
    let released = async {
        let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        users::release_attempt(&mut conn, user).await?;
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = released {
        tracing::warn!(%user, error = format!("{e:#}"), "giving back a sign-in attempt failed");
    }
}

/// Takes one of the account's sign-in attempts, counted before the
/// password is checked. While the account's attempts are all in flight,
/// waits for one to finish (a burst of right passwords from one user's
/// devices goes through, a few at a time), asking again every quarter
/// second or so; a lock set meanwhile answers 423, and a wait past twelve
/// seconds (longer than the seed's longest delay; with that delay and the
/// hash, still inside a gRPC call's 30 s deadline) 429 with `Retry-After`.
async fn reserve(pool: &Pool, user: UserId) -> ServiceResult<Lockout> {
    const WAIT: std::time::Duration = std::time::Duration::from_secs(12);
    let started = std::time::Instant::now();
    loop {
        let mut conn = pool.get().await?;
        if let Some(counted) = users::reserve_attempt(&mut conn, user, domain::MAX_FAILED_ATTEMPTS, domain::STALE_ATTEMPT_SECS).await? {
            return Ok(counted);
        }
        let lock = users::lockout(&mut conn, user).await?;
        drop(conn);
        if let Some(until) = lock.locked_until.filter(|u| *u > Utc::now()) {
            return Err(account_locked(until));
        }
        if started.elapsed() > WAIT {
            return Err(ServiceError::new(ErrorCode::RateLimited, "too many sign-in attempts at once; try again shortly")
                .with_details(serde_json::json!({ "retryAfter": 1 })));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200 + u64::from(rand::random::<u8>() % 100))).await;
    }
}

/// 423 with when the lock ends.
fn account_locked(until: DateTime<Utc>) -> ServiceError {
    ServiceError::new(ErrorCode::AccountLocked, "Account temporarily locked")
        .with_details(serde_json::json!({ "lockedUntil": rfc3339(until) }))
}
