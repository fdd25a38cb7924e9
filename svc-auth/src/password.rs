//! Password hashing with argon2id on a small pool of dedicated threads.
//!
//! A hash costs tens of milliseconds of CPU and 19 MiB of memory by design.
//! On tokio's blocking pool (up to 512 threads) a burst of sign-ups grew the
//! process by hundreds of megabytes that stayed in per-thread allocator
//! arenas. Here a fixed number of threads (about one per core) each keep
//! one argon2 buffer for their whole life, fed by a bounded queue: when the
//! queue is full the request is refused at once with `SERVICE_UNAVAILABLE`
//! and `{"retryAfter": 1}` (the gateway turns it into `Retry-After`), so
//! memory and latency stay bounded whatever the load.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use ocomms_runtime::{ErrorCode, ServiceError, ServiceResult};

/// Queued jobs when `PASSWORD_HASH_QUEUE` is not set.
pub const DEFAULT_QUEUE: usize = 64;

/// What a worker thread owns: the argon2 memory, reused by every job.
pub struct Scratch {
    blocks: Vec<Block>,
}

type Job = Box<dyn FnOnce(&mut Scratch) + Send>;

/// The hashing pool: cheap to clone; its threads end when the last clone
/// is dropped.
#[derive(Clone)]
pub struct Hasher {
    queue: SyncSender<Job>,
}

impl Hasher {
    /// `threads` workers (0: one per available core) behind a queue of
    /// `queue` waiting jobs (at least 1).
    pub fn new(threads: usize, queue: usize) -> std::io::Result<Self> {
        let threads = if threads == 0 { std::thread::available_parallelism().map(usize::from).unwrap_or(1) } else { threads };
        let (tx, rx) = sync_channel::<Job>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || work(&rx))?;
        }
        Ok(Self { queue: tx })
    }

    /// An argon2id PHC string for `password`, with a fresh salt.
    pub async fn hash(&self, password: String) -> ServiceResult<String> {
        self.run(move |s| hash_with(s, &password)).await?
    }

    /// Whether `password` matches `stored`. `None` for `stored` (no such user)
    /// still spends the same work against a dummy hash, so that answers take
    /// about as long whether or not the email exists.
    pub async fn verify(&self, password: String, stored: Option<String>) -> ServiceResult<bool> {
        self.run(move |s| {
            let (hash, real) = match &stored {
                Some(h) => (h.as_str(), true),
                None => (dummy_hash(s), false),
            };
            Ok(verify_with(s, &password, hash)? && real)
        })
        .await?
    }

    /// Runs `f` on a worker, or answers SERVICE_UNAVAILABLE at once when
    /// the queue is full.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce(&mut Scratch) -> T + Send + 'static) -> ServiceResult<T> {
        let answer = self.submit(f)?;
        answer.await.map_err(|_| ServiceError::internal(anyhow::anyhow!("password hashing job failed")))
    }

    /// Queues `f` without waiting: its answer, or SERVICE_UNAVAILABLE with
    /// `{"retryAfter": 1}` when the queue is full.
    pub fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Scratch) -> T + Send + 'static,
    ) -> ServiceResult<tokio::sync::oneshot::Receiver<T>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |s| {
            // The caller went away while the job waited: skip the work.
            if !tx.is_closed() {
                let _ = tx.send(f(s));
            }
        });
        match self.queue.try_send(job) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => {
                tracing::warn!("password hashing queue full: request refused");
                Err(ServiceError::new(ErrorCode::Unavailable, "too many password checks at once, try again shortly")
                    .with_details(serde_json::json!({ "retryAfter": 1 })))
            }
            Err(TrySendError::Disconnected(_)) => Err(ServiceError::internal(anyhow::anyhow!("password hashing threads are gone"))),
        }
    }
}

fn work(rx: &Mutex<Receiver<Job>>) {
    let mut scratch = Scratch { blocks: Vec::new() };
    loop {
        // One idle worker waits on the queue, the others on the lock.
        let next = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = next else { return };
        // A panicking job drops its answer (the caller gets an internal
        // error); the thread stays.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut scratch))).is_err() {
            tracing::error!("password hashing job panicked");
        }
    }
}

fn argon_error(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::internal(anyhow::anyhow!("argon2: {e}"))
}

/// Hashes into `out` with the thread's memory, grown to what `params` need.
fn fill(s: &mut Scratch, argon: &Argon2<'_>, params: &Params, password: &str, salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    let need = params.block_count();
    if s.blocks.len() < need {
        s.blocks.resize(need, Block::default());
    }
    argon.hash_password_into_with_memory(password.as_bytes(), salt, out, &mut s.blocks[..need])
}

/// What `Argon2::default().hash_password` gives, without a fresh 19 MiB
/// allocation per call.
fn hash_with(s: &mut Scratch, password: &str) -> ServiceResult<String> {
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf).map_err(argon_error)?;
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let output =
        Output::init_with(len, |out| fill(s, &argon, &params, password, salt_bytes, out).map_err(Into::into)).map_err(argon_error)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(argon_error)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// What `Argon2::default().verify_password` answers (the parameters come
/// from the stored hash; outputs compared in constant time).
fn verify_with(s: &mut Scratch, password: &str, stored: &str) -> ServiceResult<bool> {
    let parsed = PasswordHash::new(stored).map_err(|e| ServiceError::internal(anyhow::anyhow!("stored hash: {e}")))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(ServiceError::internal(anyhow::anyhow!("stored hash without salt or output")));
    };
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(argon_error)?;
    let version = parsed.version.map(Version::try_from).transpose().map_err(argon_error)?.unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(argon_error)?;
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(argon_error)?;
    let computed = Output::init_with(expected.len(), |out| fill(s, &argon, &params, password, salt_bytes, out).map_err(Into::into))
        .map_err(argon_error)?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

fn dummy_hash(s: &mut Scratch) -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_with(s, "dummy password for timing").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let pool = Hasher::new(2, 8).expect("pool");
        let a = pool.hash("correct horse battery".into()).await.expect("hash");
        let b = pool.hash("correct horse battery".into()).await.expect("hash");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert!(pool.verify("correct horse battery".into(), Some(a.clone())).await.expect("verify"));
        assert!(!pool.verify("wrong horse battery".into(), Some(a.clone())).await.expect("verify"));
        assert!(!pool.verify("dummy password for timing".into(), None).await.expect("verify"));
        // Interchangeable with the argon2 crate's own PHC hashing (hashes
        // stored before the pool existed keep working, and back).
        let ours = PasswordHash::new(&a).expect("phc");
        assert!(Argon2::default().verify_password(b"correct horse battery", &ours).is_ok());
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let theirs = argon2::PasswordHasher::hash_password(&Argon2::default(), b"older password 1", &salt).expect("hash").to_string();
        assert!(pool.verify("older password 1".into(), Some(theirs.clone())).await.expect("verify"));
        assert!(!pool.verify("older password 2".into(), Some(theirs)).await.expect("verify"));
    }

    #[tokio::test]
    async fn a_full_queue_answers_unavailable_at_once() {
        // One worker and one waiting place: hold the worker, fill the place,
        // and the next job is refused without waiting.
        let pool = Hasher::new(1, 1).expect("pool");
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let busy = pool
            .submit(move |_| {
                let _ = started_tx.send(());
                let _ = release_rx.recv();
            })
            .expect("the first job is taken");
        tokio::task::spawn_blocking(move || started_rx.recv()).await.expect("join").expect("the worker runs the first job");
        let queued = pool.submit(|s| hash_with(s, "correct horse battery")).expect("the second job waits");
        let refused = pool.verify("correct horse battery".into(), None).await.expect_err("no room left");
        assert_eq!(refused.code, ErrorCode::Unavailable);
        assert_eq!(refused.code.http_status(), 503);
        assert_eq!(refused.details, Some(serde_json::json!({ "retryAfter": 1 })));
        release_tx.send(()).expect("release");
        busy.await.expect("the first job ends");
        assert!(queued.await.expect("the queued job ran").expect("hash").starts_with("$argon2id$"));
        assert!(pool.verify("x".into(), None).await.is_ok(), "room again once the worker is free");
    }
}
