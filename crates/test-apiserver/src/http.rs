//! The HTTP surface: URL routing, discovery, CRUD, patch and watch handlers.

use crate::error::{ApiError, ApiResult};
use crate::recorder::{FaultAction, Faults, RequestRecord};
use crate::registry::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{self, Deleted, Filter, PatchBody, Store, WriteOptions};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// State shared by all requests.
pub struct Shared {
    /// Objects and history.
    pub store: Mutex<Store>,
    /// Every request served.
    pub log: Mutex<Vec<RequestRecord>>,
    /// Injected faults.
    pub faults: Mutex<Faults>,
    /// Bumped to end all open watches.
    pub close_watches: tokio::sync::watch::Sender<u64>,
    /// How many requests a [`FaultAction::Hang`] or [`FaultAction::HangAfterCommit`] holds.
    pub hung: tokio::sync::watch::Sender<u64>,
    /// How many watches were answered 410 `Expired` (their resourceVersion was compacted).
    pub expired_watches: std::sync::atomic::AtomicU64,
    /// Required bearer token, if any.
    pub token: Option<String>,
    /// Interval of periodic BOOKMARK events.
    pub bookmark_interval: Duration,
}

/// Locks a mutex, recovering from poisoning (a panicking handler must not take the server down).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a URL addresses.
#[derive(Debug)]
enum Route {
    Version,
    Health,
    ApiVersions,
    ApiGroupList,
    ApiGroup(String),
    ResourceList(String, String),
    Resource(Box<ResourceRequest>),
}

#[derive(Clone, Debug)]
struct ResourceRequest {
    rt: ResourceType,
    namespace: String,
    name: Option<String>,
    subresource: Option<String>,
}

fn route(store: &Store, path: &str) -> ApiResult<Route> {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (group, version, rest) = match segments.as_slice() {
        ["version"] => return Ok(Route::Version),
        ["healthz" | "readyz" | "livez", ..] => return Ok(Route::Health),
        ["api"] => return Ok(Route::ApiVersions),
        ["apis"] => return Ok(Route::ApiGroupList),
        ["apis", group] => return Ok(Route::ApiGroup(group.to_string())),
        ["api", version] => return Ok(Route::ResourceList(String::new(), version.to_string())),
        ["apis", group, version] => {
            return Ok(Route::ResourceList(group.to_string(), version.to_string()));
        }
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(ApiError::no_route(path)),
    };
    let (namespace, plural, name, subresource) = match rest {
        ["namespaces", ns, sub @ ("status" | "finalize")] if group.is_empty() => {
            ("", "namespaces", Some(*ns), Some(*sub))
        }
        ["namespaces", ns, plural, tail @ ..] => match tail {
            [] => (*ns, *plural, None, None),
            [name] => (*ns, *plural, Some(*name), None),
            [name, sub] => (*ns, *plural, Some(*name), Some(*sub)),
            _ => return Err(ApiError::no_route(path)),
        },
        [plural] => ("", *plural, None, None),
        [plural, name] => ("", *plural, Some(*name), None),
        [plural, name, sub] => ("", *plural, Some(*name), Some(*sub)),
        _ => return Err(ApiError::no_route(path)),
    };
    let rt = store
        .registry
        .get(group, version, plural)
        .cloned()
        .ok_or_else(|| ApiError::no_route(path))?;
    if !rt.namespaced && !namespace.is_empty() {
        return Err(ApiError::no_route(path));
    }
    match subresource {
        None => {}
        Some("status") if rt.status_subresource => {}
        Some("finalize") if rt.is_namespace() => {}
        Some(_) => return Err(ApiError::no_route(path)),
    }
    Ok(Route::Resource(Box::new(ResourceRequest {
        rt,
        namespace: namespace.to_string(),
        name: name.map(str::to_string),
        subresource: subresource.map(str::to_string),
    })))
}

fn verb_of(
    method: &Method,
    req: &ResourceRequest,
    query: &HashMap<String, String>,
) -> &'static str {
    let watch = query.get("watch").is_some_and(|w| w == "true" || w == "1");
    match (method, req.name.is_some()) {
        (&Method::GET, _) if watch => "watch",
        (&Method::GET, true) => "get",
        (&Method::GET, false) => "list",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        _ => "other",
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// `metadata.name` of a JSON create body, without decoding the rest.
fn created_name(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Named {
        metadata: Option<Meta>,
    }
    #[derive(serde::Deserialize)]
    struct Meta {
        name: Option<String>,
    }
    serde_json::from_slice::<Named>(body).ok()?.metadata?.name
}

/// The name a `metadata.name=<name>` (or `==`) field selector asks for.
fn exact_name(query: &HashMap<String, String>) -> Option<String> {
    query
        .get("fieldSelector")?
        .split(',')
        .find_map(|term| {
            let value = term.strip_prefix("metadata.name")?;
            value.strip_prefix("==").or_else(|| value.strip_prefix('='))
        })
        .map(str::to_string)
}

/// The single entry point: authenticate, route, inject faults, serve, record.
pub async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let query_string = parts.uri.query().unwrap_or_default().to_string();
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(&query_string).unwrap_or_default();
    let mut record = RequestRecord {
        time: store::now(),
        verb: "other".into(),
        method: parts.method.to_string(),
        path: path.clone(),
        query: query_string,
        group: String::new(),
        version: String::new(),
        resource: String::new(),
        subresource: String::new(),
        namespace: String::new(),
        name: String::new(),
        content_type: header_str(&parts.headers, header::CONTENT_TYPE),
        field_manager: query.get("fieldManager").cloned().unwrap_or_default(),
        user_agent: header_str(&parts.headers, header::USER_AGENT),
        code: 0,
    };
    let response = serve(
        &shared,
        &parts.method,
        &parts.headers,
        &path,
        &query,
        body,
        &mut record,
    )
    .await;
    record.code = response.status().as_u16();
    lock(&shared.log).push(record);
    response
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    shared: &Arc<Shared>,
    method: &Method,
    headers: &HeaderMap,
    path: &str,
    query: &HashMap<String, String>,
    body: Body,
    record: &mut RequestRecord,
) -> Response {
    if let Some(token) = &shared.token {
        let expected = format!("Bearer {token}");
        if headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            != Some(expected.as_str())
        {
            return ApiError::unauthorized().into_response();
        }
    }
    let routed = route(&lock(&shared.store), path);
    let req = match routed {
        Ok(Route::Resource(req)) => *req,
        Ok(other) => {
            record.verb = "discovery".into();
            return discovery(shared, other).into_response();
        }
        Err(e) => return e.into_response(),
    };
    let verb = verb_of(method, &req, query);
    record.verb = verb.into();
    record.group = req.rt.group.clone();
    record.version = req.rt.version.clone();
    record.resource = req.rt.plural.clone();
    record.subresource = req.subresource.clone().unwrap_or_default();
    record.namespace = req.namespace.clone();
    record.name = req.name.clone().unwrap_or_default();
    if record.name.is_empty() && matches!(verb, "list" | "watch") {
        // As the real server's request info: a list or watch of one name is authorized (RBAC
        // `resourceNames`) and audited by that name.
        record.name = exact_name(query).unwrap_or_default();
    }
    let (latency, fault) = {
        let mut faults = lock(&shared.faults);
        (faults.latency, faults.take(verb, &record.full_resource()))
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let bytes = match axum::body::to_bytes(body, 64 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => return ApiError::bad_request(format!("reading body: {e}")).into_response(),
    };
    if verb == "create" && record.name.is_empty() {
        // As in audit logs: a create is logged with the name from its body.
        record.name = created_name(&bytes).unwrap_or_default();
    }
    match fault {
        Some(FaultAction::Status(code)) => return ApiError::injected(code).into_response(),
        Some(FaultAction::Hang) => hang(shared).await,
        Some(FaultAction::HangAfterCommit) | None => {}
    }
    let content_type = record.content_type.clone();
    let response = match resource(
        shared,
        verb,
        req,
        query,
        &content_type,
        &record.user_agent,
        bytes,
    )
    .await
    {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    if fault == Some(FaultAction::HangAfterCommit) {
        record.code = response.status().as_u16();
        lock(&shared.log).push(record.clone());
        hang(shared).await;
    }
    response
}

/// Holds a request forever: the connection ends it (client gone, outage, server stopped).
async fn hang(shared: &Shared) -> ! {
    shared.hung.send_modify(|n| *n += 1);
    std::future::pending().await
}

fn json_response(code: StatusCode, value: Value) -> Response {
    (code, axum::Json(value)).into_response()
}

fn parse_body(bytes: &Bytes, content_type: &str) -> ApiResult<Value> {
    if content_type.contains("protobuf") {
        return Err(ApiError::unsupported_media_type(content_type));
    }
    if content_type.contains("yaml") {
        let text = std::str::from_utf8(bytes).map_err(|e| ApiError::bad_request(e.to_string()))?;
        return serde_saphyr::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("invalid YAML body: {e}")));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

fn filter_of(req: &ResourceRequest, query: &HashMap<String, String>) -> ApiResult<Filter> {
    Ok(Filter {
        namespace: (!req.namespace.is_empty()).then(|| req.namespace.clone()),
        labels: LabelSelector::parse(
            query
                .get("labelSelector")
                .map(String::as_str)
                .unwrap_or_default(),
        )?,
        fields: FieldSelector::parse(
            query
                .get("fieldSelector")
                .map(String::as_str)
                .unwrap_or_default(),
        )?,
    })
}

/// Field manager of a write: the `fieldManager` parameter, else the user agent's program name.
fn manager_of(query: &HashMap<String, String>, user_agent: &str) -> String {
    match query.get("fieldManager") {
        Some(m) if !m.is_empty() => m.clone(),
        _ => user_agent
            .split('/')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_string(),
    }
}

async fn resource(
    shared: &Arc<Shared>,
    verb: &str,
    req: ResourceRequest,
    query: &HashMap<String, String>,
    content_type: &str,
    user_agent: &str,
    bytes: Bytes,
) -> ApiResult<Response> {
    let rt = &req.rt;
    let ns = req.namespace.as_str();
    let name = req.name.clone().unwrap_or_default();
    if rt.namespaced && ns.is_empty() && !matches!(verb, "list" | "watch") {
        return Err(ApiError::no_route("namespaced resources need a namespace"));
    }
    let opts = WriteOptions {
        manager: if content_type.contains("apply-patch") {
            query.get("fieldManager").cloned().unwrap_or_default()
        } else {
            manager_of(query, user_agent)
        },
        subresource: req.subresource.clone().unwrap_or_default(),
        dry_run: query.get("dryRun").is_some_and(|d| d == "All"),
    };
    match verb {
        "get" => Ok(json_response(
            StatusCode::OK,
            lock(&shared.store).get(rt, ns, &name)?,
        )),
        "list" => {
            let filter = filter_of(&req, query)?;
            let limit = query.get("limit").and_then(|l| l.parse().ok());
            let page = lock(&shared.store).list(
                rt,
                &filter,
                limit,
                query.get("continue").map(String::as_str),
            )?;
            let mut metadata = json!({ "resourceVersion": page.resource_version.to_string() });
            if let Some(token) = page.continue_token {
                metadata["continue"] = json!(token);
            }
            if let Some(remaining) = page.remaining {
                metadata["remainingItemCount"] = json!(remaining);
            }
            Ok(json_response(
                StatusCode::OK,
                json!({ "apiVersion": rt.api_version(), "kind": format!("{}List", rt.kind), "metadata": metadata, "items": page.items }),
            ))
        }
        "watch" => watch(shared, &req, query),
        "create" => {
            let body = parse_body(&bytes, content_type)?;
            let created = lock(&shared.store).create(rt, ns, body, &opts)?;
            Ok(json_response(StatusCode::CREATED, created))
        }
        "update" => {
            let body = parse_body(&bytes, content_type)?;
            let updated = lock(&shared.store).update(rt, ns, &name, body, &opts)?;
            Ok(json_response(StatusCode::OK, updated))
        }
        "patch" => {
            let body = parse_body(&bytes, content_type)?;
            let patch = if content_type.starts_with("application/merge-patch+json") {
                PatchBody::Merge(body)
            } else if content_type.starts_with("application/json-patch+json") {
                PatchBody::Json(body)
            } else if content_type.starts_with("application/strategic-merge-patch+json") {
                PatchBody::Strategic(body)
            } else if content_type.starts_with("application/apply-patch+yaml") {
                PatchBody::Apply {
                    config: body,
                    force: query.get("force").is_some_and(|f| f == "true"),
                }
            } else {
                return Err(ApiError::unsupported_media_type(content_type));
            };
            let existed = lock(&shared.store).get(rt, ns, &name).is_ok();
            let patched = lock(&shared.store).patch(rt, ns, &name, patch, &opts)?;
            let code = if existed {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            Ok(json_response(code, patched))
        }
        "delete" => {
            let options: Value = if bytes.is_empty() {
                json!({})
            } else {
                parse_body(&bytes, "application/json")?
            };
            let rv = options
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str);
            let uid = options
                .pointer("/preconditions/uid")
                .and_then(Value::as_str);
            let outcome = lock(&shared.store).delete(rt, ns, &name, rv, uid, opts.dry_run)?;
            Ok(match outcome {
                Deleted::Pending(object) => json_response(StatusCode::OK, object),
                Deleted::Gone(object) => {
                    let uid = object.pointer("/metadata/uid").cloned().unwrap_or_default();
                    json_response(
                        StatusCode::OK,
                        json!({
                            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                            "details": { "name": name, "group": rt.group, "kind": rt.plural, "uid": uid },
                        }),
                    )
                }
            })
        }
        "deletecollection" => {
            let filter = filter_of(&req, query)?;
            let mut store = lock(&shared.store);
            let items = store.delete_collection(rt, &filter, opts.dry_run)?;
            let rv = store.current_rv();
            Ok(json_response(
                StatusCode::OK,
                json!({ "apiVersion": rt.api_version(), "kind": format!("{}List", rt.kind), "metadata": { "resourceVersion": rv.to_string() }, "items": items }),
            ))
        }
        _ => Err(ApiError::method_not_allowed(
            "method not allowed on this resource",
        )),
    }
}

fn event_line(type_: &str, object: &Value) -> Bytes {
    let mut line =
        serde_json::to_vec(&json!({ "type": type_, "object": object })).expect("events serialize");
    line.push(b'\n');
    Bytes::from(line)
}

fn typed(rt: &ResourceType, object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.insert("apiVersion".into(), json!(rt.api_version()));
        map.insert("kind".into(), json!(rt.kind));
    }
    object
}

fn bookmark(rt: &ResourceType, rv: u64, initial_events_end: bool) -> Value {
    let mut metadata = json!({ "resourceVersion": rv.to_string() });
    if initial_events_end {
        metadata["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
    }
    json!({ "apiVersion": rt.api_version(), "kind": rt.kind, "metadata": metadata })
}

/// Starts a watch: replay (history or synthetic ADDED), then live changes, bookmarks and the timeout.
fn watch(
    shared: &Arc<Shared>,
    req: &ResourceRequest,
    query: &HashMap<String, String>,
) -> ApiResult<Response> {
    let mut filter = filter_of(req, query)?;
    if let Some(name) = &req.name {
        // A watch on a single object is a watch with fieldSelector=metadata.name.
        let fields = query
            .get("fieldSelector")
            .map(String::as_str)
            .unwrap_or_default();
        filter.fields = FieldSelector::parse(&format!("{fields},metadata.name={name}"))?;
    }
    watch_with(shared, req.rt.clone(), filter, query)
}

fn watch_with(
    shared: &Arc<Shared>,
    rt: ResourceType,
    filter: Filter,
    query: &HashMap<String, String>,
) -> ApiResult<Response> {
    let bookmarks = query
        .get("allowWatchBookmarks")
        .is_some_and(|b| b == "true");
    let send_initial = query.get("sendInitialEvents").is_some_and(|b| b == "true");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let from = query.get("resourceVersion").cloned().unwrap_or_default();
    let mut initial: Vec<Bytes> = Vec::new();
    let (mut rx, mut last_rv) = {
        let store = lock(&shared.store);
        let rx = store.subscribe();
        if send_initial || from.is_empty() || from == "0" {
            initial.extend(
                store
                    .snapshot(&rt, &filter)
                    .iter()
                    .map(|o| event_line("ADDED", o)),
            );
            if send_initial && bookmarks {
                initial.push(event_line(
                    "BOOKMARK",
                    &bookmark(&rt, store.current_rv(), true),
                ));
            }
            (rx, store.current_rv())
        } else {
            let from_rv: u64 = from
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {from:?}")))?;
            match store.changes_since(from_rv) {
                Ok(changes) => {
                    for change in changes.iter().filter(|c| c.gr == rt.group_resource()) {
                        if let Some(kind) = filter.view(change) {
                            initial.push(event_line(kind.as_str(), &typed(&rt, &change.object)));
                        }
                    }
                    (rx, store.current_rv().max(from_rv))
                }
                Err(expired) => {
                    // Like the watch cache: 200, then an ERROR event carrying the 410 Status.
                    shared
                        .expired_watches
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let line = event_line("ERROR", &expired.to_status());
                    let body =
                        Body::from_stream(futures::stream::iter([Ok::<_, Infallible>(line)]));
                    return Ok(watch_response(body));
                }
            }
        }
    };
    let mut closed = shared.close_watches.subscribe();
    closed.borrow_and_update();
    let bookmark_interval = shared.bookmark_interval;
    let live = async_stream(move |tx| async move {
        for line in initial {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval_at(
            tokio::time::Instant::now() + bookmark_interval,
            bookmark_interval,
        );
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = closed.changed() => return,
                _ = ticker.tick(), if bookmarks => {
                    if tx.send(event_line("BOOKMARK", &bookmark(&rt, last_rv, false))).await.is_err() {
                        return;
                    }
                }
                change = rx.recv() => match change {
                    Ok(change) => {
                        if change.rv <= last_rv {
                            continue;
                        }
                        last_rv = change.rv;
                        if change.gr != rt.group_resource() {
                            continue;
                        }
                        if let Some(kind) = filter.view(&change) {
                            let object = typed(&rt, &change.object);
                            if tx.send(event_line(kind.as_str(), &object)).await.is_err() {
                                return;
                            }
                        }
                    }
                    // A slow watcher is disconnected; it resumes from its last resourceVersion.
                    Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
                },
            }
        }
    });
    Ok(watch_response(Body::from_stream(live)))
}

fn watch_response(body: Body) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(body)
        .expect("static response parts are valid")
}

/// Runs a producer task and exposes what it sends as a body stream; the task stops when the client
/// goes away.
fn async_stream<F, Fut>(
    producer: F,
) -> impl futures::Stream<Item = Result<Bytes, Infallible>> + Send + 'static
where
    F: FnOnce(tokio::sync::mpsc::Sender<Bytes>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(producer(tx));
    tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok)
}

fn discovery(shared: &Arc<Shared>, route: Route) -> Response {
    let store = lock(&shared.store);
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for rt in store.registry.all() {
        let versions = groups.entry(rt.group.clone()).or_default();
        if !versions.contains(&rt.version) {
            versions.push(rt.version.clone());
        }
    }
    let group_json = |name: &str, versions: &[String]| {
        let versions: Vec<Value> = versions
            .iter()
            .map(|v| json!({ "groupVersion": format!("{name}/{v}"), "version": v }))
            .collect();
        json!({ "name": name, "versions": versions, "preferredVersion": versions[0] })
    };
    let value = match route {
        Route::Version => json!({
            "major": "1", "minor": "33", "gitVersion": "v1.33.0+test-apiserver",
            "gitCommit": "", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "none", "compiler": "rustc", "platform": "linux/amd64",
        }),
        Route::Health => return (StatusCode::OK, "ok").into_response(),
        Route::ApiVersions => json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1" }],
        }),
        Route::ApiGroupList => {
            let list: Vec<Value> = groups
                .iter()
                .filter(|(g, _)| !g.is_empty())
                .map(|(g, v)| group_json(g, v))
                .collect();
            json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": list })
        }
        Route::ApiGroup(group) => match groups.get(&group).filter(|_| !group.is_empty()) {
            Some(versions) => {
                let mut g = group_json(&group, versions);
                g["kind"] = json!("APIGroup");
                g["apiVersion"] = json!("v1");
                g
            }
            None => return ApiError::no_route(&format!("/apis/{group}")).into_response(),
        },
        Route::ResourceList(group, version) => {
            let resources: Vec<Value> = store
                .registry
                .all()
                .filter(|rt| rt.group == group && rt.version == version)
                .flat_map(ResourceType::discovery)
                .collect();
            if resources.is_empty() {
                return ApiError::no_route(&format!("{group}/{version}")).into_response();
            }
            let group_version = if group.is_empty() {
                version
            } else {
                format!("{group}/{version}")
            };
            json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources })
        }
        Route::Resource(_) => unreachable!("resource routes are not discovery"),
    };
    json_response(StatusCode::OK, value)
}
