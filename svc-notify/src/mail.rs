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
                // Secrets (reset links) never reach the log.
                tracing::warn!(to, subject, body = %redact_tokens(body), "email not sent (no SMTP_HOST configured); logged instead");
                Ok("log")
            }
        }
    }
}

/// Replaces the value of every `token=` in a text.
pub fn redact_tokens(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(i) = rest.find("token=") {
        out.push_str(&rest[..i + 6]);
        out.push_str("[redacted]");
        let tail = &rest[i + 6..];
        let end = tail.find(|c: char| c.is_whitespace() || c == '&').unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_redacted() {
        assert_eq!(
            super::redact_tokens("open:\nhttp://x/reset-password?token=abc_DEF-1&x=2\nbye"),
            "open:\nhttp://x/reset-password?token=[redacted]&x=2\nbye"
        );
        assert_eq!(super::redact_tokens("no secrets"), "no secrets");
    }
}
