//! The OperatingSystemConfig actuator: reads the Secrets the OSC references, renders, and leaves
//! the result Secret and the status to the framework.

use crate::config::ExtensionConfig;
use crate::render::{SecretData, referenced_secrets, render_checked};
use async_trait::async_trait;
use extension_framework::config::ConfigFile;
use extension_framework::osc::OscOutput;
use extension_framework::{Actuator, Context, Error};
use gardener_api::extensions::OperatingSystemConfig;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Resource, ResourceExt};

/// The reason of the warning event for user data above the size limit.
pub const OVERSIZED_REASON: &str = "UserDataTooLarge";

/// Renders user data (provision) and extension units/files (reconcile).
pub struct CoreOsActuator {
    config: ConfigFile<ExtensionConfig>,
}

impl CoreOsActuator {
    /// An actuator using the `--config` handle.
    pub fn new(config: ConfigFile<ExtensionConfig>) -> Self {
        Self { config }
    }

    async fn secrets(ctx: &Context, osc: &OperatingSystemConfig) -> Result<SecretData, Error> {
        let api: Api<Secret> =
            Api::namespaced(ctx.client.clone(), &osc.namespace().unwrap_or_default());
        let mut data = SecretData::new();
        for name in referenced_secrets(osc) {
            // A missing Secret is reported by the renderer, naming the file that needs it.
            if let Some(secret) = api
                .get_opt(&name)
                .await
                .map_err(|e| Error::context(format!("reading secret {name:?}"), e))?
            {
                let values = secret
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.0))
                    .collect();
                data.insert(name, values);
            }
        }
        Ok(data)
    }
}

#[async_trait]
impl Actuator<OperatingSystemConfig> for CoreOsActuator {
    async fn reconcile(
        &self,
        ctx: &Context,
        osc: &OperatingSystemConfig,
    ) -> Result<OscOutput, Error> {
        let secrets = Self::secrets(ctx, osc).await?;
        let rendered = render_checked(osc, &self.config.get(), &secrets)?;
        if let Some((size, limit)) = rendered.oversized {
            warn_oversized(ctx, osc, size, limit).await;
        }
        Ok(rendered.output)
    }

    async fn delete(&self, _: &Context, _: &OperatingSystemConfig) -> Result<(), Error> {
        Ok(())
    }

    async fn migrate(&self, _: &Context, _: &OperatingSystemConfig) -> Result<(), Error> {
        Ok(())
    }
}

/// Says that the user data is larger than providers may accept: an error log line and a Warning
/// event on the OSC. The reconcile itself succeeds: gardenlet decides what the worker does with it.
async fn warn_oversized(ctx: &Context, osc: &OperatingSystemConfig, size: u64, limit: u64) {
    let note = format!(
        "provision user data is {size} bytes, above the limit of {limit} bytes; compress large files with userData.gzipFilesAboveBytes"
    );
    tracing::error!(bytes = size, limit, "User data exceeds the size limit");
    let recorder = Recorder::new(
        ctx.client.clone(),
        Reporter {
            controller: format!("gardener-extension-{}", crate::NAME),
            instance: None,
        },
    );
    let event = Event {
        type_: EventType::Warning,
        reason: OVERSIZED_REASON.into(),
        note: Some(note),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = recorder.publish(&event, &osc.object_ref(&())).await {
        tracing::error!(error = %extension_framework::error_chain(&e), "Could not record the user-data size event");
    }
}
