//! Prometheus metrics with controller-runtime's names, labels and buckets, so Gardener's dashboards
//! and alerts work unchanged.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};
use std::time::Duration;

/// All metrics of one process.
#[derive(Clone)]
pub struct Metrics {
    /// The registry served on `/metrics`.
    pub registry: Registry,
    reconcile_total: IntCounterVec,
    reconcile_errors: IntCounterVec,
    terminal_errors: IntCounterVec,
    panics: IntCounterVec,
    timeouts: IntCounterVec,
    reconcile_time: HistogramVec,
    max_concurrent: IntGaugeVec,
    active_workers: IntGaugeVec,
    queue_depth: IntGaugeVec,
    queue_adds: IntCounterVec,
    queue_retries: IntCounterVec,
    queue_duration: HistogramVec,
    work_duration: HistogramVec,
    unfinished_work: prometheus::GaugeVec,
    longest_running: prometheus::GaugeVec,
    rest_requests: IntCounterVec,
    rest_duration: HistogramVec,
    leader: IntGaugeVec,
    connectivity: crate::client::Connectivity,
}

/// `controller_runtime_reconcile_time_seconds` buckets.
fn reconcile_buckets() -> Vec<f64> {
    let mut b = vec![0.005, 0.01, 0.025];
    b.extend((1..=10).map(|i| f64::from(i) * 0.05));
    b.extend((6..=10).map(|i| f64::from(i) * 0.1));
    b.extend([
        1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0,
        25.0, 30.0, 40.0, 50.0, 60.0,
    ]);
    b
}

/// Workqueue duration buckets: 1e-8 · 10^k, k = 0..11.
fn queue_buckets() -> Vec<f64> {
    prometheus::exponential_buckets(1e-8, 10.0, 12).expect("valid buckets")
}

macro_rules! register {
    ($registry:expr, $metric:expr) => {{
        let m = $metric.expect("metric definition is valid");
        $registry
            .register(Box::new(m.clone()))
            .expect("metric names are unique");
        m
    }};
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric (and the process collector on Linux).
    pub fn new() -> Self {
        let r = Registry::new();
        #[cfg(target_os = "linux")]
        r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
        .expect("process collector registers once");
        let c = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels)
        };
        let g = |name: &str, help: &str, labels: &[&str]| {
            IntGaugeVec::new(Opts::new(name, help), labels)
        };
        let h = |name: &str, help: &str, labels: &[&str], buckets: Vec<f64>| {
            HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        };
        let q = &["name", "controller"];
        Self {
            reconcile_total: register!(
                r,
                c(
                    "controller_runtime_reconcile_total",
                    "Total number of reconciliations per controller",
                    &["controller", "result"]
                )
            ),
            reconcile_errors: register!(
                r,
                c(
                    "controller_runtime_reconcile_errors_total",
                    "Total number of reconciliation errors per controller",
                    &["controller"]
                )
            ),
            terminal_errors: register!(
                r,
                c(
                    "controller_runtime_terminal_reconcile_errors_total",
                    "Total number of terminal reconciliation errors per controller",
                    &["controller"]
                )
            ),
            panics: register!(
                r,
                c(
                    "controller_runtime_reconcile_panics_total",
                    "Total number of reconciliation panics per controller",
                    &["controller"]
                )
            ),
            timeouts: register!(
                r,
                c(
                    "controller_runtime_reconcile_timeouts_total",
                    "Total number of reconciliation timeouts per controller",
                    &["controller"]
                )
            ),
            reconcile_time: register!(
                r,
                h(
                    "controller_runtime_reconcile_time_seconds",
                    "Length of time per reconciliation per controller",
                    &["controller"],
                    reconcile_buckets()
                )
            ),
            max_concurrent: register!(
                r,
                g(
                    "controller_runtime_max_concurrent_reconciles",
                    "Maximum number of concurrent reconciles per controller",
                    &["controller"]
                )
            ),
            active_workers: register!(
                r,
                g(
                    "controller_runtime_active_workers",
                    "Number of currently used workers per controller",
                    &["controller"]
                )
            ),
            queue_depth: register!(
                r,
                g(
                    "workqueue_depth",
                    "Current depth of workqueue",
                    &["name", "controller", "priority"]
                )
            ),
            queue_adds: register!(
                r,
                c(
                    "workqueue_adds_total",
                    "Total number of adds handled by workqueue",
                    &["name", "controller", "priority"]
                )
            ),
            queue_retries: register!(
                r,
                c(
                    "workqueue_retries_total",
                    "Total number of retries handled by workqueue",
                    q
                )
            ),
            queue_duration: register!(
                r,
                h(
                    "workqueue_queue_duration_seconds",
                    "How long in seconds an item stays in workqueue before being requested",
                    q,
                    queue_buckets()
                )
            ),
            work_duration: register!(
                r,
                h(
                    "workqueue_work_duration_seconds",
                    "How long in seconds processing an item from workqueue takes",
                    q,
                    queue_buckets()
                )
            ),
            unfinished_work: register!(
                r,
                prometheus::GaugeVec::new(
                    Opts::new(
                        "workqueue_unfinished_work_seconds",
                        "How many seconds of work has been done that is in progress and hasn't been observed by work_duration"
                    ),
                    q
                )
            ),
            longest_running: register!(
                r,
                prometheus::GaugeVec::new(
                    Opts::new(
                        "workqueue_longest_running_processor_seconds",
                        "How many seconds has the longest running processor for workqueue been running"
                    ),
                    q
                )
            ),
            rest_requests: register!(
                r,
                c(
                    "rest_client_requests_total",
                    "Number of HTTP requests, partitioned by status code, method, and host",
                    &["code", "method", "host"]
                )
            ),
            rest_duration: register!(
                r,
                h(
                    "rest_client_request_duration_seconds",
                    "Request latency in seconds. Broken down by verb, and host",
                    &["verb", "host"],
                    prometheus::exponential_buckets(0.005, 2.0, 12).expect("valid buckets")
                )
            ),
            leader: register!(
                r,
                g(
                    "leader_election_master_status",
                    "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master",
                    &["name"]
                )
            ),
            connectivity: Default::default(),
            registry: r,
        }
    }

    /// Metrics of one controller, initialised to zero like controller-runtime does at start.
    pub fn controller(&self, name: &str, max_concurrent: usize) -> ControllerMetrics {
        for result in ["success", "error", "requeue", "requeue_after"] {
            self.reconcile_total.with_label_values(&[name, result]);
        }
        self.max_concurrent
            .with_label_values(&[name])
            .set(max_concurrent as i64);
        let q = [name, name];
        let m = ControllerMetrics {
            success: self.reconcile_total.with_label_values(&[name, "success"]),
            error: self.reconcile_total.with_label_values(&[name, "error"]),
            requeue: self.reconcile_total.with_label_values(&[name, "requeue"]),
            requeue_after: self
                .reconcile_total
                .with_label_values(&[name, "requeue_after"]),
            errors: self.reconcile_errors.with_label_values(&[name]),
            panics: self.panics.with_label_values(&[name]),
            timeouts: self.timeouts.with_label_values(&[name]),
            time: self.reconcile_time.with_label_values(&[name]),
            active_workers: self.active_workers.with_label_values(&[name]),
            depth: self.queue_depth.with_label_values(&[name, name, ""]),
            adds: self.queue_adds.with_label_values(&[name, name, ""]),
            retries: self.queue_retries.with_label_values(&q),
            queue_duration: self.queue_duration.with_label_values(&q),
            work_duration: self.work_duration.with_label_values(&q),
            unfinished_work: self.unfinished_work.with_label_values(&q),
            longest_running: self.longest_running.with_label_values(&q),
            in_flight: Default::default(),
        };
        self.terminal_errors.with_label_values(&[name]);
        m
    }

    /// Records one API request of the kube client.
    pub fn observe_request(&self, method: &str, code: u16, host: &str, elapsed: Duration) {
        self.rest_requests
            .with_label_values(&[&code.to_string(), method, host])
            .inc();
        self.rest_duration
            .with_label_values(&[method, host])
            .observe(elapsed.as_secs_f64());
    }

    /// Whether the seed's API server answered the last request of the seed client.
    pub fn connectivity(&self) -> &crate::client::Connectivity {
        &self.connectivity
    }

    /// Sets `leader_election_master_status`.
    pub fn set_leader(&self, lease: &str, leader: bool) {
        self.leader
            .with_label_values(&[lease])
            .set(i64::from(leader));
    }

    /// The text exposition of all metrics.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus::TextEncoder::new()
            .encode_utf8(&self.registry.gather(), &mut out)
            .expect("text encoding cannot fail");
        out
    }
}

/// The metric handles of one controller.
#[derive(Clone)]
pub struct ControllerMetrics {
    /// `result="success"`.
    pub success: IntCounter,
    /// `result="error"`.
    pub error: IntCounter,
    /// `result="requeue"`.
    pub requeue: IntCounter,
    /// `result="requeue_after"`.
    pub requeue_after: IntCounter,
    /// `controller_runtime_reconcile_errors_total`.
    pub errors: IntCounter,
    /// `controller_runtime_reconcile_panics_total`.
    pub panics: IntCounter,
    /// `controller_runtime_reconcile_timeouts_total`.
    pub timeouts: IntCounter,
    /// `controller_runtime_reconcile_time_seconds`.
    pub time: Histogram,
    /// `controller_runtime_active_workers`.
    pub active_workers: IntGauge,
    /// `workqueue_depth`.
    pub depth: IntGauge,
    /// `workqueue_adds_total`.
    pub adds: IntCounter,
    /// `workqueue_retries_total`.
    pub retries: IntCounter,
    /// `workqueue_queue_duration_seconds`.
    pub queue_duration: Histogram,
    /// `workqueue_work_duration_seconds`.
    pub work_duration: Histogram,
    /// `workqueue_unfinished_work_seconds`.
    pub unfinished_work: prometheus::Gauge,
    /// `workqueue_longest_running_processor_seconds`.
    pub longest_running: prometheus::Gauge,
    in_flight:
        std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>>,
}

impl ControllerMetrics {
    /// A reconcile of `key` started.
    pub fn begin_work(&self, key: &str) {
        self.active_workers.inc();
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), std::time::Instant::now());
        self.refresh();
    }

    /// The reconcile of `key` ended.
    pub fn end_work(&self, key: &str) {
        self.active_workers.dec();
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
        self.refresh();
    }

    /// Runs one reconcile of `key` with the bookkeeping every controller shares: active workers,
    /// in-progress gauges, `reconcile_time` and `work_duration`. Results are counted by the caller,
    /// which knows whether it requeues.
    pub async fn measure<T>(&self, key: &str, run: impl std::future::Future<Output = T>) -> T {
        self.begin_work(key);
        let started = std::time::Instant::now();
        let result = run.await;
        let elapsed = started.elapsed().as_secs_f64();
        self.end_work(key);
        self.time.observe(elapsed);
        self.work_duration.observe(elapsed);
        result
    }

    /// Counts a failed reconcile (`result="error"` and `reconcile_errors_total`).
    pub fn count_error(&self) {
        self.error.inc();
        self.errors.inc();
    }

    /// Recomputes the in-progress gauges (called on every change and periodically).
    pub fn refresh(&self) {
        let in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let running: Vec<f64> = in_flight
            .values()
            .map(|t| t.elapsed().as_secs_f64())
            .collect();
        self.unfinished_work.set(running.iter().sum());
        self.longest_running
            .set(running.iter().copied().fold(0.0, f64::max));
    }
}
