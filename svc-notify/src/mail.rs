//! Email delivery: SMTP through `lettre` when `SMTP_HOST` is set (STARTTLS
//! whenever the server offers it, credentials when given), a text and an
//! HTML part. Without `SMTP_HOST` (the fallback of seed 6.2) emails are
//! written to the log so that a laptop setup still shows what people would
//! receive (reset tokens redacted).

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use ocomms_runtime::{ServiceError, ServiceResult};

use crate::config::SmtpConfig;

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    Log,
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, from: Mailbox },
}

impl Mailer {
    /// SMTP when a host is configured; a bad address in `SMTP_FROM` stops the start.
    pub fn from_config(smtp: Option<&SmtpConfig>) -> anyhow::Result<Self> {
        let Some(c) = smtp else { return Ok(Self::Log) };
        let from: Mailbox = c.from.parse().map_err(|e| anyhow::anyhow!("SMTP_FROM={:?} is not an address: {e}", c.from))?;
        let tls = TlsParameters::new(c.host.clone()).map_err(|e| anyhow::anyhow!("SMTP_HOST={:?}: {e}", c.host))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host)
            .port(c.port)
            .tls(Tls::Opportunistic(tls))
            .timeout(Some(std::time::Duration::from_secs(15)));
        if let (Some(user), Some(pass)) = (&c.user, &c.pass) {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        Ok(Self::Smtp { transport: builder.build(), from })
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
            Self::Smtp { transport, from } => {
                let to: Mailbox = to.parse().map_err(|_| ServiceError::validation("to", "must be one email address"))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(subject)
                    .multipart(MultiPart::alternative_plain_html(body.to_owned(), html(body)))
                    .map_err(ServiceError::internal)?;
                transport.send(message).await.map_err(|e| {
                    // The server refused or is away: worth trying again later.
                    ServiceError::unavailable(anyhow::anyhow!("sending email over SMTP: {e}"))
                })?;
                Ok("smtp")
            }
        }
    }
}

/// The text as HTML: escaped, paragraphs and line breaks kept, links made
/// clickable.
fn html(text: &str) -> String {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let mut out = String::from("<!doctype html><html><body style=\"font-family:sans-serif\">");
    for para in text.split("\n\n") {
        out.push_str("<p>");
        let lines: Vec<String> = para
            .lines()
            .map(|line| {
                line.split(' ')
                    .map(|w| {
                        if w.starts_with("https://") || w.starts_with("http://") {
                            format!("<a href=\"{0}\">{0}</a>", escape(w))
                        } else {
                            escape(w)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        out.push_str(&lines.join("<br>"));
        out.push_str("</p>");
    }
    out.push_str("</body></html>");
    out
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

    #[test]
    fn html_is_escaped_and_links_clickable() {
        let h = super::html("Hi <b>you</b>\nreset: https://x.example/r?token=a&b=1\n\nbye");
        assert!(h.contains("Hi &lt;b&gt;you&lt;/b&gt;<br>reset: <a href=\"https://x.example/r?token=a&amp;b=1\">"));
        assert!(h.contains("<p>bye</p>"));
    }
}
