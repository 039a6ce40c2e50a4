//! The OperatingSystemConfig actuator: reads the Secrets the OSC references, renders, and leaves
//! the result Secret and the status to the framework.

use crate::config::ExtensionConfig;
use crate::render::{SecretData, referenced_secrets, render};
use async_trait::async_trait;
use extension_framework::config::ConfigFile;
use extension_framework::osc::OscOutput;
use extension_framework::{Actuator, Context, Error};
use gardener_api::extensions::OperatingSystemConfig;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};

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
        let output = render(osc, &self.config.get(), &secrets)?;
        if let Some(user_data) = &output.user_data {
            tracing::info!(bytes = user_data.len(), "Rendered Ignition user data");
        }
        Ok(output)
    }

    async fn delete(&self, _: &Context, _: &OperatingSystemConfig) -> Result<(), Error> {
        Ok(())
    }

    async fn migrate(&self, _: &Context, _: &OperatingSystemConfig) -> Result<(), Error> {
        Ok(())
    }
}
