//! svc-files configuration: the shared variables of `ocomms_runtime::service`
//! (`FILES_DATABASE_URL`, `FILES_GRPC_ADDR`, …) and its own.

use ocomms_runtime::config::Env;
use ocomms_runtime::service::ServiceConfig;

/// S3 storage (`S3_BUCKET` set).
#[derive(Debug, Clone)]
pub struct S3Config {
    pub bucket: String,
    /// `S3_ENDPOINT`: an S3-compatible server (MinIO, SeaweedFS, …); unset: AWS.
    pub endpoint: Option<String>,
    /// `S3_REGION` (default `us-east-1`).
    pub region: String,
    /// `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`: static credentials.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// `S3_FORCE_PATH_STYLE`: `endpoint/bucket/key` addressing (most
    /// S3-compatible servers need it).
    pub force_path_style: bool,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub common: ServiceConfig,
    /// `STORAGE_QUOTA_BYTES`: per-user storage quota (default 1 GiB).
    pub quota_bytes: i64,
    /// S3 when `S3_BUCKET` is set; otherwise files go to `UPLOAD_DIR`.
    pub s3: Option<S3Config>,
    /// `UPLOAD_DIR`: the local directory used without S3 (default `./data/uploads`).
    pub upload_dir: String,
    /// `FILE_CLEANUP_AFTER_SECS`: uploads never attached, and files of
    /// deleted messages, are removed this long after (default 7 days).
    pub cleanup_after_secs: i64,
    /// `MESSAGING_GRPC_URL`: svc-messaging, asked who may see a message.
    pub messaging_url: String,
    /// `LINK_PREVIEW_ALLOWED_HOSTS`: hosts fetched for link previews even
    /// though they resolve to private or special addresses (comma-separated;
    /// empty by default: for tests and closed networks only). Such a host
    /// may also use any port.
    pub preview_allowed_hosts: Vec<String>,
}

impl Config {
    pub fn from_env(env: &mut Env) -> Self {
        let quota_bytes: i64 = env.parse("STORAGE_QUOTA_BYTES", 1 << 30);
        if quota_bytes <= 0 {
            env.invalid("STORAGE_QUOTA_BYTES", "must be positive");
        }
        let cleanup_after_secs: i64 = env.parse("FILE_CLEANUP_AFTER_SECS", 7 * 86_400);
        if cleanup_after_secs < 0 {
            env.invalid("FILE_CLEANUP_AFTER_SECS", "must not be negative");
        }
        let bucket = env.opt_string("S3_BUCKET");
        let endpoint = env.opt_string("S3_ENDPOINT");
        let region = env.string("S3_REGION", "us-east-1");
        let access_key_id = env.opt_string("S3_ACCESS_KEY_ID");
        let secret_access_key = env.opt_string("S3_SECRET_ACCESS_KEY");
        let force_path_style = env.flag("S3_FORCE_PATH_STYLE", false);
        if access_key_id.is_some() != secret_access_key.is_some() {
            env.invalid("S3_ACCESS_KEY_ID", "set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither");
        }
        Self {
            common: ServiceConfig::from_env(env, "files"),
            quota_bytes,
            s3: bucket.map(|bucket| S3Config { bucket, endpoint, region, access_key_id, secret_access_key, force_path_style }),
            upload_dir: env.string("UPLOAD_DIR", "./data/uploads"),
            cleanup_after_secs,
            messaging_url: env.string("MESSAGING_GRPC_URL", "http://127.0.0.1:50052"),
            preview_allowed_hosts: env
                .opt_string("LINK_PREVIEW_ALLOWED_HOSTS")
                .map(|v| v.split(',').map(|h| h.trim().to_owned()).filter(|h| !h.is_empty()).collect())
                .unwrap_or_default(),
        }
    }
}
