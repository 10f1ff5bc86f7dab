//! The in-process bus: a log of events and durable consumers over it, with JetStream's semantics (work shared
//! between subscribers of one consumer, redelivery after the ack wait, duplicate ids dropped).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use rdfi_proto::v1::Event;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{Acker, Bus, BusError, ConsumerConfig, DUPLICATE_WINDOW, Delivery, Subscription};
use crate::{events, subjects, telemetry};

/// The in-process bus. Cheap to clone; clones share one log.
#[derive(Clone, Default)]
pub struct MemoryBus {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Default)]
struct State {
    log: Vec<Stored>,
    recent_ids: RecentIds,
    consumers: HashMap<String, ConsumerState>,
}

/// The event ids published within the duplicate window, oldest first: forgetting the expired ones costs only
/// what expired (a scan of every id on each publish made a burst quadratic).
#[derive(Default)]
struct RecentIds {
    by_age: std::collections::VecDeque<(Instant, String)>,
    ids: std::collections::HashSet<String>,
}

impl RecentIds {
    /// Whether `id` is new within the window; remembers it.
    fn first_sighting(&mut self, id: &str, now: Instant) -> bool {
        while let Some((seen, _)) = self.by_age.front() {
            if now.duration_since(*seen) < DUPLICATE_WINDOW {
                break;
            }
            if let Some((_, expired)) = self.by_age.pop_front() {
                self.ids.remove(&expired);
            }
        }
        if !self.ids.insert(id.to_owned()) {
            return false;
        }
        self.by_age.push_back((now, id.to_owned()));
        true
    }
}

struct Stored {
    subject: &'static str,
    event: Event,
    traceparent: Option<String>,
}

struct ConsumerState {
    config: ConsumerConfig,
    /// The next log position not yet delivered.
    next: usize,
    /// Delivered and not acknowledged: position -> (when to deliver again, deliveries so far).
    pending: BTreeMap<usize, (Instant, u32)>,
}

impl MemoryBus {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        let subject = events::subject_of(event).ok_or(BusError::EmptyEvent)?;
        {
            let mut state = self.state();
            if !state.recent_ids.first_sighting(&event.id, Instant::now()) {
                return Ok(());
            }
            state.log.push(Stored {
                subject,
                event: event.clone(),
                traceparent: telemetry::current_traceparent(),
            });
        }
        crate::metrics::record_published(event);
        self.shared.changed.notify_waiters();
        Ok(())
    }

    async fn consume(&self, config: ConsumerConfig) -> Result<Subscription, BusError> {
        let name = config.durable_name.clone();
        let mut state = self.state();
        let next = if config.ephemeral { state.log.len() } else { 0 };
        state
            .consumers
            .entry(name.clone())
            .or_insert_with(|| ConsumerState {
                config,
                next,
                pending: BTreeMap::new(),
            });
        drop(state);
        let bus = self.clone();
        let stream = futures::stream::unfold(bus, move |bus| {
            let name = name.clone();
            async move {
                let delivery = bus.next_delivery(&name).await;
                Some((Ok(delivery), bus))
            }
        });
        Ok(Subscription::new(Box::pin(stream)))
    }

    async fn history(&self, subjects: &[&str]) -> Result<Vec<Event>, BusError> {
        Ok(self
            .state()
            .log
            .iter()
            .filter(|stored| {
                subjects
                    .iter()
                    .any(|pattern| crate::subjects::matches(pattern, stored.subject))
            })
            .map(|stored| stored.event.clone())
            .collect())
    }
}

impl MemoryBus {
    async fn next_delivery(&self, consumer: &str) -> Delivery {
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let wake_at = {
                let mut state = self.state();
                match take_next(&mut state, consumer) {
                    Ok((position, delivery_count)) => {
                        let stored = &state.log[position];
                        return Delivery::new(
                            stored.subject.to_owned(),
                            stored.event.clone(),
                            stored.traceparent.clone(),
                            delivery_count,
                            Box::new(MemoryAcker {
                                bus: self.clone(),
                                consumer: consumer.to_owned(),
                                position,
                            }),
                        );
                    }
                    Err(wake_at) => wake_at,
                }
            };
            match wake_at {
                Some(wake_at) => {
                    tokio::select! {
                        _ = changed => {}
                        _ = tokio::time::sleep_until(wake_at) => {}
                    }
                }
                None => changed.await,
            }
        }
    }
}

/// The next position to deliver to `consumer` with its delivery count, or when to look again.
fn take_next(state: &mut State, consumer: &str) -> Result<(usize, u32), Option<Instant>> {
    let now = Instant::now();
    let State { log, consumers, .. } = state;
    let Some(consumer) = consumers.get_mut(consumer) else {
        return Err(None);
    };
    let ack_wait = consumer.config.ack_wait;
    let max_deliver = consumer.config.max_deliver;
    // Redeliveries first, oldest position first; give up on messages delivered max_deliver times.
    consumer
        .pending
        .retain(|_, (due, count)| *due > now || *count < max_deliver);
    if let Some((&position, entry)) = consumer
        .pending
        .iter_mut()
        .find(|(_, (due, _))| *due <= now)
    {
        entry.0 = now + ack_wait;
        entry.1 += 1;
        return Ok((position, entry.1));
    }
    while consumer.next < log.len() {
        let position = consumer.next;
        consumer.next += 1;
        let subject = log[position].subject;
        if consumer
            .config
            .subjects
            .iter()
            .any(|pattern| subjects::matches(pattern, subject))
        {
            consumer.pending.insert(position, (now + ack_wait, 1));
            return Ok((position, 1));
        }
    }
    Err(consumer.pending.values().map(|(due, _)| *due).min())
}

struct MemoryAcker {
    bus: MemoryBus,
    consumer: String,
    position: usize,
}

#[async_trait]
impl Acker for MemoryAcker {
    async fn ack(self: Box<Self>) -> Result<(), BusError> {
        if let Some(consumer) = self.bus.state().consumers.get_mut(&self.consumer) {
            consumer.pending.remove(&self.position);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_duplicate_within_the_window_only() {
        let mut recent = RecentIds::default();
        let start = Instant::now();
        assert!(recent.first_sighting("a", start));
        assert!(recent.first_sighting("b", start + DUPLICATE_WINDOW / 2));
        assert!(!recent.first_sighting("a", start + DUPLICATE_WINDOW / 2));
        // "a" expires, "b" is still remembered.
        assert!(recent.first_sighting("a", start + DUPLICATE_WINDOW));
        assert!(!recent.first_sighting("b", start + DUPLICATE_WINDOW));
        assert_eq!(recent.ids.len(), 2);
        assert_eq!(recent.by_age.len(), 2);
    }
}
