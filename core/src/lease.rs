//! Leases: one replica at a time holds a named role (the planner; knowledge's recorder), over JetStream KV.
//!
//! A lease is a key of the KV bucket [`BUCKET`], whose entries expire [`Timing::ttl`] after they were written.
//! The holder renews it every [`Timing::renew_every`] by a compare-and-set on the revision it last wrote;
//! another replica can create the key only once it is gone: released on a clean stop, or expired.
//!
//! Where it holds: among the processes on one NATS (cluster). The decision is pure ([`Held`]): the holder
//! counts itself the holder only until `ttl - margin` after it *sent* the last renewal the server accepted.
//! The server wrote that renewal after it was sent, so it expires it later still: the old holder has stopped
//! before the server lets anyone else in, whatever the network does in between, as long as the two clocks
//! run at nearly the same rate (the margin is the allowance).

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::CancellationToken;

/// The KV bucket of every lease.
pub const BUCKET: &str = "rdfi-leases";

/// How long a lease lasts unrenewed, how often its holder renews it, and how early the holder gives it up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    pub ttl: Duration,
    pub renew_every: Duration,
    pub margin: Duration,
}

impl Default for Timing {
    /// A successor takes over within 15 s of a holder's crash; a clean stop hands over at once.
    fn default() -> Self {
        Timing {
            ttl: Duration::from_secs(15),
            renew_every: Duration::from_secs(3),
            margin: Duration::from_secs(3),
        }
    }
}

impl Timing {
    /// Whether a holder renewing on time keeps its lease: at least two renewals fit before it must give up.
    pub fn check(&self) -> Result<(), String> {
        let keeps_for = self.ttl.saturating_sub(self.margin);
        if self.margin.is_zero() || keeps_for < self.renew_every * 2 {
            return Err(format!(
                "lease timing: ttl {:?} less margin {:?} must leave room for two renewals every {:?}",
                self.ttl, self.margin, self.renew_every
            ));
        }
        Ok(())
    }
}

impl Timing {
    /// The timing a bucket made with `ttl` imposes: this one when it was made with this TTL, else the same
    /// proportions of the bucket's (renewed and given up a fifth of it apart).
    pub fn for_bucket(self, ttl: Duration) -> Timing {
        if ttl == self.ttl {
            return self;
        }
        Timing {
            ttl,
            renew_every: ttl / 5,
            margin: ttl / 5,
        }
    }
}

/// What a renewal came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renewal {
    /// The server wrote it: the lease runs from when it was sent.
    Renewed,
    /// Someone else's revision is there: the lease is gone.
    Taken,
    /// No answer (or an error): the lease stands until its deadline, no longer.
    Unanswered,
}

/// A lease as its holder knows it: since when it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    /// When the last write the server accepted (the creation or a renewal) was sent.
    pub sent_at: Instant,
}

impl Held {
    /// The moment the holder must have stopped acting as the holder.
    pub fn deadline(&self, timing: &Timing) -> Instant {
        self.sent_at + timing.ttl.saturating_sub(timing.margin)
    }

    /// Whether the holder may still act as the holder at `now`.
    pub fn holds(&self, now: Instant, timing: &Timing) -> bool {
        now < self.deadline(timing)
    }

    /// The lease after a renewal sent at `sent_at` came to `outcome`; `None` once it is lost.
    pub fn after(self, outcome: Renewal, sent_at: Instant) -> Option<Held> {
        match outcome {
            Renewal::Renewed => Some(Held {
                sent_at: sent_at.max(self.sent_at),
            }),
            Renewal::Taken => None,
            Renewal::Unanswered => Some(self),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("lease bucket {BUCKET}: {0}")]
pub struct LeaseError(String);

/// The work a lease guarded stopped because the lease was lost (another replica may hold it now).
#[derive(Debug, thiserror::Error)]
#[error("lost the {0} lease: another replica may hold it now")]
pub struct LeaseLost(pub String);

/// The leases of one NATS, as one process (`holder`) takes them.
#[derive(Clone)]
pub struct Leases {
    store: kv::Store,
    timing: Timing,
    holder: String,
    held: Arc<watch::Sender<BTreeSet<String>>>,
}

/// Who this process is to the others (in leases, in the audit trail): its host (a pod's name) and its process id.
pub fn this_instance() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|host| !host.is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .unwrap_or_default();
    format!("{}/{}", host.trim(), std::process::id())
}

impl Leases {
    /// Opens (creating if needed) the lease bucket, with `replicas` replicas.
    pub async fn open(
        context: &jetstream::Context,
        replicas: usize,
        timing: Timing,
        holder: String,
    ) -> Result<Leases, LeaseError> {
        timing.check().map_err(LeaseError)?;
        let store = match context.get_key_value(BUCKET).await {
            Ok(store) => store,
            Err(_) => context
                .create_key_value(kv::Config {
                    bucket: BUCKET.to_owned(),
                    description: "rdfi: who holds each single-replica role".to_owned(),
                    history: 1,
                    max_age: timing.ttl,
                    num_replicas: replicas,
                    storage: jetstream::stream::StorageType::File,
                    ..Default::default()
                })
                .await
                .map_err(|error| LeaseError(error.to_string()))?,
        };
        // The server expires leases at the bucket's age, whatever this process was told.
        let made_with = store
            .status()
            .await
            .map_err(|error| LeaseError(error.to_string()))?
            .info
            .config
            .max_age;
        if made_with != timing.ttl {
            tracing::warn!(
                asked = ?timing.ttl,
                bucket = ?made_with,
                "the lease bucket was made with another TTL, which holds: delete the bucket {BUCKET} (with every \
                 planner and knowledge replica stopped) to change it"
            );
        }
        let timing = timing.for_bucket(made_with);
        timing.check().map_err(LeaseError)?;
        Ok(Leases {
            store,
            timing,
            holder,
            held: Arc::new(watch::Sender::new(BTreeSet::new())),
        })
    }

    /// The names of the leases this process holds, as they change.
    pub fn held(&self) -> watch::Receiver<BTreeSet<String>> {
        self.held.subscribe()
    }

    /// Runs `work` once this process holds the lease `name`, with a token cancelled on `shutdown` or as soon as
    /// the lease is lost; gives the lease up when the work ends. `Ok(None)` when `shutdown` came before the
    /// lease, and [`LeaseLost`] when the work was stopped because the lease was lost.
    pub async fn run_holding<F, Fut, T>(
        &self,
        name: &str,
        shutdown: &CancellationToken,
        work: F,
    ) -> Result<Option<T>, LeaseLost>
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = T>,
    {
        let Some(lease) = self.acquire(name, shutdown).await else {
            return Ok(None);
        };
        let stop = shutdown.child_token();
        let (lost, stop_on_loss) = (lease.lost(), stop.clone());
        let watcher = tokio::spawn(async move {
            lost.cancelled().await;
            stop_on_loss.cancel();
        });
        let done = work(stop).await;
        watcher.abort();
        let was_lost = lease.lost().is_cancelled();
        lease.release().await;
        if was_lost {
            Err(LeaseLost(name.to_owned()))
        } else {
            Ok(Some(done))
        }
    }

    /// Waits until this process holds the lease `name`, trying every renewal period; `None` when `shutdown`
    /// comes first.
    pub async fn acquire(&self, name: &str, shutdown: &CancellationToken) -> Option<Lease> {
        let holder = self.holder.as_str();
        let mut told = false;
        loop {
            let sent_at = Instant::now();
            match self.store.create(name, holder.to_owned().into()).await {
                Ok(revision) => {
                    tracing::info!(lease = name, holder, "lease acquired");
                    self.held.send_modify(|held| {
                        held.insert(name.to_owned());
                    });
                    return Some(Lease::hold(self.clone(), name, revision, Held { sent_at }));
                }
                Err(error) if error.kind() == kv::CreateErrorKind::AlreadyExists => {
                    if !told {
                        let current = self.holder(name).await.unwrap_or_default();
                        tracing::info!(lease = name, holder = %current, "standing by: another replica holds the lease");
                        told = true;
                    }
                }
                Err(error) => {
                    tracing::warn!(lease = name, %error, "cannot reach the lease bucket; trying again");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return None,
                () = tokio::time::sleep(self.timing.renew_every) => {}
            }
        }
    }

    /// Who holds the lease `name` now, if anyone.
    pub async fn holder(&self, name: &str) -> Option<String> {
        let entry = self.store.entry(name).await.ok().flatten()?;
        (entry.operation == kv::Operation::Put)
            .then(|| String::from_utf8_lossy(&entry.value).into_owned())
    }
}

/// A lease this process holds, renewed in the background until it is lost or released.
pub struct Lease {
    lost: CancellationToken,
    release: CancellationToken,
    renewing: tokio::task::JoinHandle<()>,
}

impl Lease {
    fn hold(leases: Leases, name: &str, revision: u64, held: Held) -> Lease {
        let lost = CancellationToken::new();
        let release = CancellationToken::new();
        let renewing = tokio::spawn(renew(
            leases,
            name.to_owned(),
            revision,
            held,
            lost.clone(),
            release.clone(),
        ));
        Lease {
            lost,
            release,
            renewing,
        }
    }

    /// Cancelled when the lease is lost: the holder must stop acting as the holder at once.
    pub fn lost(&self) -> CancellationToken {
        self.lost.clone()
    }

    /// Gives the lease up, so that a successor takes over at once.
    pub async fn release(self) {
        self.release.cancel();
        let _ = self.renewing.await;
    }
}

async fn renew(
    leases: Leases,
    name: String,
    mut revision: u64,
    mut held: Held,
    lost: CancellationToken,
    release: CancellationToken,
) {
    let timing = leases.timing;
    loop {
        let deadline = held.deadline(&timing);
        tokio::select! {
            () = release.cancelled() => {
                // Only our own revision: a lease already taken over is left to its new holder.
                let _ = leases.store.delete_expect_revision(&name, Some(revision)).await;
                leases.held.send_modify(|held| {
                    held.remove(&name);
                });
                tracing::info!(lease = %name, "lease released");
                return;
            }
            () = tokio::time::sleep_until(deadline) => break,
            () = tokio::time::sleep(timing.renew_every) => {}
        }
        let sent_at = Instant::now();
        let outcome = match tokio::time::timeout_at(
            deadline,
            leases
                .store
                .update(&name, leases.holder.clone().into(), revision),
        )
        .await
        {
            Ok(Ok(written)) => {
                revision = written;
                Renewal::Renewed
            }
            Ok(Err(error)) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                Renewal::Taken
            }
            Ok(Err(error)) => {
                tracing::warn!(lease = %name, %error, "lease renewal failed");
                Renewal::Unanswered
            }
            Err(_) => Renewal::Unanswered,
        };
        match held.after(outcome, sent_at) {
            Some(next) if next.holds(Instant::now(), &timing) => held = next,
            _ => break,
        }
    }
    tracing::error!(lease = %name, "lease lost: stopping the work it guards");
    leases.held.send_modify(|held| {
        held.remove(&name);
    });
    lost.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn timing() -> Timing {
        Timing {
            ttl: Duration::from_millis(1500),
            renew_every: Duration::from_millis(300),
            margin: Duration::from_millis(300),
        }
    }

    #[test]
    fn the_default_timing_and_a_tight_one_pass_and_a_margin_of_nothing_does_not() {
        assert_eq!(Timing::default().check(), Ok(()));
        assert_eq!(timing().check(), Ok(()));
        let no_margin = Timing {
            margin: Duration::ZERO,
            ..timing()
        };
        assert!(no_margin.check().is_err());
        let too_slow = Timing {
            renew_every: Duration::from_millis(700),
            ..timing()
        };
        assert!(too_slow.check().unwrap_err().contains("two renewals"));
    }

    #[test]
    fn a_bucket_made_with_another_ttl_imposes_its_own() {
        assert_eq!(timing().for_bucket(timing().ttl), timing());
        let bucket = timing().for_bucket(Duration::from_secs(10));
        assert_eq!(bucket.ttl, Duration::from_secs(10));
        assert_eq!(bucket.renew_every, Duration::from_secs(2));
        assert_eq!(bucket.margin, Duration::from_secs(2));
        assert_eq!(bucket.check(), Ok(()));
    }

    #[test]
    fn a_lease_runs_from_when_its_last_accepted_renewal_was_sent() {
        let start = Instant::now();
        let held = Held { sent_at: start };
        let at = |ms| start + Duration::from_millis(ms);
        assert!(held.holds(at(1199), &timing()));
        assert!(!held.holds(at(1200), &timing()));
        let renewed = held.after(Renewal::Renewed, at(900)).unwrap();
        assert_eq!(renewed.deadline(&timing()), at(2100));
        assert_eq!(held.after(Renewal::Unanswered, at(900)), Some(held));
        assert_eq!(held.after(Renewal::Taken, at(900)), None);
        // A late answer to an older renewal never moves the lease back.
        assert_eq!(renewed.after(Renewal::Renewed, at(100)), Some(renewed));
    }

    proptest! {
        /// Whatever the server answers and however late, the holder never counts itself the holder once the
        /// server could have expired its last accepted write (`ttl` after it was sent, or later).
        #[test]
        fn the_holder_stops_before_the_server_lets_anyone_else_in(
            steps in proptest::collection::vec((0u64..2000, 0u8..3), 1..40),
        ) {
            let timing = timing();
            let start = Instant::now();
            let mut held = Some(Held { sent_at: start });
            let mut accepted_sent_at = start;
            let mut now = start;
            for (wait, answer) in steps {
                now += Duration::from_millis(wait);
                let Some(current) = held else { break };
                let outcome = [Renewal::Renewed, Renewal::Taken, Renewal::Unanswered][answer as usize];
                if outcome == Renewal::Renewed {
                    accepted_sent_at = accepted_sent_at.max(now);
                }
                held = current.after(outcome, now).filter(|next| next.holds(now, &timing));
                if held.is_some() {
                    prop_assert!(now + timing.margin <= accepted_sent_at + timing.ttl);
                }
                if outcome == Renewal::Taken {
                    prop_assert!(held.is_none());
                }
            }
        }
    }
}
