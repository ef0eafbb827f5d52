//! The background thread behind [`Log::watch`](riffle_log::Log::watch).
//!
//! Writes through this [`KafkaLog`](crate::KafkaLog) bump the counter
//! directly; writes by other processes are noticed by polling the end offsets
//! of every partition read so far, every `watch_interval`.

use std::sync::Weak;
use std::thread;

use tracing::debug;

use crate::Inner;

/// Starts the watcher; it ends when the [`Inner`] is dropped.
pub(crate) fn spawn(inner: Weak<Inner>) {
    let spawned = thread::Builder::new()
        .name("riffle-kafka-watch".into())
        .spawn(move || {
            let mut last: Vec<((String, u32), i64)> = Vec::new();
            loop {
                let Some(i) = inner.upgrade() else { return };
                let interval = i.opts.watch_interval;
                let parts = i.watched();
                if !parts.is_empty() {
                    match i.ends(&parts) {
                        Ok(ends) => {
                            let now: Vec<_> = parts.into_iter().zip(ends).collect();
                            if now != last {
                                i.bump();
                                last = now;
                            }
                        }
                        Err(e) => debug!(error = %e, "polling Kafka end offsets failed"),
                    }
                }
                drop(i);
                thread::sleep(interval);
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the Kafka end-offset watcher");
    }
}
