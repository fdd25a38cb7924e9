//! Notification settings (per channel, email), and their GDPR export.

use ocomms_domain::ChannelId;
use ocomms_proto::notify::v1 as pb;
use ocomms_runtime::ids::{self, UserId};
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;

use super::NotifyApi;
use crate::domain::{self, Level};
use crate::{convert, store};
use ocomms_runtime::identity::caller;

impl NotifyApi {
    /// The user's settings for the channel (everything, unmuted, until changed).
    async fn settings_of(&self, user: UserId, channel: ChannelId) -> ServiceResult<pb::ChannelSettings> {
        let mut conn = self.conn().await?;
        Ok(match store::settings::channel(&mut conn, user, channel).await? {
            Some(row) => convert::channel_settings(row),
            None => pb::ChannelSettings { channel_id: channel.to_string(), level: Level::All.as_str().to_owned(), muted: false },
        })
    }

    pub(crate) async fn get_channel_settings(&self, req: Request<pb::GetChannelSettingsRequest>) -> ServiceResult<pb::ChannelSettings> {
        let p = caller(&req)?;
        let channel = crate::policy::visible_channel(&self.identity, &self.messaging, req.metadata(), &req.get_ref().channel_id).await?;
        self.settings_of(p.user_id, channel).await
    }

    pub(crate) async fn set_channel_settings(&self, req: Request<pb::SetChannelSettingsRequest>) -> ServiceResult<pb::ChannelSettings> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let level = r.level.as_deref().map(Level::from_request).transpose()?;
        let channel = crate::policy::visible_channel(&self.identity, &self.messaging, req.metadata(), &r.channel_id).await?;
        // What is not given stays as stored (everything, unmuted, until changed).
        let mut conn = self.conn().await?;
        let current = store::settings::channel(&mut conn, p.user_id, channel).await?;
        let level = level.or(current.as_ref().map(|c| c.level)).unwrap_or(Level::All);
        let muted = r.muted.or(current.map(|c| c.muted)).unwrap_or(false);
        store::settings::set_channel(&mut conn, p.user_id, channel, level, muted).await?;
        Ok(pb::ChannelSettings { channel_id: channel.to_string(), level: level.as_str().to_owned(), muted })
    }

    pub(crate) async fn get_email_settings(&self, req: Request<pb::GetEmailSettingsRequest>) -> ServiceResult<pb::EmailSettings> {
        let p = caller(&req)?;
        let mut conn = self.conn().await?;
        let minutes = store::settings::email_minutes(&mut conn, p.user_id).await?;
        Ok(pb::EmailSettings { digest_minutes: u32::try_from(minutes).unwrap_or_default() })
    }

    pub(crate) async fn set_email_settings(&self, req: Request<pb::SetEmailSettingsRequest>) -> ServiceResult<pb::EmailSettings> {
        let p = caller(&req)?;
        let minutes = domain::digest_minutes(req.get_ref().digest_minutes)?;
        let mut conn = self.conn().await?;
        store::settings::set_email_minutes(&mut conn, p.user_id, minutes).await?;
        Ok(pb::EmailSettings { digest_minutes: minutes })
    }

    /// GDPR export (seed 3.1): the member's settings for the workspace's
    /// channels they can see, and their email setting.
    pub(crate) async fn export_settings(&self, req: Request<pb::ExportUserRequest>) -> ServiceResult<pb::SettingsExport> {
        let r = req.get_ref();
        let me = caller(&req)?;
        let (ws, user) = ocomms_domain::membership::may_export(&self.identity, req.metadata(), &me, &r.workspace_id, &r.user_id).await?;
        // The workspace's channels as the member sees them (asked on their behalf).
        let list = ocomms_runtime::identity::service_request(
            &self.service_token,
            user,
            ocomms_proto::messaging::v1::ListChannelsRequest { workspace_id: ws.to_string() },
        );
        let channels: Vec<ChannelId> = match self.messaging.clone().list_channels(list).await {
            Ok(l) => l.into_inner().channels.iter().filter_map(|c| ids::parse("channelId", &c.id).ok()).collect(),
            Err(s) if s.code() == tonic::Code::NotFound => Vec::new(),
            Err(s) => return Err(ServiceError::from(s)),
        };
        let mut conn = self.conn().await?;
        let rows = store::settings::channels(&mut conn, user, &channels).await?;
        let minutes = store::settings::email_minutes(&mut conn, user).await?;
        Ok(pb::SettingsExport {
            channels: rows.into_iter().map(convert::channel_settings).collect(),
            email: Some(pb::EmailSettings { digest_minutes: u32::try_from(minutes).unwrap_or_default() }),
        })
    }
}
