//! Email delivery. Without `SMTP_HOST` (the fallback of seed 6.2) emails are
//! written to the log so that a laptop setup still shows the links people
//! would receive; that is the only place such links are ever logged.

use ocomms_runtime::{ServiceError, ServiceResult};

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum Mailer {
    Log,
}

impl Mailer {
    pub fn from_config(smtp_host: Option<&str>) -> anyhow::Result<Self> {
        match smtp_host {
            None => Ok(Self::Log),
            Some(h) => anyhow::bail!("SMTP_HOST={h:?}: SMTP delivery is not available in this build yet; unset it to log emails instead"),
        }
    }

    pub async fn send(&self, to: &str, subject: &str, body: &str) -> ServiceResult<&'static str> {
        if !to.contains('@') || to.len() > 254 || to.contains(['\r', '\n']) || subject.contains(['\r', '\n']) {
            return Err(ServiceError::validation("to", "must be one email address"));
        }
        match self {
            Self::Log => {
                tracing::warn!(to, subject, body, "email not sent (no SMTP_HOST configured); logged instead");
                Ok("log")
            }
        }
    }
}
