//! [`SimHandle`]: a running simulator, and every control operation as a
//! method for in-process tests (the same operations as `/__sim/*`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::account::{AccountSetting, SimAccount};
use super::clock::SimClock;
use super::config::Faults;
use super::control_data::{self, SeedContact, SimContact, SimConversation};
use super::refusals::WhatsAppRule;
use super::state::{SentMessage, Shared, SimStats, lock};

/// How long [`SimHandle::shutdown`] waits for open connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running simulator. Dropping it stops the server too (without waiting).
pub struct SimHandle {
    addr: SocketAddr,
    seed: u64,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl SimHandle {
    pub(crate) fn new(
        addr: SocketAddr,
        seed: u64,
        shared: Arc<Shared>,
        task: JoinHandle<()>,
    ) -> Self {
        SimHandle {
            addr,
            seed,
            shared,
            task: Some(task),
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the base URL for clients (paths are served at the root,
    /// and also under `/external-api` and `/extern-api`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The seed of the fault and refusal generators (given or picked).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Every message that reached WhatsApp so far, in order.
    pub fn messages(&self) -> Vec<SentMessage> {
        lock(&self.shared.recorder).messages.clone()
    }

    /// Forgets the recorded messages (sequence numbers keep counting).
    pub fn clear_messages(&self) {
        lock(&self.shared.recorder).messages.clear();
    }

    /// Waits until at least `count` messages are recorded, or `within` passes.
    /// Returns the messages either way.
    pub async fn wait_for_messages(&self, count: usize, within: Duration) -> Vec<SentMessage> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.shared.recorded.notified();
            let now = self.messages();
            if now.len() >= count {
                return now;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.messages();
            }
        }
    }

    /// Counters since start.
    pub fn stats(&self) -> SimStats {
        lock(&self.shared.stats).clone()
    }

    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).faults.clone()
    }

    /// Replaces the fault profile. An invalid profile is refused (logged) and
    /// the old one kept; check with [`Faults::validate`] first.
    pub fn set_faults(&self, faults: Faults) {
        match faults.validate() {
            Ok(()) => lock(&self.shared.faults).faults = faults,
            Err(err) => tracing::warn!(%err, "simulator: fault profile refused"),
        }
    }

    /// Replaces the rate limit (`None`, zero or negative: no limit). Buckets refill.
    pub fn set_rate(&self, rate_per_second: Option<f64>) {
        lock(&self.shared.rate).set(rate_per_second, None);
    }

    /// Replaces the rate limit and its burst.
    pub fn set_rate_and_burst(&self, rate_per_second: Option<f64>, burst: u32) {
        lock(&self.shared.rate).set(rate_per_second, Some(burst));
    }

    /// The account's switches.
    pub fn account(&self) -> SimAccount {
        self.shared.settings()
    }

    /// Changes the switches given; returns the account as it is now.
    pub fn set_account(&self, setting: AccountSetting) -> SimAccount {
        let mut account = lock(&self.shared.settings);
        account.apply(setting);
        *account
    }

    /// Adds contacts, each with a conversation in which its customer just
    /// wrote; returns their ids (an existing number gives its contact's id).
    pub fn add_contacts(&self, contacts: &[SeedContact]) -> Vec<i64> {
        control_data::add_contacts(&self.shared, contacts)
    }

    /// Every contact.
    pub fn contacts(&self) -> Vec<SimContact> {
        control_data::contacts(&lock(&self.shared.data))
    }

    /// Every conversation.
    pub fn conversations(&self) -> Vec<SimConversation> {
        control_data::conversations(&lock(&self.shared.data))
    }

    /// Sets a template's review state (0 pending, 1 approved, 2 rejected,
    /// 3 disabled); `false` when there is no such template or state.
    pub fn set_template_status(&self, id: i64, status: u8) -> bool {
        control_data::set_template_status(&self.shared, id, status)
    }

    /// Deletes a template; `false` when there was none.
    pub fn remove_template(&self, id: i64) -> bool {
        control_data::remove_template(&self.shared, id)
    }

    /// WhatsApp's refusal rules.
    pub fn whatsapp_rules(&self) -> Vec<WhatsAppRule> {
        lock(&self.shared.refusals).rules()
    }

    /// Replaces WhatsApp's refusal rules (their counts start again). An
    /// invalid list is refused (logged) and the old one kept; check with
    /// [`WhatsAppRule::validate`] first.
    pub fn set_whatsapp_rules(&self, rules: Vec<WhatsAppRule>) {
        if let Err(err) = lock(&self.shared.refusals).replace(rules) {
            tracing::warn!(%err, "simulator: WhatsApp rules refused");
        }
    }

    /// A customer's message arrives from the number now (the server's
    /// clock): its conversation moves and the 24-hour window opens. Returns
    /// the conversation's id.
    pub fn customer_reply(&self, mobile_code: &str, mobile: &str) -> i64 {
        control_data::customer_reply(&self.shared, mobile_code, mobile)
    }

    /// The server's clock.
    pub fn clock(&self) -> SimClock {
        *lock(&self.shared.clock)
    }

    /// Sets the server's clock offset and whether answers carry `Date`.
    pub fn set_clock(&self, clock: SimClock) {
        *lock(&self.shared.clock) = clock;
    }

    /// Stops accepting, releases held (timed-out) requests and waits a few
    /// seconds for open connections to finish.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.cancel();
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}
