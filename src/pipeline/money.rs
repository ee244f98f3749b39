//! Coins to money for templates: the `money` filter (`{{ total_diamonds | money("EUR") }}`
//! -> `€1.23`) over a table of what one TikTok coin costs per currency ([`CoinPrices`]).
//!
//! A gift's `diamond_count` is its price in coins, so `coins × price of a coin` is what the
//! viewer paid. (The creator gets roughly half: TikTokLive's "value" heuristic is
//! `repeat_count × diamond_count × $0.005`.)

use std::collections::BTreeMap;

use minijinja::{Error, ErrorKind, Value};

/// The currencies the table may name: ISO 4217 code, how an amount is written before the
/// number, and how many decimals are shown.
pub const CURRENCIES: &[(&str, &str, usize)] = &[
    ("USD", "$", 2),
    ("EUR", "€", 2),
    ("GBP", "£", 2),
    ("JPY", "¥", 0),
    ("CAD", "CA$", 2),
    ("AUD", "A$", 2),
    ("NZD", "NZ$", 2),
    ("BRL", "R$", 2),
    ("MXN", "MX$", 2),
    ("ARS", "ARS ", 2),
    ("CLP", "CLP ", 0),
    ("COP", "COP ", 0),
    ("PEN", "S/ ", 2),
    ("INR", "₹", 2),
    ("IDR", "Rp ", 0),
    ("PHP", "₱", 2),
    ("MYR", "RM ", 2),
    ("SGD", "S$", 2),
    ("THB", "฿", 2),
    ("VND", "₫", 0),
    ("KRW", "₩", 0),
    ("CNY", "CN¥", 2),
    ("HKD", "HK$", 2),
    ("TWD", "NT$", 0),
    ("TRY", "₺", 2),
    ("RUB", "₽", 2),
    ("PLN", "PLN ", 2),
    ("CZK", "CZK ", 2),
    ("HUF", "HUF ", 0),
    ("CHF", "CHF ", 2),
    ("SEK", "SEK ", 2),
    ("NOK", "NOK ", 2),
    ("DKK", "DKK ", 2),
    ("ZAR", "R ", 2),
    ("NGN", "₦", 2),
    ("EGP", "EGP ", 2),
    ("AED", "AED ", 2),
    ("SAR", "SAR ", 2),
    ("ILS", "₪", 2),
];

/// The built-in price of one coin. USD: TikTok's coin packs cost about 1.3 cents a coin at
/// retail (70 coins for $0.99 is 1.41 ¢; 100 for $1.29 is 1.29 ¢; packs, stores and regions
/// differ), so 0.0133 is a round middle. EUR and GBP are that figure converted at 2025
/// rates (×0.92, ×0.79), not TikTok's own price lists. Override them in `[pricing]`.
pub const DEFAULT_COIN_PRICES: &[(&str, f64)] =
    &[("USD", 0.0133), ("EUR", 0.0123), ("GBP", 0.0105)];

/// The currency `money` uses without an argument, unless `[pricing] currency` says otherwise.
pub const DEFAULT_CURRENCY: &str = "USD";

/// A currency's formatting, when the code is known.
pub fn currency(code: &str) -> Option<(&'static str, &'static str, usize)> {
    CURRENCIES.iter().copied().find(|(c, _, _)| *c == code)
}

/// What one coin costs, by currency code.
#[derive(Debug, Clone, PartialEq)]
pub struct CoinPrices {
    prices: BTreeMap<String, f64>,
    default_currency: String,
}

impl Default for CoinPrices {
    fn default() -> Self {
        Self::new(&BTreeMap::new(), DEFAULT_CURRENCY)
    }
}

impl CoinPrices {
    /// The built-in table with `overrides` over it. Entries that are not a known code with
    /// a positive finite price are left out (config validation reports them).
    pub fn new(overrides: &BTreeMap<String, f64>, default_currency: &str) -> Self {
        let mut prices: BTreeMap<String, f64> = DEFAULT_COIN_PRICES
            .iter()
            .map(|(code, price)| ((*code).to_string(), *price))
            .collect();
        for (code, price) in overrides {
            if currency(code).is_some() && price.is_finite() && *price > 0.0 {
                prices.insert(code.clone(), *price);
            }
        }
        Self {
            prices,
            default_currency: default_currency.to_string(),
        }
    }

    /// The codes with a price, sorted.
    pub fn codes(&self) -> Vec<&str> {
        self.prices.keys().map(String::as_str).collect()
    }

    /// `coins` in `code`, formatted (`$1,234.56`); `None` for a currency without a price.
    pub fn format(&self, coins: f64, code: &str) -> Option<String> {
        let price = self.prices.get(code)?;
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
        let whole = super::template::group_thousands(whole.parse().unwrap_or(i64::MAX));
        Some(match fraction {
            Some(f) => format!("{sign}{symbol}{whole}.{f}"),
            None => format!("{sign}{symbol}{whole}"),
        })
    }

    /// The `money` filter: `value | money` or `value | money("EUR")`.
    pub fn filter(&self, value: &Value, currency: Option<&str>) -> Result<String, Error> {
        let code = currency
            .unwrap_or(&self.default_currency)
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
        self.format(coins, &code).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "no coin price for currency {code:?} (priced: {}; add it under [pricing] coin_prices)",
                    self.codes().join(", ")
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coins_format_per_currency() {
        let mut over = BTreeMap::new();
        over.insert("JPY".to_string(), 2.0);
        over.insert("EUR".to_string(), 0.01);
        over.insert("XXX".to_string(), 1.0);
        over.insert("GBP".to_string(), -1.0);
        let p = CoinPrices::new(&over, "USD");
        assert_eq!(p.format(100.0, "USD").as_deref(), Some("$1.33"));
        assert_eq!(p.format(100_000.0, "USD").as_deref(), Some("$1,330.00"));
        assert_eq!(p.format(0.0, "USD").as_deref(), Some("$0.00"));
        assert_eq!(
            p.format(150.0, "EUR").as_deref(),
            Some("€1.50"),
            "overridden"
        );
        assert_eq!(
            p.format(1234.0, "JPY").as_deref(),
            Some("¥2,468"),
            "no decimals"
        );
        assert_eq!(
            p.format(100.0, "GBP").as_deref(),
            Some("£1.05"),
            "a bad override is ignored"
        );
        assert_eq!(p.format(1.0, "XXX"), None, "unknown codes are never priced");
        assert_eq!(p.format(1.0, "CHF"), None, "known but not priced");
        assert_eq!(p.codes(), ["EUR", "GBP", "JPY", "USD"]);
    }

    #[test]
    fn the_filter_takes_numbers_and_names_the_missing_currency() {
        let p = CoinPrices::default();
        assert_eq!(p.filter(&Value::from(100), None).unwrap(), "$1.33");
        assert_eq!(p.filter(&Value::from(100), Some("eur")).unwrap(), "€1.23");
        assert_eq!(p.filter(&Value::from(2.5), Some("USD")).unwrap(), "$0.03");
        let e = p.filter(&Value::from(1), Some("CHF")).unwrap_err();
        assert!(
            e.to_string().contains("no coin price for currency \"CHF\""),
            "{e}"
        );
        assert!(p.filter(&Value::from("many"), None).is_err());
    }
}
