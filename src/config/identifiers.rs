//! Names users type: TikTok handles, Twitch channels, secret names, and "did you mean".

/// Edit distance in chars where swapping two neighbours counts as one edit (optimal string
/// alignment): `gfit` is one edit from `gift`, as a typist would count it.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The candidate closest to `wrong`, if it is close enough to be a typo: at most one edit
/// per three letters (and at least one).
pub fn nearest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let budget = (wrong.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&wrong.to_lowercase(), c), c))
        .filter(|(d, _)| *d <= budget)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Accepts `name`, `@name`, `https://www.tiktok.com/@name` and `.../@name/live` (any query
/// string), and returns the bare handle.
pub fn normalize_tiktok_username(input: &str) -> Result<String, String> {
    let trimmed = input.trim();
    let handle = if trimmed.contains("tiktok.com") || trimmed.contains('/') {
        let without_query = trimmed.split(['?', '#']).next().unwrap_or_default();
        without_query
            .split('/')
            .find_map(|part| part.strip_prefix('@'))
            .ok_or_else(|| format!("`{input}` is a URL without an `@handle` in it"))?
    } else {
        trimmed.strip_prefix('@').unwrap_or(trimmed)
    };
    let valid_chars = handle
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if handle.len() < 2 || handle.len() > 24 || !valid_chars {
        return Err(format!(
            "`{input}` is not a TikTok handle (2 to 24 letters, digits, `_` or `.`)"
        ));
    }
    Ok(handle.to_lowercase())
}

/// Checks a Twitch login (channel or bot): 1 to 25 of `a-z`, `0-9`, `_`, not starting
/// with `_`. A leading `#` and upper case are forgiven and normalized.
pub fn normalize_twitch_login(input: &str) -> Result<String, String> {
    let login = input.trim().trim_start_matches('#').to_lowercase();
    let valid_chars = login
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if login.is_empty() || login.len() > 25 || !valid_chars || login.starts_with('_') {
        return Err(format!(
            "`{input}` is not a name Twitch accepts (1 to 25 of a-z, 0-9 and `_`, not starting with `_`)"
        ));
    }
    Ok(login)
}

/// Checks the name of a secret, and that it does not look like the secret itself.
pub fn check_secret_name(name: &str) -> Result<(), String> {
    let looks_like_a_value = name.starts_with("oauth:")
        || (name.len() >= 24 && name.chars().all(|c| c.is_ascii_alphanumeric()));
    if looks_like_a_value {
        return Err(
            "this looks like a secret value; the file holds only the NAME of a secret \
             (store the value with `tiktwitch auth` or in the secret store)"
                .into(),
        );
    }
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if valid {
        Ok(())
    } else {
        // The value is not echoed: a mistyped line here may be a real token.
        Err("not a secret name (1 to 64 of letters, digits, `-`, `_`, `.`, `/`)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("chanels", "channels"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("gfit", "gift"), 1);
        assert_eq!(
            nearest("foo", ["log", "http"]),
            None,
            "short words need a close match"
        );
        assert_eq!(nearest("enabeld", ["enabled", "template"]), Some("enabled"));
        assert_eq!(
            nearest("chanels", ["bot_login", "channels"]),
            Some("channels")
        );
        assert_eq!(nearest("zzzzzz", ["channels"]), None);
    }

    #[test]
    fn tiktok_handles_in_every_form() {
        for input in [
            "ursored",
            "@UrsoRed",
            "https://www.tiktok.com/@ursored",
            "https://www.tiktok.com/@ursored/live?lang=en",
            "www.tiktok.com/@ursored/live",
        ] {
            assert_eq!(
                normalize_tiktok_username(input).unwrap(),
                "ursored",
                "{input}"
            );
        }
        assert!(normalize_tiktok_username("https://www.tiktok.com/live").is_err());
        assert!(normalize_tiktok_username("has space").is_err());
        assert!(normalize_tiktok_username("").is_err());
    }

    #[test]
    fn twitch_logins() {
        assert_eq!(normalize_twitch_login("#MyChannel").unwrap(), "mychannel");
        assert!(normalize_twitch_login("my-channel").is_err());
        assert!(normalize_twitch_login("_x").is_err());
        assert!(normalize_twitch_login(&"a".repeat(26)).is_err());
    }

    #[test]
    fn secret_names_are_not_secrets() {
        assert!(check_secret_name("twitch-token").is_ok());
        assert!(check_secret_name("oauth:abcdef").is_err());
        assert!(check_secret_name("abcdefghijklmnopqrstuvwxyz0123").is_err());
        assert!(check_secret_name("a b").is_err());
    }
}
