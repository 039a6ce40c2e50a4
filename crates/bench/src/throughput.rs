//! Reconcile throughput of a real binary, against the floor: the same API calls sent bare.
//!
//! 1. Cold: `count` annotated objects (in 100 shoot namespaces with Clusters of 50 KiB) exist
//!    when the binary starts; time until all report Succeeded, then its memory.
//! 2. Warm: annotate every object again; per-object latency from the annotation to Succeeded,
//!    and the wall time of the whole batch.
//! 3. Floor: the binary stopped, replay exactly the requests it sent in the warm phase (same
//!    verbs and paths, minimal bodies) at the same concurrency (5), while the harness repeats
//!    its own part of the warm phase (the annotations and the list that starts its watch).

use crate::fixtures::{self, Kind};
use crate::process::{Extension, Memory, percentile};
use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt, stream};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};
use test_apiserver::RequestRecord;

const NAMESPACES: usize = 100;
const CLUSTER_BYTES: usize = 50 * 1024;
const CONCURRENCY: usize = 5;

/// One throughput run.
#[derive(Debug, Serialize)]
pub struct Run {
    /// The kind.
    pub kind: Kind,
    /// Objects.
    pub objects: usize,
    /// Start → every object Succeeded (cold caches).
    pub cold_seconds: f64,
    /// First annotation → every object Succeeded again (warm).
    pub warm_seconds: f64,
    /// The warm phase's requests replayed bare, at the same concurrency.
    pub floor_seconds: f64,
    /// `warm_seconds / floor_seconds`.
    pub overhead_ratio: f64,
    /// Annotation → Succeeded, median.
    pub latency_p50_ms: f64,
    /// Annotation → Succeeded, 99th percentile.
    pub latency_p99_ms: f64,
    /// The binary's requests per object in the warm phase, by `verb resource`.
    pub requests_per_object: BTreeMap<String, f64>,
    /// After the cold phase (every object and Cluster cached).
    pub memory: Memory,
    /// CPU seconds of the binary over both phases.
    pub cpu_seconds: f64,
}

fn succeeded_at(object: &DynamicObject) -> Option<String> {
    let op = &object.data["status"]["lastOperation"];
    let pending = object
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("gardener.cloud/operation"));
    // The whole last operation: its time has second resolution, its type tells a Create from
    // the Reconcile after it.
    (op["state"] == "Succeeded" && !pending).then(|| op.to_string())
}

/// Runs the three phases for `count` objects of `kind`.
pub async fn run(bin_dir: &Path, kind: Kind, count: usize) -> Result<Run> {
    let server = fixtures::seed(NAMESPACES, CLUSTER_BYTES).await?;
    fixtures::create_objects(&server, kind, count, NAMESPACES)?;
    let client = server.client().await?;
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &kind.api_resource());

    // Cold.
    let started = Instant::now();
    let mut extension = Extension::start(bin_dir, kind, &server, false)?;
    let first = wait_all(&api, count, &HashMap::new(), Duration::from_secs(600)).await?;
    let cold_seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let memory = extension.memory()?;
    extension.wait_ready(Duration::from_secs(10)).await?;

    // Warm.
    server.clear_requests();
    let names: Vec<Key> = first.keys().cloned().collect();
    let warm_start = Instant::now();
    let annotated = annotate(&client, kind, &names).await?;
    let done = wait_all(&api, count, &first, Duration::from_secs(600)).await?;
    let warm_seconds = warm_start.elapsed().as_secs_f64();
    let latencies: Vec<f64> = done
        .iter()
        .filter_map(|(key, (_, at))| {
            annotated
                .get(key)
                .map(|a| at.saturating_duration_since(*a).as_secs_f64() * 1000.0)
        })
        .collect();
    let cpu_seconds = extension.cpu_seconds()?;
    drop(extension);

    let agent = format!("{}/", kind.binary());
    let warm: Vec<RequestRecord> = server
        .requests()
        .into_iter()
        .filter(|r| {
            r.user_agent.starts_with(&agent)
                && !r.resource.is_empty()
                && !matches!(r.verb.as_str(), "watch" | "list")
                && r.resource != "leases"
        })
        .collect();
    let mut requests_per_object = BTreeMap::new();
    for record in &warm {
        *requests_per_object
            .entry(format!("{} {}", record.verb, record.full_resource()))
            .or_insert(0.0) += 1.0 / count as f64;
    }

    // Floor: the extension's requests, replayed alongside the harness's own traffic of the warm
    // phase (annotating every object, then listing them to watch), which is in both timings.
    let floor_start = Instant::now();
    let harness = async {
        annotate(&client, kind, &names).await?;
        api.list(&Default::default()).await?;
        Ok(())
    };
    tokio::try_join!(harness, replay(&client, &warm))?;
    let floor_seconds = floor_start.elapsed().as_secs_f64();

    Ok(Run {
        kind,
        objects: count,
        cold_seconds,
        warm_seconds,
        floor_seconds,
        overhead_ratio: warm_seconds / floor_seconds,
        latency_p50_ms: percentile(&latencies, 50.0),
        latency_p99_ms: percentile(&latencies, 99.0),
        requests_per_object,
        memory,
        cpu_seconds,
    })
}

type Key = (String, String);

/// Sets the reconcile annotation on every object (50 at a time); returns when each was set.
async fn annotate(
    client: &kube::Client,
    kind: Kind,
    names: &[Key],
) -> Result<HashMap<Key, Instant>> {
    let annotated = stream::iter(names.iter().cloned())
        .map(|(ns, name)| {
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), &ns, &kind.api_resource());
            async move {
                let patch =
                    json!({"metadata": {"annotations": {"gardener.cloud/operation": "reconcile"}}});
                api.patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                    .await?;
                Ok::<_, kube::Error>(((ns, name), Instant::now()))
            }
        })
        .buffer_unordered(50)
        .try_collect()
        .await?;
    Ok(annotated)
}

/// Watches until `count` objects have succeeded with a `lastUpdateTime` other than in `before`;
/// returns each object's time and when it was seen.
async fn wait_all(
    api: &Api<DynamicObject>,
    count: usize,
    before: &HashMap<Key, (String, Instant)>,
    timeout: Duration,
) -> Result<HashMap<Key, (String, Instant)>> {
    let mut done = HashMap::new();
    use kube::runtime::WatchStreamExt;
    let events = kube::runtime::watcher(api.clone(), kube::runtime::watcher::Config::default())
        .applied_objects();
    let mut events = std::pin::pin!(events);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut report = tokio::time::Instant::now() + Duration::from_secs(10);
    while done.len() < count {
        if tokio::time::Instant::now() > report {
            eprintln!("  {} of {count} done", done.len());
            report += Duration::from_secs(10);
        }
        let event = tokio::time::timeout_at(deadline, events.next())
            .await
            .with_context(|| format!("{} of {count} succeeded before the timeout", done.len()))?
            .context("the watch ended")?;
        let Ok(object) = event else { continue };
        let key = (
            object.metadata.namespace.clone().unwrap_or_default(),
            object.metadata.name.clone().unwrap_or_default(),
        );
        if let Some(at) = succeeded_at(&object)
            && before.get(&key).is_none_or(|(old, _)| *old != at)
        {
            done.entry(key).or_insert((at, Instant::now()));
        }
    }
    if done.len() != count {
        bail!("{} of {count} objects succeeded", done.len());
    }
    Ok(done)
}

/// Sends the same requests again, bare: GETs as they were, writes as merge patches that change
/// one field (so that each is a real write), creates as new objects of the same resource.
async fn replay(client: &kube::Client, records: &[RequestRecord]) -> Result<()> {
    stream::iter(records.iter().enumerate())
        .map(|(i, record)| async move {
            let request = replay_request(record, i)?;
            client.request_text(request).await.map(|_| ())?;
            Ok::<_, anyhow::Error>(())
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

fn replay_request(record: &RequestRecord, i: usize) -> Result<http::Request<Vec<u8>>> {
    let builder = http::Request::builder();
    let (method, body, content_type) = match record.verb.as_str() {
        "get" => ("GET", Vec::new(), "application/json"),
        "create" => {
            let body = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": format!("replay-{i}")}, "data": {}});
            ("POST", serde_json::to_vec(&body)?, "application/json")
        }
        "patch" | "update" => {
            let body = if record.subresource == "status" {
                json!({"status": {"lastOperation": {"description": format!("replay {i}")}}})
            } else {
                json!({"metadata": {"annotations": {"bench/replay": i.to_string()}}})
            };
            (
                "PATCH",
                serde_json::to_vec(&body)?,
                "application/merge-patch+json",
            )
        }
        "delete" => ("DELETE", Vec::new(), "application/json"),
        other => bail!("no replay for verb {other}"),
    };
    let uri = if record.query.is_empty() {
        record.path.clone()
    } else {
        format!("{}?{}", record.path, record.query)
    };
    Ok(builder
        .method(method)
        .uri(uri)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(body)?)
}
