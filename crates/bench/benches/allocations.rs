//! Heap use, counted by dhat (no server): allocations and bytes per call of every render case,
//! and the watch/cache path fed by synthetic watch events, as kube-rs measures its reflector:
//! what the seed cache retains for 100 Clusters of 50 KiB, and what a controller's store retains
//! per object of each kind.
//!
//! `cargo bench -p bench --bench allocations` writes `target/bench/allocations.json`, or the path
//! in `$BENCH_ALLOCATIONS_OUT` (`cargo xtask bench` merges it into `docs/performance.json`).

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[path = "../../os-coreos/benches/common/mod.rs"]
mod os_coreos_cases;
#[path = "../../runtime-gvisor/benches/common/mod.rs"]
mod runtime_gvisor_cases;
#[path = "../../shoot-flux/benches/common/mod.rs"]
mod shoot_flux_cases;

use bench::fixtures::{self, Kind};
use extension_framework::cache::SeedCache;
use futures::{StreamExt, stream};
use gardener_api::extensions::{Cluster, ContainerRuntime, Extension, OperatingSystemConfig};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::PartialObjectMeta;
use kube::runtime::{reflector, watcher};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;

const CLUSTERS: usize = 100;
const CLUSTER_BYTES: usize = 50 * 1024;
const STORE_OBJECTS: usize = 1000;
const CALLS: u64 = 20;

/// Allocations and bytes allocated per call, after a first call that fills lazy statics.
fn per_call(op: &dyn Fn()) -> Value {
    op();
    let before = dhat::HeapStats::get();
    for _ in 0..CALLS {
        op();
    }
    let after = dhat::HeapStats::get();
    json!({
        "allocations": (after.total_blocks - before.total_blocks) / CALLS,
        "bytes": (after.total_bytes - before.total_bytes) / CALLS,
    })
}

/// Synthetic list events: `Init`, each text decoded as the watch decodes it, `InitDone`. Callers
/// keep the texts (the baseline) allocated, so what a measurement adds is what it retains.
fn listed<K: DeserializeOwned + Send + 'static>(
    texts: Arc<Vec<String>>,
) -> impl futures::Stream<Item = watcher::Event<K>> + Send + 'static {
    let count = texts.len();
    stream::iter([watcher::Event::Init])
        .chain(stream::iter(0..count).map(move |i| {
            watcher::Event::InitApply(serde_json::from_str(&texts[i]).expect("fixture decodes"))
        }))
        .chain(stream::iter([watcher::Event::InitDone]))
}

/// Bytes retained since `before`, and the high-water mark above it.
fn growth(before: &dhat::HeapStats, after: &dhat::HeapStats) -> (usize, usize) {
    (
        after.curr_bytes.saturating_sub(before.curr_bytes),
        after.max_bytes.saturating_sub(before.curr_bytes),
    )
}

/// The seed cache after the first list of `CLUSTERS` Namespaces and Clusters: bytes it retains,
/// the peak while it decoded them, and the allocations that took.
async fn seed_cache() -> Value {
    let namespaces: Vec<String> = (0..CLUSTERS)
        .map(|i| json!({"metadata": {"name": fixtures::namespace(i), "labels": {"gardener.cloud/role": "shoot"}}}).to_string())
        .collect();
    let clusters: Vec<String> = (0..CLUSTERS)
        .map(|i| fixtures::cluster(&fixtures::namespace(i), CLUSTER_BYTES).to_string())
        .collect();
    let text_bytes: usize = clusters.iter().map(String::len).sum();
    let (namespaces, clusters) = (Arc::new(namespaces), Arc::new(clusters));
    let (_stop, stop) = tokio::sync::watch::channel(false);
    let before = dhat::HeapStats::get();
    let cache = SeedCache::from_streams(
        listed::<PartialObjectMeta<Namespace>>(namespaces.clone()),
        listed::<Cluster>(clusters.clone()),
        stop,
    );
    cache.wait_until_synced().await;
    let after = dhat::HeapStats::get();
    assert!(cache.cluster(&fixtures::namespace(0)).await.is_ok());
    let (retained, peak) = growth(&before, &after);
    json!({
        "clusters": CLUSTERS,
        "cluster_text_bytes": text_bytes,
        "retained_bytes": retained,
        "peak_bytes": peak,
        "allocations": after.total_blocks - before.total_blocks,
    })
}

/// Bytes a controller's store retains per object of `kind`.
async fn store<K>(kind: Kind) -> Value
where
    K: kube::Resource<DynamicType = ()> + DeserializeOwned + Clone + Send + Sync + 'static,
{
    let texts: Vec<String> = (0..STORE_OBJECTS)
        .map(|i| {
            kind.object(&fixtures::namespace(i % CLUSTERS), &format!("obj-{i:05}"))
                .to_string()
        })
        .collect();
    let texts = Arc::new(texts);
    let before = dhat::HeapStats::get();
    let (reader, mut writer) = reflector::store::<K>();
    let mut events = std::pin::pin!(listed::<K>(texts.clone()));
    while let Some(event) = events.next().await {
        writer.apply_watcher_event(&event);
    }
    let after = dhat::HeapStats::get();
    assert_eq!(reader.state().len(), STORE_OBJECTS);
    let (retained, _) = growth(&before, &after);
    json!({
        "kind": kind,
        "objects": STORE_OBJECTS,
        "retained_bytes": retained,
        "bytes_per_object": retained / STORE_OBJECTS,
    })
}

fn render() -> Value {
    let cases = os_coreos_cases::cases()
        .into_iter()
        .chain(runtime_gvisor_cases::cases())
        .chain(shoot_flux_cases::cases());
    let mut out = serde_json::Map::new();
    for (name, op) in cases {
        // Criterion's directory names, which key the timings.
        out.insert(name.replace('/', "_"), per_call(&op));
    }
    Value::Object(out)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    // The cache first: dhat's peak is a high-water mark over the whole run.
    let cache = seed_cache().await;
    let stores = vec![
        store::<Extension>(Kind::Extension).await,
        store::<OperatingSystemConfig>(Kind::OperatingSystemConfig).await,
        store::<ContainerRuntime>(Kind::ContainerRuntime).await,
    ];
    let report = json!({"seed_cache": cache, "stores": stores, "render": render()});
    let out = std::env::var("BENCH_ALLOCATIONS_OUT").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/bench/allocations.json"
        )
        .into()
    });
    let out = std::path::Path::new(&out);
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).expect("output directory");
    }
    std::fs::write(
        out,
        serde_json::to_string_pretty(&report).expect("JSON") + "\n",
    )
    .expect("writing the report");
    println!("{report:#}");
}
