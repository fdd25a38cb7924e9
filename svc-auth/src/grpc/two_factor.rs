//! Two-factor authentication: enable (pending until a code verifies),
//! verify, disable, and the check sign-in makes.

use ocomms_proto::auth::v1 as pb;
use ocomms_runtime::identity::token_hash;
use ocomms_runtime::ids::UserId;
use ocomms_runtime::{ErrorCode, ServiceError, ServiceResult};
use tonic::Request;

use super::AuthApi;
use crate::store::audit::{self, Entry};
use crate::store::{two_factor, users};
use crate::totp;
use ocomms_runtime::identity::caller;

/// What the second factor says about a sign-in.
pub(crate) enum SecondFactor {
    /// Not enabled, or a valid code was given.
    Passed,
    /// Enabled, and no code was given: ask for one.
    Required,
    /// Enabled, and the code was wrong: a failed attempt.
    Failed,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl AuthApi {
    fn two_factor_key(&self) -> ServiceResult<&[u8; 32]> {
        self.two_factor_key.as_ref().ok_or_else(|| {
            ServiceError::new(ErrorCode::Unavailable, "two-factor authentication is not configured on this server (TWO_FACTOR_KEY)")
        })
    }

    /// The caller's password again (to change their second factor). It
    /// spends the sign-in attempts of the lockout (seed 5.3): a stolen
    /// session cannot guess the password more often than a sign-in could.
    async fn check_own_password(&self, user: UserId, password: &str) -> ServiceResult<()> {
        let mut conn = self.conn().await?;
        let u = users::by_ids(&mut conn, &[user]).await?.pop().ok_or_else(ServiceError::unauthorized)?;
        drop(conn);
        // Counted as a sign-in attempt (seed 5.3): a stolen session cannot
        // guess the password through this door either.
        let attempt = crate::lockout::begin(&self.pool, user).await?;
        let ok = self.hasher.verify(password.to_owned(), Some(u.password_hash.clone())).await?;
        // The connection first: if none can be had, the attempt is given
        // back (its drop) rather than counted with no outcome written.
        let mut conn = self.conn().await?;
        if ok {
            return attempt.succeed(&mut conn).await;
        }
        if let Some((until, lockout_count)) = attempt.fail(&mut conn).await? {
            self.account_locked(&mut conn, &u, until, lockout_count, None, None).await;
        }
        Err(ServiceError::validation("password", "is not your current password"))
    }

    pub(crate) async fn enable_two_factor(&self, req: Request<pb::EnableTwoFactorRequest>) -> ServiceResult<pb::EnableTwoFactorResponse> {
        let caller = caller(&req)?;
        let key = self.two_factor_key()?;
        self.check_own_password(caller.user_id, &req.get_ref().password).await?;
        let secret = totp::new_secret();
        let codes = totp::new_backup_codes();
        let hashes: Vec<String> = codes.iter().map(|c| token_hash(c)).collect();
        let sealed = totp::seal(key, &secret).ok_or_else(|| ServiceError::internal(anyhow::anyhow!("sealing a TOTP secret failed")))?;
        let mut conn = self.conn().await?;
        if two_factor::begin(&mut conn, caller.user_id, &sealed, &hashes).await? == 0 {
            return Err(ServiceError::conflict("two-factor authentication is already on; disable it first"));
        }
        audit::record(
            &mut conn,
            Entry {
                workspace_id: None,
                user_id: Some(caller.user_id),
                action: "2fa_setup_started",
                ip_address: None,
                user_agent: None,
                details: serde_json::json!({}),
            },
        )
        .await;
        let b32 = totp::base32(&secret);
        let label = format!("OComms:{}", caller.email).replace(' ', "%20").replace('@', "%40");
        Ok(pb::EnableTwoFactorResponse {
            otpauth_url: format!("otpauth://totp/{label}?secret={b32}&issuer=OComms&algorithm=SHA1&digits=6&period=30"),
            secret: b32,
            backup_codes: codes,
        })
    }

    pub(crate) async fn verify_two_factor(&self, req: Request<pb::VerifyTwoFactorRequest>) -> ServiceResult<pb::VerifyTwoFactorResponse> {
        let caller = caller(&req)?;
        let key = self.two_factor_key()?;
        let mut conn = self.conn().await?;
        let tf = two_factor::get(&mut conn, caller.user_id)
            .await?
            .ok_or_else(|| ServiceError::validation("code", "two-factor setup was not started"))?;
        let secret = totp::open(key, &tf.secret_encrypted)
            .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("TOTP secret does not open with TWO_FACTOR_KEY")))?;
        let last = u64::try_from(tf.last_used_step).unwrap_or(0);
        let step = totp::verify(&secret, &req.get_ref().code, now_unix(), last)
            .ok_or_else(|| ServiceError::validation("code", "is not a valid current code"))?;
        two_factor::used_step(&mut conn, caller.user_id, i64::try_from(step).unwrap_or(i64::MAX)).await?;
        if !tf.enabled {
            audit::record(
                &mut conn,
                Entry {
                    workspace_id: None,
                    user_id: Some(caller.user_id),
                    action: "2fa_enabled",
                    ip_address: None,
                    user_agent: None,
                    details: serde_json::json!({}),
                },
            )
            .await;
        }
        Ok(pb::VerifyTwoFactorResponse { enabled: true })
    }

    pub(crate) async fn disable_two_factor(
        &self,
        req: Request<pb::DisableTwoFactorRequest>,
    ) -> ServiceResult<pb::DisableTwoFactorResponse> {
        let caller = caller(&req)?;
        self.check_own_password(caller.user_id, &req.get_ref().password).await?;
        let mut conn = self.conn().await?;
        if two_factor::delete(&mut conn, caller.user_id).await? == 0 {
            return Err(ServiceError::validation("password", "two-factor authentication is not on"));
        }
        audit::record(
            &mut conn,
            Entry {
                workspace_id: None,
                user_id: Some(caller.user_id),
                action: "2fa_disabled",
                ip_address: None,
                user_agent: None,
                details: serde_json::json!({}),
            },
        )
        .await;
        Ok(pb::DisableTwoFactorResponse {})
    }

    /// The second factor of a sign-in whose password was right.
    pub(crate) async fn second_factor(&self, user: UserId, code: Option<&str>) -> ServiceResult<SecondFactor> {
        let mut conn = self.conn().await?;
        let Some(tf) = two_factor::get(&mut conn, user).await?.filter(|t| t.enabled) else { return Ok(SecondFactor::Passed) };
        let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else { return Ok(SecondFactor::Required) };
        let key = self.two_factor_key()?;
        let secret = totp::open(key, &tf.secret_encrypted)
            .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("TOTP secret does not open with TWO_FACTOR_KEY")))?;
        if let Some(step) = totp::verify(&secret, code, now_unix(), u64::try_from(tf.last_used_step).unwrap_or(0))
            && two_factor::used_step(&mut conn, user, i64::try_from(step).unwrap_or(i64::MAX)).await? == 1
        {
            return Ok(SecondFactor::Passed);
        }
        if two_factor::use_backup(&mut conn, user, &token_hash(&totp::normalize_backup_code(code))).await? {
            audit::record(
                &mut conn,
                Entry {
                    workspace_id: None,
                    user_id: Some(user),
                    action: "2fa_backup_code_used",
                    ip_address: None,
                    user_agent: None,
                    details: serde_json::json!({}),
                },
            )
            .await;
            return Ok(SecondFactor::Passed);
        }
        Ok(SecondFactor::Failed)
    }
}
