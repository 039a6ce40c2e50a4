//! Leader election on a `coordination.k8s.io/v1` Lease, with controller-runtime's timings
//! (lease 15 s, renew deadline 10 s, retry 2 s) and release on shutdown.
//!
//! The loop uses plain GET and PUT with the Lease's resourceVersion, so two candidates racing for
//! the lock cannot both win: the loser's PUT answers 409 Conflict. Like client-go, the leader
//! renews optimistically from the Lease it last wrote (one PUT per renewal, no GET) and reads the
//! Lease again only when that fails.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use std::time::Duration;
use tokio::sync::watch;

/// Timings of the election.
#[derive(Clone, Copy, Debug)]
pub struct Timings {
    /// How long a lease is valid without renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before giving up.
    pub renew_deadline: Duration,
    /// Interval between attempts.
    pub retry_period: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// A candidate for one Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    timings: Timings,
    /// The Lease as this candidate last wrote it while leading.
    observed: std::sync::Mutex<Option<Lease>>,
    /// When the lease another candidate holds runs out, as last read.
    expires: std::sync::Mutex<Option<k8s_openapi::jiff::Timestamp>>,
}

fn now() -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::now()
}

/// Outcome of one attempt.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    Leading,
    Following,
}

impl LeaderElector {
    /// A candidate `identity` for Lease `namespace/name`.
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: &str,
        timings: Timings,
    ) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.into(),
            identity: identity.into(),
            timings,
            observed: std::sync::Mutex::new(None),
            expires: std::sync::Mutex::new(None),
        }
    }

    fn observed(&self) -> Option<Lease> {
        self.observed.lock().map(|o| o.clone()).unwrap_or_default()
    }

    fn observe(&self, lease: Option<Lease>) {
        if let Ok(mut observed) = self.observed.lock() {
            *observed = lease;
        }
    }

    /// The fast path: renew the Lease last written, without reading it first.
    async fn renew_observed(&self) -> Option<Attempt> {
        let mut lease = self.observed()?;
        let spec = lease.spec.clone().unwrap_or_default();
        lease.spec = Some(self.spec(spec.acquire_time, spec.lease_transitions.unwrap_or(0)));
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(renewed) => {
                self.observe(Some(renewed));
                Some(Attempt::Leading)
            }
            Err(e) => {
                tracing::debug!(error = %e, lease = %self.name, "Failed to update the lease optimistically, reading it again");
                self.observe(None);
                None
            }
        }
    }

    /// The identity of this candidate.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    fn spec(&self, acquire: Option<MicroTime>, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.timings.lease_duration.as_secs() as i32),
            acquire_time: acquire.or_else(|| Some(MicroTime(now()))),
            renew_time: Some(MicroTime(now())),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    async fn try_acquire_or_renew(&self) -> Result<Attempt, kube::Error> {
        if let Some(attempt) = self.renew_observed().await {
            return Ok(attempt);
        }
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let mut lease = Lease::default();
            lease.metadata.name = Some(self.name.clone());
            lease.spec = Some(self.spec(None, 0));
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(created) => {
                    self.observe(Some(created));
                    Ok(Attempt::Leading)
                }
                Err(kube::Error::Api(s)) if s.is_already_exists() => Ok(Attempt::Following),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let transitions = spec.lease_transitions.unwrap_or(0);
        if holder == self.identity {
            lease.spec = Some(self.spec(spec.acquire_time.clone(), transitions));
        } else {
            let duration = Duration::from_secs(
                u64::try_from(spec.lease_duration_seconds.unwrap_or(0)).unwrap_or(0),
            );
            let expires = spec.renew_time.as_ref().map(|renewed| renewed.0 + duration);
            if !holder.is_empty() && expires.is_some_and(|at| at >= now()) {
                *self.expires.lock().unwrap_or_else(|p| p.into_inner()) = expires;
                return Ok(Attempt::Following);
            }
            lease.spec = Some(self.spec(None, transitions + 1));
        }
        match self
            .api
            .replace(&lease.name_any(), &PostParams::default(), &lease)
            .await
        {
            Ok(updated) => {
                self.observe(Some(updated));
                Ok(Attempt::Leading)
            }
            Err(kube::Error::Api(s)) if s.is_conflict() => Ok(Attempt::Following),
            Err(e) => Err(e),
        }
    }

    /// Blocks until this candidate holds the lease (or `stop` turns true: returns false).
    ///
    /// A standby tries every retry period, and at once whenever the Lease changes (a watch on
    /// the one Lease): a leader that releases the lease on shutdown is replaced within
    /// milliseconds instead of a retry period.
    pub async fn acquire(&self, stop: &mut watch::Receiver<bool>) -> bool {
        let config = kube::runtime::watcher::Config::default()
            .fields(&format!("metadata.name={}", self.name));
        let mut changes = std::pin::pin!(kube::runtime::watcher(self.api.clone(), config));
        loop {
            match self.try_acquire_or_renew().await {
                Ok(Attempt::Leading) => return true,
                Ok(Attempt::Following) => {}
                Err(e) => {
                    tracing::error!(error = %e, lease = %self.name, "Error acquiring the leader-election lease")
                }
            }
            // Try again after the retry period, or right when the holder's lease runs out.
            let until_expiry = self
                .expires
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .and_then(|at| Duration::try_from(at.duration_since(now())).ok())
                .map(|d| d + Duration::from_millis(10));
            let retry = tokio::time::sleep(until_expiry.map_or(self.timings.retry_period, |d| {
                d.min(self.timings.retry_period)
            }));
            tokio::pin!(retry);
            loop {
                let try_now = tokio::select! {
                    _ = &mut retry => true,
                    _ = async { stop.wait_for(|s| *s).await.is_ok() } => return false,
                    // Errors back off inside the watcher; the retry period still applies.
                    Some(event) = futures::StreamExt::next(&mut changes) => matches!(
                        event,
                        Ok(kube::runtime::watcher::Event::Apply(lease)) if Self::released(&lease)
                    ),
                };
                if try_now {
                    break;
                }
            }
        }
    }

    /// Whether a Lease has no holder (released by a leader shutting down).
    fn released(lease: &Lease) -> bool {
        lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref())
            .is_none_or(str::is_empty)
    }

    /// Renews every retry period until `stop` turns true (returns `true`) or renewal fails for
    /// longer than the renew deadline (returns `false`: leadership lost).
    ///
    /// # Guarantees
    /// Returns `false` no later than the renew deadline after the last successful renewal, also
    /// when requests hang: each attempt is cut off at the deadline. The deadline is shorter than
    /// the lease duration, so a leader that cannot renew stops before a standby can take over.
    pub async fn hold(&self, stop: &mut watch::Receiver<bool>) -> bool {
        let mut last_renewed = tokio::time::Instant::now();
        loop {
            let deadline = last_renewed + self.timings.renew_deadline;
            let next = (tokio::time::Instant::now() + self.timings.retry_period).min(deadline);
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = stop.wait_for(|s| *s) => return true,
            }
            match tokio::time::timeout_at(deadline, self.try_acquire_or_renew()).await {
                Ok(Ok(Attempt::Leading)) => last_renewed = tokio::time::Instant::now(),
                Ok(Ok(Attempt::Following)) => return false,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, lease = %self.name, "Error renewing the leader-election lease");
                    if tokio::time::Instant::now() >= deadline {
                        return false;
                    }
                }
                Err(_) => {
                    tracing::error!(lease = %self.name, deadline = ?self.timings.renew_deadline, "Could not renew the leader-election lease within the renew deadline");
                    return false;
                }
            }
        }
    }

    /// Gives the lease up so a standby can take over at once (`ReleaseOnCancel`).
    pub async fn release(&self) {
        self.observe(None);
        let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(now()));
        if let Err(e) = self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            tracing::error!(error = %e, "Could not release the leader-election lease");
        }
    }
}
