//! One name per secret. Earlier releases and docs spelled the signer key three ways; the
//! old spellings still resolve, with a warning that names the new one, so nobody's stored
//! secret stops working on upgrade.

use super::{Secret, SecretError, SecretStore};
use crate::config::schema::SIGNER_API_KEY_SECRET;

/// Old secret names and the name each became.
pub const DEPRECATED_SECRET_NAMES: &[(&str, &str)] = &[
    ("tiktok-signer-api-key", SIGNER_API_KEY_SECRET),
    ("signer_api_key", SIGNER_API_KEY_SECRET),
];

/// The variable `tail` and `record` read the signer key from when no store is asked: the
/// env store's own spelling of [`SIGNER_API_KEY_SECRET`].
pub const SIGNER_API_KEY_ENV: &str = "TIKTWITCH_SECRET_TIKTOK_SIGNER_API_KEY";

/// The variable earlier releases read instead of [`SIGNER_API_KEY_ENV`].
pub const DEPRECATED_SIGNER_API_KEY_ENV: &str = "TIKTWITCH_SIGNER_KEY";

/// The name `name` stands for today: itself, or the new name of a deprecated spelling
/// (with a warning on standard error, for the commands a person types).
pub fn canonical(name: &str) -> &str {
    match DEPRECATED_SECRET_NAMES.iter().find(|(old, _)| *old == name) {
        Some((old, new)) => {
            stderr_line!("warning: the secret name {old:?} is deprecated; using {new:?}");
            new
        }
        None => name,
    }
}

/// `name` from `store`, or else the value stored under a deprecated spelling of it (with a
/// warning in the log saying how to move it).
pub async fn get(store: &dyn SecretStore, name: &str) -> Result<Option<Secret>, SecretError> {
    if let Some(value) = store.get(name).await? {
        return Ok(Some(value));
    }
    let Some((old, value)) = deprecated_entry(store, name).await? else {
        return Ok(None);
    };
    tracing::warn!(
        "the secret {old:?} uses a deprecated name; store it as {name:?} (tiktwitch secret set {name}) and delete the old one"
    );
    Ok(Some(value))
}

/// The deprecated spelling of `name` that `store` holds a value under, if any.
pub async fn deprecated_entry(
    store: &dyn SecretStore,
    name: &str,
) -> Result<Option<(&'static str, Secret)>, SecretError> {
    for (old, _) in DEPRECATED_SECRET_NAMES.iter().filter(|(_, new)| *new == name) {
        if let Some(value) = store.get(old).await? {
            return Ok(Some((old, value)));
        }
    }
    Ok(None)
}

/// The signer key from the process environment: [`SIGNER_API_KEY_ENV`], else the
/// deprecated [`DEPRECATED_SIGNER_API_KEY_ENV`] (with a warning).
pub fn signer_key_from_env() -> Option<String> {
    let read = |var: &str| std::env::var(var).ok().filter(|v| !v.trim().is_empty());
    read(SIGNER_API_KEY_ENV).or_else(|| {
        let value = read(DEPRECATED_SIGNER_API_KEY_ENV)?;
        stderr_line!(
            "warning: {DEPRECATED_SIGNER_API_KEY_ENV} is deprecated; set {SIGNER_API_KEY_ENV} instead"
        );
        Some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::MemoryStore;

    #[tokio::test]
    async fn old_spellings_still_resolve_and_the_new_one_wins() {
        let store = MemoryStore::default();
        assert!(get(&store, SIGNER_API_KEY_SECRET).await.unwrap().is_none());
        store
            .set("tiktok-signer-api-key", &Secret::new("old"))
            .await
            .unwrap();
        let found = get(&store, SIGNER_API_KEY_SECRET).await.unwrap().unwrap();
        assert_eq!(found.expose(), "old");
        store
            .set(SIGNER_API_KEY_SECRET, &Secret::new("new"))
            .await
            .unwrap();
        let found = get(&store, SIGNER_API_KEY_SECRET).await.unwrap().unwrap();
        assert_eq!(found.expose(), "new");
        // Other names have no aliases.
        assert!(get(&store, "twitch-token").await.unwrap().is_none());
    }

    #[test]
    fn canonical_maps_every_old_name() {
        for (old, new) in DEPRECATED_SECRET_NAMES {
            assert_eq!(canonical(old), *new);
        }
        assert_eq!(canonical("twitch-token"), "twitch-token");
        // The env spelling is the env store's spelling of the canonical name.
        let suffix = SIGNER_API_KEY_SECRET.to_ascii_uppercase().replace('-', "_");
        assert_eq!(
            SIGNER_API_KEY_ENV,
            format!("{}{suffix}", crate::secret::env::DEFAULT_PREFIX)
        );
    }
}
