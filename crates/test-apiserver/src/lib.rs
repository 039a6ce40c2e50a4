//! An in-process Kubernetes API server for testing controllers without a cluster.
//!
//! No kube-apiserver can run on the machines this workspace is built on, so it carries its own. The
//! server speaks the real HTTP API (JSON only) on loopback, so any client works against it: kube-rs,
//! `kubectl --raw`, scripts and the extension binaries themselves.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use test_apiserver::TestApiServer;
//! let server = TestApiServer::builder().start().await?;
//! let client = server.client().await?;
//! let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
//! assert!(namespaces.get_opt("default").await?.is_some());
//! println!("requests so far: {}", server.requests().len());
//! # Ok(()) }
//! ```
//!
//! # What it implements
//! * Objects: `resourceVersion` (one global counter), `uid`, `creationTimestamp`, `generation` (bumped
//!   on changes outside metadata and status), `generateName`, namespace checks, name validation,
//!   no-op writes that keep the resourceVersion and emit no event.
//! * Verbs: get, list (label and field selectors, `limit`/`continue`), watch (replay from a
//!   resourceVersion, synthetic ADDED for `0`/empty, `sendInitialEvents` with the initial-events-end
//!   bookmark, periodic bookmarks, `timeoutSeconds`, 410 `Expired` after compaction), create,
//!   update (409 on a stale resourceVersion), patch (merge, JSON with Kubernetes' `test` of `null`
//!   on a missing path, strategic for built-ins, server-side apply with field managers and
//!   conflicts), delete (finalizers and `deletionTimestamp`, preconditions), deletecollection.
//! * The status subresource: the main endpoint ignores `.status`, `/status` changes only `.status`.
//! * CRDs registered live through `apiextensions.k8s.io/v1` with `Established` conditions and
//!   structural-schema validation, pruning and defaulting (422 `Invalid`), and their CEL rules
//!   (`x-kubernetes-validations`, with `oldSelf` transition rules on updates).
//! * Discovery (`/version`, `/api`, `/apis`, group and resource lists).
//! * Errors as `Status` objects with the reasons kube-rs matches on.
//! * Test hooks: a request log ([`RunningServer::requests`]), fault injection
//!   ([`RunningServer::inject_fault`]: error codes in bursts or as a steady share, requests that
//!   hang before or after their write; [`RunningServer::set_latency`]), closing all watches,
//!   compacting the history, and outages that cut every connection and refuse new ones until the
//!   server comes back on the same address ([`RunningServer::go_down`]).
//!
//! # Known differences from a real API server
//! The conformance suite (`tests/conformance.rs`) runs unchanged against a real cluster with
//! `TEST_K8S=kubeconfig`; where the fake deliberately differs, that is listed here and nowhere else:
//! * JSON only: no protobuf, no `/openapi`, so `kubectl` works through `kubectl --raw` only.
//! * No admission webhooks or ValidatingAdmissionPolicies, no RBAC, no garbage collection of
//!   ownerReferences, no controllers (Deployments never get Pods).
//! * CEL rules are evaluated by the `cel` crate without Kubernetes' CEL library extensions
//!   (`isSorted`, `url`, `quantity`, ...), type checking or cost limits; a rule it cannot compile or
//!   evaluate is skipped, not rejected. Rules below arrays see no `oldSelf` (real servers correlate
//!   `x-kubernetes-list-type: map` items), and the message's value is the OpenAPI type name.
//! * Schema validation ignores `pattern` and `format`; built-in kinds are not schema-validated.
//! * Server-side apply owns lists as a whole (no list-map merge by key); strategic merge patches
//!   are applied as JSON merge patches.
//! * A `continue` token lists the current state after the last key instead of a snapshot at the
//!   first page's resourceVersion; `resourceVersionMatch` is accepted and ignored (always the
//!   latest state).
//! * Periodic watch bookmarks come every [`Builder::bookmark_interval`] (default 5 s) instead of
//!   about once a minute.
//! * Request bodies nested deeper than 128 levels are rejected as invalid JSON (serde_json's
//!   limit); a real server accepts up to 10,000. kube-rs clients cannot decode such objects
//!   either, so a controller's list of them fails as a whole.
//! * Namespace deletion removes content immediately (objects with finalizers wait), with no
//!   `NamespaceDeletionContentFailure` conditions.

mod cel;
pub mod error;
mod http;
pub mod patch;
pub mod recorder;
pub mod registry;
pub mod schema;
pub mod selectors;
pub mod store;
pub mod tls;

pub use error::ApiError;
pub use recorder::{FaultAction, FaultRule, RequestRecord};

use crate::http::{Shared, lock};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{Store, WriteOptions};
use tokio::net::TcpListener;

/// Errors starting the server or loading manifests.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Binding or serving failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Certificates could not be created.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// A manifest is not valid YAML.
    #[error("parsing {file}: {message}")]
    Yaml {
        /// The file.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// The API rejected a manifest.
    #[error("applying {object}: {source}")]
    Apply {
        /// `kind/name`.
        object: String,
        /// The API error.
        source: Box<ApiError>,
    },
    /// Building a kube client failed.
    #[error("kube client: {0}")]
    Kube(String),
}

/// Configures and starts a [`RunningServer`].
#[derive(Clone, Debug)]
pub struct Builder {
    listen: SocketAddr,
    tls: bool,
    token: Option<String>,
    bookmark_interval: Duration,
    history_limit: usize,
}

/// Entry point: `TestApiServer::builder()...start()`.
pub struct TestApiServer;

impl TestApiServer {
    /// A builder with defaults: plain HTTP on `127.0.0.1:0`, no token.
    pub fn builder() -> Builder {
        Builder {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
            token: None,
            bookmark_interval: Duration::from_secs(5),
            history_limit: 50_000,
        }
    }
}

impl Builder {
    /// Address to listen on (port 0 picks a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Serve HTTPS with a freshly generated CA.
    pub fn tls(mut self, enabled: bool) -> Self {
        self.tls = enabled;
        self
    }

    /// Require `Authorization: Bearer <token>`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Interval of periodic watch bookmarks.
    pub fn bookmark_interval(mut self, interval: Duration) -> Self {
        self.bookmark_interval = interval;
        self
    }

    /// How many changes the watch history keeps before older resourceVersions expire.
    pub fn history_limit(mut self, limit: usize) -> Self {
        self.history_limit = limit;
        self
    }

    /// Binds and starts serving in the background of the current tokio runtime.
    pub async fn start(self) -> Result<RunningServer, Error> {
        let listener = TcpListener::bind(self.listen).await?;
        let addr = listener.local_addr()?;
        let mut store = Store::new(self.history_limit);
        let system = WriteOptions {
            manager: "test-apiserver".into(),
            ..WriteOptions::default()
        };
        let namespaces = store
            .registry
            .get("", "v1", "namespaces")
            .cloned()
            .expect("namespaces are built in");
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            store
                .create(
                    &namespaces,
                    "",
                    json!({ "metadata": { "name": ns } }),
                    &system,
                )
                .expect("system namespaces are valid");
        }
        let (close_watches, _) = tokio::sync::watch::channel(0);
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Default::default()),
            close_watches,
            hung: tokio::sync::watch::channel(0).0,
            expired_watches: Default::default(),
            token: self.token.clone(),
            bookmark_interval: self.bookmark_interval,
        });
        let router = axum::Router::new()
            .fallback(http::handle)
            .with_state(shared.clone());
        let (state_tx, state_rx) = tokio::sync::watch::channel(Serving::Up);
        let (scheme, ca_pem, tls) = if self.tls {
            let tls = tls::generate()?;
            ("https", Some(tls.ca_pem), Some(tls.server_config))
        } else {
            ("http", None, None)
        };
        let relisten = Arc::new(Mutex::new(None));
        tokio::spawn(serve_loop(
            listener,
            router,
            tls,
            state_rx,
            relisten.clone(),
        ));
        Ok(RunningServer {
            url: format!("{scheme}://127.0.0.1:{}", addr.port()),
            addr,
            ca_pem,
            token: self.token,
            shared,
            state: state_tx,
            relisten,
        })
    }
}

/// Whether the server answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Serving {
    Up,
    /// Not listening, every connection dropped: clients get "connection refused".
    Down,
    Stopped,
}

/// The listener [`RunningServer::come_back`] bound, handed to the serving loop.
type Relisten = Arc<Mutex<Option<std::net::TcpListener>>>;

/// Accepts connections until stopped; an outage drops the listener and every open connection,
/// and its end takes up the listener `come_back` bound on the same address.
async fn serve_loop(
    mut listener: TcpListener,
    router: axum::Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    mut state: tokio::sync::watch::Receiver<Serving>,
    relisten: Relisten,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let outage = tokio::select! {
            _ = state.wait_for(|s| *s != Serving::Up) => true,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(serve_connection(stream, router.clone(), acceptor.clone()));
                }
                false
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => false,
        };
        if !outage {
            continue;
        }
        connections.abort_all();
        drop(listener);
        if !matches!(
            state.wait_for(|s| *s != Serving::Down).await.map(|s| *s),
            Ok(Serving::Up)
        ) {
            return;
        }
        let Some(Ok(next)) = lock(&relisten).take().map(TcpListener::from_std) else {
            return;
        };
        listener = next;
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: axum::Router,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::service::TowerToHyperService;
    let service = TowerToHyperService::new(router);
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    match acceptor {
        Some(acceptor) => {
            if let Ok(tls) = acceptor.accept(stream).await {
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(tls), service)
                    .await;
            }
        }
        None => {
            let _ = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await;
        }
    }
}

/// A started server. Dropping it stops serving.
pub struct RunningServer {
    url: String,
    addr: SocketAddr,
    ca_pem: Option<String>,
    token: Option<String>,
    shared: Arc<Shared>,
    state: tokio::sync::watch::Sender<Serving>,
    relisten: Relisten,
}

impl RunningServer {
    /// Base URL, e.g. `http://127.0.0.1:34567`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A kubeconfig (YAML) for this server, with the CA and token when configured.
    pub fn kubeconfig_yaml(&self) -> String {
        use base64::Engine;
        let mut cluster = json!({ "server": self.url });
        if let Some(ca) = &self.ca_pem {
            cluster["certificate-authority-data"] =
                json!(base64::engine::general_purpose::STANDARD.encode(ca));
        }
        let mut user = json!({});
        if let Some(token) = &self.token {
            user["token"] = json!(token);
        }
        let config = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{ "name": "test-apiserver", "cluster": cluster }],
            "users": [{ "name": "test-apiserver", "user": user }],
            "contexts": [{ "name": "test-apiserver", "context": { "cluster": "test-apiserver", "user": "test-apiserver" } }],
            "current-context": "test-apiserver",
        });
        serde_saphyr::to_string(&config).expect("kubeconfig serializes")
    }

    /// Writes [`Self::kubeconfig_yaml`] to `path` (creating parent directories).
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), Error> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, self.kubeconfig_yaml())?;
        Ok(())
    }

    /// The parsed kubeconfig.
    pub fn kubeconfig(&self) -> kube::config::Kubeconfig {
        kube::config::Kubeconfig::from_yaml(&self.kubeconfig_yaml()).expect("own kubeconfig parses")
    }

    /// A kube client built from the kubeconfig, so TLS and auth take the production code path.
    pub async fn client(&self) -> Result<kube::Client, Error> {
        kube::Client::try_from(self.client_config().await?).map_err(|e| Error::Kube(e.to_string()))
    }

    /// Like [`Self::client`], sending `user_agent`, so that [`Self::requests`] tells this client's
    /// requests apart (as audit logs do for a real extension).
    pub async fn client_as(&self, user_agent: &str) -> Result<kube::Client, Error> {
        let mut config = self.client_config().await?;
        let agent =
            ::http::HeaderValue::from_str(user_agent).map_err(|e| Error::Kube(e.to_string()))?;
        config.headers.push((::http::header::USER_AGENT, agent));
        kube::Client::try_from(config).map_err(|e| Error::Kube(e.to_string()))
    }

    async fn client_config(&self) -> Result<kube::Config, Error> {
        kube::Config::from_custom_kubeconfig(
            self.kubeconfig(),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .map_err(|e| Error::Kube(e.to_string()))
    }

    /// Every request served so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.log).clone()
    }

    /// The RBAC attributes ([`RequestRecord::rbac_attributes`]) of the resource requests sent
    /// with a user agent starting with `agent`, in order.
    pub fn rbac_requests(&self, agent: &str) -> Vec<[String; 4]> {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.user_agent.starts_with(agent))
            .filter_map(RequestRecord::rbac_attributes)
            .collect()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Answers the next matching requests with an error.
    pub fn inject_fault(&self, rule: FaultRule) {
        lock(&self.shared.faults).rules.push(rule);
    }

    /// Keeps only the fault rules for which `keep` returns true (e.g. ends a burst while a
    /// steady share stays).
    pub fn retain_faults(&self, keep: impl FnMut(&FaultRule) -> bool) {
        lock(&self.shared.faults).rules.retain(keep);
    }

    /// Delays every resource request.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.shared.faults).latency = latency;
    }

    /// Removes all faults and latency.
    pub fn clear_faults(&self) {
        *lock(&self.shared.faults) = Default::default();
    }

    /// Ends every open watch (clients see the stream close and re-watch).
    pub fn close_watches(&self) {
        self.shared.close_watches.send_modify(|n| *n += 1);
    }

    /// Drops the watch history: watches from older resourceVersions answer 410 `Expired`.
    pub fn compact(&self) {
        lock(&self.shared.store).compact();
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        lock(&self.shared.store).current_rv()
    }

    /// Creates or updates the objects of a multi-document YAML (or JSON) string, in order. A
    /// document's `status` is written through the status subresource.
    pub fn apply_yaml(&self, yaml: &str, source: &str) -> Result<usize, Error> {
        let docs: Vec<Value> = serde_saphyr::from_multiple(yaml).map_err(|e| Error::Yaml {
            file: source.into(),
            message: e.to_string(),
        })?;
        let mut count = 0;
        for doc in docs.into_iter().filter(|d| d.is_object()) {
            let items = match doc.get("kind").and_then(Value::as_str) {
                Some("List") => doc
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                _ => vec![doc],
            };
            for item in items {
                self.apply_object(item)?;
                count += 1;
            }
        }
        Ok(count)
    }

    fn apply_object(&self, object: Value) -> Result<(), Error> {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let label = format!("{kind}/{name}");
        let fail = |source: ApiError| Error::Apply {
            object: label.clone(),
            source: Box::new(source),
        };
        let mut store = lock(&self.shared.store);
        let rt = store
            .registry
            .by_kind(&api_version, &kind)
            .cloned()
            .ok_or_else(|| fail(ApiError::no_route(&format!("{api_version}, Kind={kind}"))))?;
        let ns = if rt.namespaced {
            object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string()
        } else {
            String::new()
        };
        let opts = WriteOptions {
            manager: "test-apiserver".into(),
            ..WriteOptions::default()
        };
        let status = object.get("status").cloned();
        let written = match store.create(&rt, &ns, object.clone(), &opts) {
            Err(e) if e.reason == "AlreadyExists" => {
                let mut update = object;
                if let Some(meta) = update.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.remove("resourceVersion");
                }
                store.update(&rt, &ns, &name, update, &opts).map_err(fail)?
            }
            other => other.map_err(fail)?,
        };
        if let (Some(status), true) = (status, rt.status_subresource) {
            let mut with_status = written;
            with_status["status"] = status;
            let opts = WriteOptions {
                subresource: "status".into(),
                ..opts
            };
            store
                .update(&rt, &ns, &name, with_status, &opts)
                .map_err(fail)?;
        }
        Ok(())
    }

    /// Applies every `*.yaml`/`*.yml`/`*.json` file below `dir`, in path order.
    pub fn load_dir(&self, dir: &Path) -> Result<usize, Error> {
        let mut files = Vec::new();
        collect_manifests(dir, &mut files)?;
        files.sort();
        let mut count = 0;
        for file in files {
            let text = std::fs::read_to_string(&file)?;
            count += self.apply_yaml(&text, &file.display().to_string())?;
        }
        Ok(count)
    }

    /// Stops serving and ends all watches.
    pub fn shutdown(&self) {
        self.close_watches();
        let _ = self.state.send(Serving::Stopped);
    }

    /// Starts an outage: the listener closes and every open connection (watches, requests in
    /// flight) is cut, as when the API server's process goes away. Objects are kept.
    pub fn go_down(&self) {
        self.state.send_if_modified(|s| {
            let changed = *s == Serving::Up;
            if changed {
                *s = Serving::Down;
            }
            changed
        });
    }

    /// Ends an outage: the server listens on the same address again, with the same objects and
    /// resourceVersions. The address is bound before this returns, so a client connecting right
    /// after is not refused.
    ///
    /// # Errors
    /// The address cannot be bound again (something else took the port meanwhile).
    pub fn come_back(&self) -> Result<(), Error> {
        if *self.state.borrow() != Serving::Down {
            return Ok(());
        }
        let listener = std::net::TcpListener::bind(self.addr)?;
        listener.set_nonblocking(true)?;
        *lock(&self.relisten) = Some(listener);
        self.state.send_replace(Serving::Up);
        Ok(())
    }

    /// How many requests a hang fault ([`FaultAction::Hang`], [`FaultAction::HangAfterCommit`])
    /// holds or has held.
    pub fn hung_requests(&self) -> u64 {
        *self.shared.hung.borrow()
    }

    /// How many watches were answered 410 `Expired` because their resourceVersion was compacted
    /// away ([`RunningServer::compact`]): each one made its client relist.
    pub fn expired_watches(&self) -> u64 {
        self.shared
            .expired_watches
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits until hang faults have caught `n` requests in total.
    pub async fn wait_hung(&self, n: u64) {
        let mut hung = self.shared.hung.subscribe();
        let _ = hung.wait_for(|h| *h >= n).await;
    }
}

fn collect_manifests(path: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            collect_manifests(&entry?.path(), out)?;
        }
    } else if path
        .extension()
        .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
    {
        out.push(path.to_path_buf());
    }
    Ok(())
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
