//! svc-files configuration: the shared variables of `ocomms_runtime::service`
//! (`FILES_DATABASE_URL`, `FILES_GRPC_ADDR`, …) and its own.

use ocomms_runtime::config::Env;
use ocomms_runtime::service::ServiceConfig;

#[derive(Debug, Clone)]
pub struct Config {
    pub common: ServiceConfig,
    /// `STORAGE_QUOTA_BYTES`: per-user storage quota (default 1 GiB).
    pub quota_bytes: i64,
    /// `S3_BUCKET`: when set, files go to S3; otherwise to `UPLOAD_DIR`.
    pub s3_bucket: Option<String>,
    /// `UPLOAD_DIR`: the local directory used without S3 (default `./data/uploads`).
    pub upload_dir: String,
}

impl Config {
    pub fn from_env(env: &mut Env) -> Self {
        let quota_bytes: i64 = env.parse("STORAGE_QUOTA_BYTES", 1 << 30);
        if quota_bytes <= 0 {
            env.invalid("STORAGE_QUOTA_BYTES", "must be positive");
        }
        Self {
            common: ServiceConfig::from_env(env, "files"),
            quota_bytes,
            s3_bucket: env.opt_string("S3_BUCKET"),
            upload_dir: env.string("UPLOAD_DIR", "./data/uploads"),
        }
    }
}
