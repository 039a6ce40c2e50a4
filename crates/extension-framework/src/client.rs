//! The seed client: kubeconfig resolution as Gardener does it, plus `rest_client_*` metrics.

use crate::metrics::Metrics;
use futures::future::BoxFuture;
use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::path::Path;
use std::task::{Context, Poll};
use std::time::Instant;

/// Errors building the client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The kubeconfig file could not be read or used.
    #[error("kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file.
        path: String,
        /// kube's error.
        source: kube::config::KubeconfigError,
    },
    /// `--master` is not a URL.
    #[error("--master {master}: {source}")]
    Master {
        /// The value given.
        master: String,
        /// The parse error.
        source: http::uri::InvalidUri,
    },
    /// No configuration found anywhere.
    #[error("no kubeconfig: pass --kubeconfig, set KUBECONFIG or run in a cluster")]
    NotFound,
    /// The client could not be built.
    #[error("building the client: {0}")]
    Build(#[source] kube::Error),
}

async fn from_file(path: &Path) -> Result<Config, ClientError> {
    let fail = |source| ClientError::Kubeconfig {
        path: path.display().to_string(),
        source,
    };
    let kubeconfig = Kubeconfig::read_from(path).map_err(fail)?;
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(fail)
}

/// Resolves the configuration: `--kubeconfig`, then `$KUBECONFIG`, then in-cluster, then
/// `~/.kube/config`; `--master` overrides the server URL.
pub async fn config(
    kubeconfig: Option<&Path>,
    master: Option<&str>,
) -> Result<Config, ClientError> {
    let mut config = if let Some(path) = kubeconfig {
        from_file(path).await?
    } else if let Some(path) = std::env::var_os("KUBECONFIG").filter(|p| !p.is_empty()) {
        from_file(Path::new(&path)).await?
    } else if let Ok(in_cluster) = Config::incluster() {
        in_cluster
    } else if let Some(home) = std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .map(|h| h.join(".kube/config"))
        .filter(|p| p.exists())
    {
        from_file(&home).await?
    } else {
        return Err(ClientError::NotFound);
    };
    if let Some(master) = master.filter(|m| !m.is_empty()) {
        config.cluster_url = master.parse().map_err(|source| ClientError::Master {
            master: master.to_string(),
            source,
        })?;
    }
    Ok(config)
}

/// Whether the seed's API server answered the last request: any HTTP answer counts, a transport
/// error (connection refused, reset, TLS failure) does not. `/readyz` reports it.
#[derive(Clone, Debug, Default)]
pub struct Connectivity(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl Connectivity {
    /// The last transport error, while no answer has come since.
    pub fn failure(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn observe(&self, failure: Option<String>) {
        let mut last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if *last != failure {
            match &failure {
                Some(error) => tracing::warn!(%error, "The API server cannot be reached"),
                None => tracing::info!("The API server answers again"),
            }
            *last = failure;
        }
    }
}

/// The seed client: requests are counted in `rest_client_requests_total`, and transport errors
/// recorded in [`Metrics::connectivity`].
pub fn build(config: Config, metrics: &Metrics) -> Result<Client, ClientError> {
    build_with(config, metrics, Some(metrics.connectivity().clone()))
}

fn build_with(
    config: Config,
    metrics: &Metrics,
    connectivity: Option<Connectivity>,
) -> Result<Client, ClientError> {
    let host = config
        .cluster_url
        .authority()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let layer = RequestMetricsLayer {
        metrics: metrics.clone(),
        host,
        connectivity,
    };
    Ok(ClientBuilder::try_from(config)
        .map_err(ClientError::Build)?
        .with_layer(&layer)
        .build())
}

/// Tower layer recording each request's method, status code and latency.
#[derive(Clone)]
pub struct RequestMetricsLayer {
    metrics: Metrics,
    host: String,
    connectivity: Option<Connectivity>,
}

impl<S> tower::Layer<S> for RequestMetricsLayer {
    type Service = RequestMetrics<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequestMetrics {
            inner,
            metrics: self.metrics.clone(),
            host: self.host.clone(),
            connectivity: self.connectivity.clone(),
        }
    }
}

/// See [`RequestMetricsLayer`].
#[derive(Clone)]
pub struct RequestMetrics<S> {
    inner: S,
    metrics: Metrics,
    host: String,
    connectivity: Option<Connectivity>,
}

impl<S, B, RB> tower::Service<http::Request<B>> for RequestMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.method().to_string();
        let started = Instant::now();
        let (metrics, host) = (self.metrics.clone(), self.host.clone());
        let connectivity = self.connectivity.clone();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            let code = result.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
            metrics.observe_request(&method, code, &host, started.elapsed());
            if let Some(connectivity) = connectivity {
                connectivity.observe(result.as_ref().err().map(ToString::to_string));
            }
            result
        })
    }
}

/// Environment variable gardenlet sets when the ControllerDeployment asks for garden access
/// (`injectGardenKubeconfig`): the path of a kubeconfig for the garden cluster.
pub const GARDEN_KUBECONFIG_ENV: &str = "GARDEN_KUBECONFIG";

/// A second client for the garden cluster (e.g. shoot-flux reads project resources there), from
/// `--garden-kubeconfig`-style `path` or `$GARDEN_KUBECONFIG`. `Ok(None)` when neither is set.
pub async fn garden_client(
    path: Option<&Path>,
    metrics: &Metrics,
) -> Result<Option<Client>, ClientError> {
    let from_env = std::env::var_os(GARDEN_KUBECONFIG_ENV)
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from);
    let Some(path) = path.map(Path::to_path_buf).or(from_env) else {
        return Ok(None);
    };
    let config = from_file(&path).await?;
    build_with(config, metrics, None).map(Some)
}
