//! Secrets Manager: the database credentials (RDS format) and, later, signing keys.

use aws_sdk_secretsmanager::error::DisplayErrorContext;

use crate::CloudError;

/// A Secrets Manager client.
#[derive(Debug, Clone)]
pub struct Secrets {
    client: aws_sdk_secretsmanager::Client,
}

impl Secrets {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: aws_sdk_secretsmanager::Client::new(config),
        }
    }

    /// The secret's string value (`SecretString`). Binary secrets are refused with a reason.
    pub async fn string(&self, id: &str) -> Result<String, CloudError> {
        let fail = |message: String| CloudError::Secret {
            id: id.to_owned(),
            message,
        };
        let output = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| fail(DisplayErrorContext(&e).to_string()))?;
        output
            .secret_string
            .ok_or_else(|| fail("the secret has no string value (binary secrets are not supported)".to_owned()))
    }
}
