//! The webhooks of this process: those of the config file (`config-0`, `config-1` ... in
//! file order; read-only at runtime) and those added through the API (`wh-<hex>`), each
//! with its sender task, queue, counters and dead letters.
//!
//! State files under `state_dir` (written atomically, mode 0600):
//! - `webhooks.json`: the API's webhooks, secrets included, written before the API answers.
//! - `webhook-dead-letters.json`: every webhook's dead letters, written in the background
//!   soon after each change, and at shutdown.
//!
//! A file that cannot be read is set aside as `<name>.unreadable` (logged) and the daemon
//! starts without it, so nothing in it is overwritten.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info_span, warn};

use super::dead_letter::{DeadLetter, DeadLetterQueue};
use super::delivery::{self, Sender};
use super::delivery_rate::DeliveryRate;
use super::spec::{ReplayReport, WebhookSpec, WebhookView};
use super::{WebhookSettings, WebhookStats, WebhookStatsSnapshot, redacted_url};
use crate::feed::Envelope;
use crate::feed::persist::state_file::{self, StateFileError};
use crate::limits::WEBHOOK_REPLAY_MAX;

/// The API's webhooks, in `state_dir`.
pub const WEBHOOKS_FILE: &str = "webhooks.json";
/// Every webhook's dead letters, in `state_dir`.
pub const DEAD_LETTERS_FILE: &str = "webhook-dead-letters.json";

/// One webhook's lasting state: what outlives a change of its settings.
#[derive(Debug)]
pub struct HookState {
    /// `config-<i>` or `wh-<hex>`.
    pub id: String,
    /// From `[[webhook]]` in the config file (read-only through the API).
    pub from_config: bool,
    /// Its counters.
    pub stats: Arc<WebhookStats>,
    dead: Mutex<DeadLetterQueue>,
}

impl HookState {
    /// Its dead letters (a poisoned lock is taken as is: the queue is plain data).
    pub fn dead_letters(&self) -> MutexGuard<'_, DeadLetterQueue> {
        self.dead.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

struct Target {
    state: Arc<HookState>,
    /// The API's webhooks: what `webhooks.json` keeps.
    spec: Option<WebhookSpec>,
    sender: Sender,
    /// `None` once the registry is closed (shutdown): the sender drains and ends.
    queue: Option<mpsc::Sender<Envelope>>,
    stop: CancellationToken,
}

/// Why the registry refused a change.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No webhook has this id.
    #[error("no webhook {0:?}")]
    NotFound(String),
    /// A config-file webhook cannot be changed at runtime.
    #[error("webhook {0:?} comes from the config file; change it there (then reload)")]
    FromConfig(String),
    /// Too many webhooks were added through the API.
    #[error("at most {0} webhooks can be added through the API")]
    Full(usize),
    /// The change was made but could not be saved.
    #[error(transparent)]
    Save(#[from] StateFileError),
}

/// Set when the state files are behind: a webhook or a dead letter changed.
#[derive(Debug, Default)]
pub(crate) struct Dirty {
    flag: std::sync::atomic::AtomicBool,
    notify: Notify,
}

impl Dirty {
    /// Something changed: the files are to be written.
    pub(crate) fn mark(&self) {
        self.flag.store(true, Ordering::Release);
        self.notify.notify_one();
    }
}

#[derive(Serialize, Deserialize, Default)]
struct HooksFile {
    webhooks: Vec<StoredHook>,
}

#[derive(Serialize, Deserialize)]
struct StoredHook {
    id: String,
    spec: WebhookSpec,
}

#[derive(Serialize, Deserialize, Default)]
struct DeadLettersFile {
    webhooks: BTreeMap<String, DeadLetterQueue>,
}

/// The webhooks of this process. Shared by the taps (which offer each event), the API
/// and the feed's shutdown.
pub struct Registry {
    targets: RwLock<Vec<Target>>,
    bridges: Vec<String>,
    state_dir: Option<PathBuf>,
    client: Option<reqwest::Client>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    dirty: Arc<Dirty>,
    closed: CancellationToken,
    /// One writer of the state files at a time.
    save_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("webhooks", &self.read().len())
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

fn load<T: serde::de::DeserializeOwned + Default>(path: &std::path::Path) -> T {
    match state_file::read_json(path) {
        Ok(found) => found.unwrap_or_default(),
        Err(e) => {
            let aside = state_file::set_aside(path);
            error!(error = %e, set_aside = ?aside, "a webhook state file cannot be read; starting without it");
            T::default()
        }
    }
}

impl Registry {
    /// Starts the config file's webhooks and, with a `state_dir`, the API's ones kept
    /// there, with their dead letters. `bridges`: this process's bridges.
    pub fn start(
        config: &[WebhookSettings],
        state_dir: Option<PathBuf>,
        bridges: Vec<String>,
    ) -> Arc<Self> {
        let (stored, mut dead): (HooksFile, DeadLettersFile) = match &state_dir {
            Some(dir) => (load(&dir.join(WEBHOOKS_FILE)), load(&dir.join(DEAD_LETTERS_FILE))),
            None => Default::default(),
        };
        let registry = Arc::new(Self {
            targets: RwLock::new(Vec::new()),
            bridges,
            state_dir,
            client: delivery::http_client(),
            tasks: Mutex::new(Vec::new()),
            dirty: Arc::default(),
            closed: CancellationToken::new(),
            save_lock: tokio::sync::Mutex::new(()),
        });
        let mut state = |id: String, from_config| {
            let queue = dead.webhooks.remove(&id).unwrap_or_default().bounded();
            Arc::new(HookState {
                id,
                from_config,
                stats: Arc::default(),
                dead: Mutex::new(queue),
            })
        };
        let mut targets = Vec::new();
        for (i, settings) in config.iter().enumerate() {
            let st = state(format!("config-{i}"), true);
            targets.push(registry.spawn(st, Arc::new(settings.clone()), None));
        }
        for hook in stored.webhooks {
            let st = state(hook.id, false);
            let settings = Arc::new(hook.spec.settings());
            targets.push(registry.spawn(st, settings, Some(hook.spec)));
        }
        for (id, queue) in &dead.webhooks {
            warn!(webhook = %id, dead_letters = queue.items().len(), "dead letters of a webhook that no longer exists are dropped");
        }
        *registry.write() = targets;
        let persister = tokio::spawn(Arc::clone(&registry).persist_dead_letters());
        registry.lock_tasks().push(persister);
        registry
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Target>> {
        self.targets.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Target>> {
        self.targets.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_tasks(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A sender task for `state` with `settings`.
    fn spawn(
        &self,
        state: Arc<HookState>,
        settings: Arc<WebhookSettings>,
        spec: Option<WebhookSpec>,
    ) -> Target {
        let (tx, rx) = mpsc::channel(settings.queue_capacity.max(1));
        let sender = Sender {
            rate: Arc::new(DeliveryRate::new(settings.rate_per_sec, settings.rate_burst)),
            settings,
            state: state.clone(),
            client: self.client.clone(),
            dirty: self.dirty.clone(),
        };
        let stop = CancellationToken::new();
        let span = info_span!("webhook", id = %state.id, url = %redacted_url(&sender.settings.url));
        let task = tokio::spawn(
            delivery::deliver_all(sender.clone(), rx, stop.clone()).instrument(span),
        );
        let mut tasks = self.lock_tasks();
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
        Target {
            state,
            spec,
            sender,
            queue: (!self.closed.is_cancelled()).then_some(tx),
            stop,
        }
    }

    /// True when no webhook is set up.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Queues `envelope` for every webhook that wants it (never waits: a full queue drops
    /// it, counted).
    pub(crate) fn offer(&self, envelope: &Envelope) {
        let kind = envelope.event.type_name();
        for target in self.read().iter() {
            let Some(queue) = &target.queue else { continue };
            let settings = &target.sender.settings;
            if settings.wants_bridge(&envelope.bridge) && settings.wants(kind) {
                let taken = queue.try_send(envelope.clone()).is_ok();
                target.state.stats.offer(taken);
            }
        }
    }

    /// Each webhook's URL (credentials hidden) and counters.
    pub fn stats(&self) -> Vec<(String, WebhookStatsSnapshot)> {
        self.read()
            .iter()
            .map(|t| (redacted_url(&t.sender.settings.url), t.state.stats.snapshot()))
            .collect()
    }

    fn view(target: &Target) -> WebhookView {
        let s = &target.sender.settings;
        let dead = target.state.dead_letters();
        WebhookView {
            id: target.state.id.clone(),
            source: if target.state.from_config { "config" } else { "api" },
            url: redacted_url(&s.url),
            events: s.events.clone(),
            bridges: s.bridges.clone(),
            secret_set: !s.secret.expose().is_empty(),
            batch_max: s.batch_max,
            timeout_secs: s.timeout.as_secs(),
            max_attempts: s.max_attempts,
            queue_capacity: s.queue_capacity,
            rate_per_sec: s.rate_per_sec,
            rate_burst: s.rate_burst,
            stats: target.state.stats.snapshot(),
            dead_letters: dead.items().len(),
            dead_letters_dropped: dead.dropped(),
        }
    }

    /// Every webhook, config file's first.
    pub fn list(&self) -> Vec<WebhookView> {
        self.read().iter().map(Self::view).collect()
    }

    /// One webhook.
    pub fn get(&self, id: &str) -> Option<WebhookView> {
        self.read().iter().find(|t| t.state.id == id).map(Self::view)
    }

    /// The API's webhook `id` as it was given (secret included), for `PATCH`/`PUT`.
    pub fn spec(&self, id: &str) -> Result<WebhookSpec, RegistryError> {
        let targets = self.read();
        let target = targets
            .iter()
            .find(|t| t.state.id == id)
            .ok_or_else(|| RegistryError::NotFound(id.to_owned()))?;
        target
            .spec
            .clone()
            .ok_or_else(|| RegistryError::FromConfig(id.to_owned()))
    }

    /// This process's bridges (what `bridges` may name).
    pub fn bridges(&self) -> &[String] {
        &self.bridges
    }

    /// Adds a webhook (already checked) and saves; its id is new.
    pub async fn add(&self, spec: WebhookSpec) -> Result<WebhookView, RegistryError> {
        let id = format!("wh-{:016x}", rand::random::<u64>());
        {
            let mut targets = self.write();
            let from_api = targets.iter().filter(|t| !t.state.from_config).count();
            if from_api >= crate::limits::WEBHOOK_API_MAX {
                return Err(RegistryError::Full(crate::limits::WEBHOOK_API_MAX));
            }
            let state = Arc::new(HookState {
                id: id.clone(),
                from_config: false,
                stats: Arc::default(),
                dead: Mutex::default(),
            });
            let settings = Arc::new(spec.settings());
            targets.push(self.spawn(state, settings, Some(spec)));
        }
        self.dirty.mark();
        self.save().await?;
        self.get(&id).ok_or(RegistryError::NotFound(id))
    }

    /// Replaces the API's webhook `id` with `spec` (already checked) and saves. Its
    /// counters and dead letters stay; events already queued are sent as before the change.
    pub async fn replace(&self, id: &str, spec: WebhookSpec) -> Result<WebhookView, RegistryError> {
        {
            let mut targets = self.write();
            let at = targets
                .iter()
                .position(|t| t.state.id == id)
                .ok_or_else(|| RegistryError::NotFound(id.to_owned()))?;
            if targets[at].state.from_config {
                return Err(RegistryError::FromConfig(id.to_owned()));
            }
            let state = targets[at].state.clone();
            let settings = Arc::new(spec.settings());
            // The old sender's queue closes: it sends what it holds, then ends.
            targets[at] = self.spawn(state, settings, Some(spec));
        }
        self.dirty.mark();
        self.save().await?;
        self.get(id).ok_or_else(|| RegistryError::NotFound(id.to_owned()))
    }

    /// Removes the API's webhook `id` at once (what it still had queued is not sent; its
    /// dead letters go with it) and saves.
    pub async fn remove(&self, id: &str) -> Result<(), RegistryError> {
        {
            let mut targets = self.write();
            let at = targets
                .iter()
                .position(|t| t.state.id == id)
                .ok_or_else(|| RegistryError::NotFound(id.to_owned()))?;
            if targets[at].state.from_config {
                return Err(RegistryError::FromConfig(id.to_owned()));
            }
            targets.remove(at).stop.cancel();
        }
        self.dirty.mark();
        self.save().await?;
        Ok(())
    }

    /// Webhook `id`'s dead letters (oldest first) and how many were evicted.
    pub fn dead_letters(&self, id: &str) -> Option<(Vec<DeadLetter>, u64)> {
        let targets = self.read();
        let target = targets.iter().find(|t| t.state.id == id)?;
        let dead = target.state.dead_letters();
        Some((dead.items().iter().cloned().collect(), dead.dropped()))
    }

    /// Every webhook's dead letters, by webhook id.
    pub fn all_dead_letters(&self) -> Vec<(String, Vec<DeadLetter>)> {
        self.read()
            .iter()
            .map(|t| {
                let dead = t.state.dead_letters();
                (t.state.id.clone(), dead.items().iter().cloned().collect())
            })
            .collect()
    }

    /// POSTs webhook `id`'s oldest dead letters again (one attempt each, within its rate,
    /// to its URL as it is now); those delivered leave the queue. Then saves.
    pub async fn replay(&self, id: &str) -> Result<ReplayReport, RegistryError> {
        let (sender, letters) = {
            let targets = self.read();
            let target = targets
                .iter()
                .find(|t| t.state.id == id)
                .ok_or_else(|| RegistryError::NotFound(id.to_owned()))?;
            let letters = target.state.dead_letters().oldest(WEBHOOK_REPLAY_MAX);
            (target.sender.clone(), letters)
        };
        let mut report = ReplayReport {
            tried: letters.len(),
            ..ReplayReport::default()
        };
        for letter in letters {
            let attempt = letter.attempts.saturating_add(1);
            let outcome = sender
                .post(letter.body.get().as_bytes(), &letter.key, attempt)
                .await;
            let mut dead = sender.state.dead_letters();
            match outcome.failure() {
                None => {
                    dead.remove(letter.id);
                    report.delivered += 1;
                    let stats = &sender.state.stats;
                    stats.posts.fetch_add(1, Ordering::Relaxed);
                    stats.replayed.fetch_add(letter.events as u64, Ordering::Relaxed);
                }
                Some(why) => {
                    dead.failed_again(letter.id, why, delivery::unix_now());
                    report.failed += 1;
                }
            }
        }
        report.remaining = sender.state.dead_letters().items().len();
        self.dirty.mark();
        self.save().await?;
        Ok(report)
    }

    /// Writes both state files (when there is a `state_dir`).
    pub async fn save(&self) -> Result<(), StateFileError> {
        let Some(dir) = self.state_dir.clone() else {
            return Ok(());
        };
        let _one_writer = self.save_lock.lock().await;
        // Nothing changed since the last write (or since start): no file is touched.
        if !self.dirty.flag.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let (hooks, dead) = {
            let targets = self.read();
            let hooks = HooksFile {
                webhooks: targets
                    .iter()
                    .filter_map(|t| {
                        Some(StoredHook {
                            id: t.state.id.clone(),
                            spec: t.spec.clone()?,
                        })
                    })
                    .collect(),
            };
            let dead = DeadLettersFile {
                webhooks: targets
                    .iter()
                    .map(|t| (t.state.id.clone(), t.state.dead_letters().clone()))
                    .collect(),
            };
            (hooks, dead)
        };
        let written = tokio::task::spawn_blocking(move || {
            state_file::write_json(&dir.join(WEBHOOKS_FILE), &hooks)?;
            state_file::write_json(&dir.join(DEAD_LETTERS_FILE), &dead)
        })
        .await;
        if !matches!(written, Ok(Ok(()))) {
            // Try again at the next change or at shutdown.
            self.dirty.flag.store(true, Ordering::Release);
        }
        match written {
            Ok(result) => result,
            Err(e) => Err(StateFileError::Io {
                path: PathBuf::from(WEBHOOKS_FILE),
                source: std::io::Error::other(e),
            }),
        }
    }

    /// Writes the dead letters soon after each change, until the registry is closed.
    async fn persist_dead_letters(self: Arc<Self>) {
        loop {
            tokio::select! {
                () = self.dirty.notify.notified() => {}
                () = self.closed.cancelled() => return,
            }
            if let Err(e) = self.save().await {
                warn!(error = %e, "webhook dead letters could not be saved");
            }
        }
    }

    /// Shutdown: no new events; each sender delivers what it holds, then ends.
    pub(crate) fn close(&self) {
        self.closed.cancel();
        for target in self.write().iter_mut() {
            target.queue = None;
        }
    }

    /// Shutdown, the grace spent: every sender stops now.
    pub(crate) fn stop_all(&self) {
        for target in self.read().iter() {
            target.stop.cancel();
        }
    }

    /// The sender (and persister) tasks started so far, to wait for at shutdown.
    pub(crate) fn take_tasks(&self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut *self.lock_tasks())
    }
}
