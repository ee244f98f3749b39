//! Coins to money for templates: the `money` filter (`{{ total_diamonds | money("EUR") }}`
//! -> `€1.23`) over the table of what one TikTok coin costs per currency
//! ([`CoinPrices`], config data: `config::currency`).

use minijinja::{Error, ErrorKind, Value};

pub use crate::config::currency::CoinPrices;
use crate::config::currency::currency;

/// `coins` in `code`, formatted (`$1,234.56`); `None` for a currency without a price.
pub fn format(prices: &CoinPrices, coins: f64, code: &str) -> Option<String> {
    let price = prices.price(code)?;
    let (_, symbol, decimals) = currency(code)?;
    let amount = coins * price;
    let text = format!("{:.*}", decimals, amount.abs());
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text.as_str(), None),
    };
    let sign = if amount < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    let whole = crate::format::group_thousands(whole.parse().unwrap_or(i64::MAX));
    Some(match fraction {
        Some(f) => format!("{sign}{symbol}{whole}.{f}"),
        None => format!("{sign}{symbol}{whole}"),
    })
}

/// The `money` filter: `value | money` or `value | money("EUR")`.
pub fn filter(prices: &CoinPrices, value: &Value, currency: Option<&str>) -> Result<String, Error> {
    let code = currency
        .unwrap_or(prices.default_currency())
        .trim()
        .to_ascii_uppercase();
    let coins = match f64::try_from(value.clone()) {
        Ok(n) => n,
        Err(_) if value.is_undefined() || value.is_none() => 0.0,
        Err(_) => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("money needs a number of coins, not {value}"),
            ));
        }
    };
    format(prices, coins, &code).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "no coin price for currency {code:?} (priced: {}; add it under [pricing] coin_prices)",
                prices.codes().join(", ")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn coins_format_per_currency() {
        let mut over = BTreeMap::new();
        over.insert("JPY".to_string(), 2.0);
        over.insert("EUR".to_string(), 0.01);
        over.insert("XXX".to_string(), 1.0);
        over.insert("GBP".to_string(), -1.0);
        let p = CoinPrices::new(&over, "USD");
        assert_eq!(format(&p, 100.0, "USD").as_deref(), Some("$1.33"));
        assert_eq!(format(&p, 100_000.0, "USD").as_deref(), Some("$1,330.00"));
        assert_eq!(format(&p, 0.0, "USD").as_deref(), Some("$0.00"));
        assert_eq!(
            format(&p, 150.0, "EUR").as_deref(),
            Some("€1.50"),
            "overridden"
        );
        assert_eq!(
            format(&p, 1234.0, "JPY").as_deref(),
            Some("¥2,468"),
            "no decimals"
        );
        assert_eq!(
            format(&p, 100.0, "GBP").as_deref(),
            Some("£1.05"),
            "a bad override is ignored"
        );
        assert_eq!(
            format(&p, 1.0, "XXX"),
            None,
            "unknown codes are never priced"
        );
        assert_eq!(format(&p, 1.0, "CHF"), None, "known but not priced");
        assert_eq!(p.codes(), ["EUR", "GBP", "JPY", "USD"]);
    }

    #[test]
    fn the_filter_takes_numbers_and_names_the_missing_currency() {
        let p = CoinPrices::default();
        assert_eq!(filter(&p, &Value::from(100), None).unwrap(), "$1.33");
        assert_eq!(filter(&p, &Value::from(100), Some("eur")).unwrap(), "€1.23");
        assert_eq!(filter(&p, &Value::from(2.5), Some("USD")).unwrap(), "$0.03");
        let e = filter(&p, &Value::from(1), Some("CHF")).unwrap_err();
        assert!(
            e.to_string().contains("no coin price for currency \"CHF\""),
            "{e}"
        );
        assert!(filter(&p, &Value::from("many"), None).is_err());
    }
}
