//! Password reset: a single-use, expiring token, stored hashed, delivered by
//! email; using it voids the user's other reset tokens, ends every session
//! and enters password history.

use chrono::{Duration, Utc};
use diesel_async::AsyncConnection;
use ocomms_proto::auth::v1 as pb;
use ocomms_runtime::events::{Event, SESSION_REVOKED};
use ocomms_runtime::identity::token_hash;
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;

use super::AuthApi;
use crate::domain;
use crate::store::audit::{self, Entry};
use crate::store::{sessions, users};

/// How long a reset link works.
pub const RESET_MINUTES: i64 = 60;
/// A new password may not be any of the last this many.
pub const HISTORY: i64 = 5;

impl AuthApi {
    pub(crate) async fn forget_password(&self, req: Request<pb::ForgetPasswordRequest>) -> ServiceResult<pb::ForgetPasswordResponse> {
        let origin = self.origin(&req, req.get_ref().ip_address.as_deref(), req.get_ref().user_agent.as_deref());
        let r = req.into_inner();
        // A malformed address is refused (it names no account either way);
        // a well-formed one gets the same answer whether or not it has one.
        let email = domain::normalize_email(&r.email)?;
        // The work happens after the answer, so that answer and timing are
        // the same whether or not the account exists.
        let pool = self.pool.clone();
        let me = self.clone_for_background();
        tokio::spawn(async move {
            let result = async {
                let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
                let Some(user) = users::by_email(&mut conn, &email).await? else { return anyhow::Ok(()) };
                let token = domain::new_token();
                users::insert_reset(&mut conn, user.id, &token_hash(&token), Utc::now() + Duration::minutes(RESET_MINUTES)).await?;
                audit::record(
                    &mut conn,
                    Entry {
                        workspace_id: None,
                        user_id: Some(user.id),
                        action: "password_reset_requested",
                        ip_address: origin.ip.as_deref(),
                        user_agent: origin.user_agent.as_deref(),
                        details: serde_json::json!({}),
                    },
                )
                .await;
                me.email(
                    user.id,
                    user.email.clone(),
                    "Reset your OComms password".into(),
                    format!(
                        "Someone asked to reset the password of this account. To choose a new one, open:\n{}/reset-password?token={token}\nThe link works once, for {RESET_MINUTES} minutes. If it was not you, ignore this email.",
                        me.public_url
                    ),
                );
                Ok(())
            }
            .await;
            if let Err(e) = result {
                tracing::error!(error = format!("{e:#}"), "password reset request failed");
            }
        });
        Ok(pb::ForgetPasswordResponse {})
    }

    pub(crate) async fn reset_password(&self, req: Request<pb::ResetPasswordRequest>) -> ServiceResult<pb::ResetPasswordResponse> {
        let origin = self.origin(&req, req.get_ref().ip_address.as_deref(), req.get_ref().user_agent.as_deref());
        let r = req.into_inner();
        let token = r.token.trim();
        if token.is_empty() {
            return Err(ServiceError::validation("token", "is required"));
        }
        let invalid = || ServiceError::validation("token", "this reset link is invalid or has expired");
        let hash = token_hash(token);
        let mut conn = self.conn().await?;
        // Check the token before any expensive work, without spending it.
        let user_id = users::pending_reset(&mut conn, &hash).await?.ok_or_else(invalid)?;
        let user = users::by_ids(&mut conn, &[user_id]).await?.pop().ok_or_else(invalid)?;
        domain::check_password("newPassword", &r.new_password, &user.email.to_lowercase())?;
        for old in users::recent_password_hashes(&mut conn, user.id, HISTORY).await? {
            if self.hasher.verify(r.new_password.clone(), Some(old)).await? {
                return Err(ServiceError::validation("newPassword", format!("must differ from your last {HISTORY} passwords")));
            }
        }
        let new_hash = self.hasher.hash(r.new_password).await?;
        let revoked = conn
            .transaction::<_, ServiceError, _>(async move |conn| {
                // One reset of a user at a time: a concurrent one with another
                // of their tokens finds it voided by this one.
                users::lock(conn, user_id).await?;
                // Spend it now: a concurrent reset with the same token loses.
                let spent = users::take_reset(conn, &hash).await?.ok_or_else(invalid)?;
                // Every other link sent to this user stops working too.
                let voided = users::void_resets(conn, spent).await?;
                users::set_password(conn, spent, &new_hash).await?;
                users::add_password_history(conn, spent, &new_hash).await?;
                users::clear_lockout(conn, spent).await?;
                let revoked = sessions::delete_for_user(conn, spent, None, None).await?;
                audit::record(
                    conn,
                    Entry {
                        workspace_id: None,
                        user_id: Some(spent),
                        action: "password_reset",
                        ip_address: origin.ip.as_deref(),
                        user_agent: origin.user_agent.as_deref(),
                        details: serde_json::json!({ "sessionsEnded": revoked.len(), "otherResetsVoided": voided }),
                    },
                )
                .await;
                Ok(revoked)
            })
            .await?;
        if !revoked.is_empty() {
            self.bus
                .publish(Event::internal_of(
                    SESSION_REVOKED,
                    &pb::SessionsRevokedEvent { session_ids: revoked.iter().map(ToString::to_string).collect() },
                ))
                .await;
        }
        Ok(pb::ResetPasswordResponse {})
    }
}
