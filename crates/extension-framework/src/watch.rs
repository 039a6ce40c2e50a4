//! The one watch pipeline every controller and cache of the framework uses.
//!
//! * **One odd object never stops a watch.** kube's typed list fails as a whole when one item does
//!   not decode; here each object is decoded on its own ([`Lenient`]), and an object that does not
//!   decode is logged with its name and the decode error and skipped.
//! * **Errors say what failed.** Watch and list errors are logged at error level with the
//!   controller, the resource and the whole cause chain (kube's top-level message alone, e.g.
//!   `client error (Connect)`, hides the reason), then retried with kube's default backoff.
//! * `managedFields` are pruned before objects reach a store.

use futures::{Stream, StreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt::Debug;

/// An object as read from the API server: decoded, or kept aside with its metadata and the error.
#[derive(Clone, Debug)]
pub(crate) enum Lenient<K> {
    /// Decoded.
    Decoded(K),
    /// Not decodable as `K`.
    Undecodable {
        /// Whatever of the metadata decodes (for the log line and the watch bookkeeping).
        metadata: Box<ObjectMeta>,
        /// Why `K` did not decode.
        error: String,
    },
}

impl<'de, K: DeserializeOwned> Deserialize<'de> for Lenient<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The item's text first: `K` decodes straight from it (no intermediate `Value`, which
        // costs several times the text), and only a failure parses it again for the metadata.
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        match serde_json::from_str::<K>(raw.get()) {
            Ok(k) => Ok(Self::Decoded(k)),
            Err(e) => Ok(Self::Undecodable {
                metadata: Box::new(
                    serde_json::from_str::<Value>(raw.get())
                        .ok()
                        .and_then(|v| ObjectMeta::deserialize(v.get("metadata")?).ok())
                        .unwrap_or_default(),
                ),
                error: e.to_string(),
            }),
        }
    }
}

impl<K: Resource<DynamicType = ()>> Resource for Lenient<K> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        K::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        K::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        K::version(dt)
    }
    fn api_version(dt: &()) -> Cow<'_, str> {
        K::api_version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        K::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        match self {
            Self::Decoded(k) => k.meta(),
            Self::Undecodable { metadata, .. } => metadata,
        }
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Self::Decoded(k) => k.meta_mut(),
            Self::Undecodable { metadata, .. } => metadata,
        }
    }
}

/// `error: cause: cause ...`: the whole chain of an error, as Go's wrapped errors print.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        // Wrappers often repeat their cause's text; print each piece once.
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

/// `<plural>.<group>` (`extensions.extensions.gardener.cloud`, `namespaces`), as Go logs resources.
pub(crate) fn resource_name<K: Resource<DynamicType = ()>>() -> String {
    let group = K::group(&());
    if group.is_empty() {
        K::plural(&()).into_owned()
    } else {
        format!("{}.{}", K::plural(&()), group)
    }
}

fn decoded<K: Resource<DynamicType = ()>>(object: Lenient<K>, controller: &str) -> Option<K> {
    match object {
        Lenient::Decoded(k) => Some(k),
        Lenient::Undecodable { metadata, error } => {
            tracing::error!(
                controller,
                kind = %K::kind(&()),
                resource = %resource_name::<K>(),
                name = metadata.name.as_deref().unwrap_or_default(),
                namespace = metadata.namespace.as_deref().unwrap_or_default(),
                error = %error,
                "Skipping object that cannot be decoded"
            );
            None
        }
    }
}

/// Watches all objects of `K` cluster-wide: undecodable objects skipped and logged, errors logged
/// and retried with backoff, `managedFields` pruned.
///
/// # Guarantees
/// The stream never ends on its own and never yields an `Err` (the `Result` item only keeps kube's
/// stream combinators usable): a failing list or watch is logged (controller, resource, cause
/// chain) and retried. `Init`/`InitDone` are passed through, so a reflector fed from this stream
/// becomes ready after the first complete list.
pub(crate) fn objects<K>(
    client: Client,
    config: watcher::Config,
    controller: String,
) -> impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let api: Api<Lenient<K>> = Api::all(client);
    watcher(api, config)
        .default_backoff()
        .filter_map(move |event| {
            let controller = controller.clone();
            let event = match event {
                Ok(event) => Some(event),
                Err(error) => {
                    tracing::error!(
                        controller = %controller,
                        kind = %K::kind(&()),
                        resource = %resource_name::<K>(),
                        error = %error_chain(&error),
                        "Watch failed, retrying"
                    );
                    None
                }
            };
            futures::future::ready(event.and_then(|e| convert(e, &controller)).map(Ok))
        })
        .modify(|o: &mut K| o.meta_mut().managed_fields = None)
}

fn convert<K: Resource<DynamicType = ()>>(
    event: watcher::Event<Lenient<K>>,
    controller: &str,
) -> Option<watcher::Event<K>> {
    use watcher::Event::*;
    match event {
        Apply(o) => decoded(o, controller).map(Apply),
        InitApply(o) => decoded(o, controller).map(InitApply),
        Delete(o) => decoded(o, controller).map(Delete),
        Init => Some(Init),
        InitDone => Some(InitDone),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gardener_api::extensions::Extension;
    use serde_json::json;

    #[test]
    fn undecodable_objects_keep_their_metadata() {
        let odd = json!({"apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Extension",
            "metadata": {"name": "odd", "namespace": "ns"}, "spec": {"type": 42}});
        let Lenient::<Extension>::Undecodable { metadata, error } =
            serde_json::from_value(odd).unwrap()
        else {
            panic!("a number is no type");
        };
        assert_eq!(metadata.name.as_deref(), Some("odd"));
        assert!(error.contains("invalid type"), "{error}");
        assert!(decoded::<Extension>(Lenient::Undecodable { metadata, error }, "c").is_none());
    }

    #[test]
    fn chains_print_every_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("client error (Connect)")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "tcp connect error: Connection refused (os error 111)",
        ));
        assert_eq!(
            error_chain(&e),
            "client error (Connect): tcp connect error: Connection refused (os error 111)"
        );
        assert_eq!(
            resource_name::<Extension>(),
            "extensions.extensions.gardener.cloud"
        );
    }
}
