//! Conformance suite of the test API server.
//!
//! Every test talks to an API server through `kube::Api` only. By default it starts the in-process
//! fake; with `TEST_K8S=kubeconfig` the same tests run against the cluster of the current
//! kubeconfig (kind in GitHub Actions). Tests that exercise fake-only hooks (fault injection,
//! request log) skip themselves on real clusters, and vice versa, through `skip_unless_fake!` /
//! `skip_on_fake!`; the list of deliberate differences lives in the crate docs.

#[path = "conformance/common.rs"]
#[macro_use]
mod common;

#[path = "conformance/crud.rs"]
mod crud;
#[path = "conformance/discovery.rs"]
mod discovery;
#[path = "conformance/fake_only.rs"]
mod fake_only;
#[path = "conformance/patches.rs"]
mod patches;
#[path = "conformance/runtime.rs"]
mod runtime;
#[path = "conformance/status.rs"]
mod status;
#[path = "conformance/watch.rs"]
mod watch;
