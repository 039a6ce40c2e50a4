//! Flux's manifests downloaded from a release URL (a local server here: no test reaches the
//! internet), cached per version, with clear errors.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use shoot_flux::manifests::ManifestSource;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

async fn serve() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new()
        .route(
            "/releases/download/{version}/install.yaml",
            get(move |Path(version): Path<String>| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let file = format!("{}/{version}/install.yaml", shoot_flux::BUNDLED_MANIFESTS);
                    match std::fs::read_to_string(file) {
                        Ok(text) => (StatusCode::OK, text),
                        Err(_) => (StatusCode::NOT_FOUND, "Not Found".to_string()),
                    }
                }
            }),
        )
        .route(
            "/moved/{version}/install.yaml",
            get(|Path(version): Path<String>| async move {
                (
                    StatusCode::FOUND,
                    [(
                        "location",
                        format!("/releases/download/{version}/install.yaml"),
                    )],
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), hits)
}

#[tokio::test]
async fn releases_are_downloaded_once_per_version() {
    let (base, hits) = serve().await;
    let source = ManifestSource::new(
        None,
        &format!("{base}/releases/download/{{version}}/install.yaml"),
    );
    let objects = source.release("v2.9.2").await.unwrap();
    assert!(objects.iter().any(|o| o["kind"] == "Namespace"));
    source.release("v2.9.2").await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1, "cached");
    let missing = source.release("v0.0.1").await.unwrap_err().to_string();
    assert!(
        missing.starts_with("downloading Flux v0.0.1 manifests from http://")
            && missing.ends_with("HTTP 404 Not Found"),
        "{missing}"
    );
    let redirected = ManifestSource::new(None, &format!("{base}/moved/{{version}}/install.yaml"));
    assert!(
        redirected.release("v2.9.2").await.is_ok(),
        "redirects are followed"
    );
    let unreachable = ManifestSource::new(None, "http://127.0.0.1:1/{version}/install.yaml");
    assert!(
        unreachable
            .release("v2.9.2")
            .await
            .unwrap_err()
            .to_string()
            .contains("127.0.0.1:1")
    );
    let offline = ManifestSource::new(Some("/nonexistent".into()), "unused");
    assert!(
        offline
            .release("v2.9.2")
            .await
            .unwrap_err()
            .to_string()
            .starts_with("reading Flux v2.9.2 manifests from /nonexistent/v2.9.2/install.yaml")
    );
}
