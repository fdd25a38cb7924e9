//! `ocomms.notify.v1.NotifyService`: decode, resolve the caller, check the
//! request (`domain`), call the store, encode (`convert`). One file per area.

mod notification_ops;
mod push_ops;
mod settings_ops;

use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use ocomms_proto::notify::v1 as pb;
use ocomms_runtime::db::{Conn, Pool};
use ocomms_runtime::events::Bus;
use ocomms_runtime::identity::Identity;
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;
use tonic::transport::Channel;

pub struct NotifyApi {
    pub pool: Pool,
    pub identity: Identity,
    pub bus: Bus,
    pub mailer: crate::mail::Mailer,
    pub service_token: String,
    pub messaging: MessagingServiceClient<Channel>,
    pub pusher: crate::push::Pusher,
}

impl NotifyApi {
    async fn conn(&self) -> ServiceResult<Conn<'_>> {
        Ok(self.pool.get().await?)
    }

    pub(crate) async fn send_email(&self, req: Request<pb::SendEmailRequest>) -> ServiceResult<pb::SendEmailResponse> {
        // Only services (with the shared credential) send email.
        if ocomms_runtime::identity::service_principal(req.metadata(), &self.service_token)?.is_none() {
            return Err(ServiceError::forbidden("internal call"));
        }
        let r = req.get_ref();
        let by = self.mailer.send(&r.to, &r.subject, &r.body).await?;
        Ok(pb::SendEmailResponse { delivered_by: by.to_owned() })
    }
}

impl ocomms_runtime::identity::ServesCallers for NotifyApi {
    fn callers(&self) -> &dyn ocomms_runtime::identity::Callers {
        &self.identity
    }
}

ocomms_runtime::grpc_service!(pb::notify_service_server::NotifyService, NotifyApi, {
    send_email(pb::SendEmailRequest) -> pb::SendEmailResponse;
    get_channel_settings(pb::GetChannelSettingsRequest) -> pb::ChannelSettings;
    set_channel_settings(pb::SetChannelSettingsRequest) -> pb::ChannelSettings;
    list_notifications(pb::ListNotificationsRequest) -> pb::ListNotificationsResponse;
    mark_notification_read(pb::MarkNotificationReadRequest) -> pb::Notification;
    mark_all_notifications_read(pb::MarkAllNotificationsReadRequest) -> pb::MarkAllNotificationsReadResponse;
    get_vapid_public_key(pb::GetVapidPublicKeyRequest) -> pb::VapidPublicKey;
    get_email_settings(pb::GetEmailSettingsRequest) -> pb::EmailSettings;
    set_email_settings(pb::SetEmailSettingsRequest) -> pb::EmailSettings;
    export_settings(pb::ExportUserRequest) -> pb::SettingsExport;
    subscribe(pb::PushSubscribeRequest) -> pb::PushSubscribeResponse;
    unsubscribe(pb::PushUnsubscribeRequest) -> pb::PushSubscribeResponse;
});
