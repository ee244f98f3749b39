//! [`MemoryStore`]: secrets in process memory, for tests and `tiktwitch demo`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Secret, SecretError, SecretStore, validate_name};

/// Secrets in process memory; gone when the process ends. Not selectable by
/// `secret_store`: tests and the demo construct it directly.
#[derive(Debug, Default)]
pub struct MemoryStore {
    secrets: Mutex<BTreeMap<String, Secret>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl SecretStore for MemoryStore {
    async fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        validate_name(name)?;
        let secrets = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        Ok(secrets.get(name).cloned())
    }

    async fn set(&self, name: &str, value: &Secret) -> Result<(), SecretError> {
        validate_name(name)?;
        let mut secrets = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        secrets.insert(name.to_string(), value.clone());
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<bool, SecretError> {
        validate_name(name)?;
        let mut secrets = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        Ok(secrets.remove(name).is_some())
    }

    fn describe(&self) -> String {
        "memory (this process only)".to_string()
    }
}
