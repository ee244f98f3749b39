//! Currencies and coin prices as data: which ISO 4217 codes the `money` template filter
//! knows, how each is written, and what one TikTok coin costs ([`CoinPrices`]).
//! `[pricing]` ([`super::pricing`]) overrides the prices; the pipeline formats with them.
//!
//! A gift's `diamond_count` is its price in coins, so `coins × price of a coin` is what the
//! viewer paid. (The creator gets roughly half: TikTokLive's "value" heuristic is
//! `repeat_count × diamond_count × $0.005`.)

use std::collections::BTreeMap;

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

    /// The price of one coin in `code`, when it has one.
    pub fn price(&self, code: &str) -> Option<f64> {
        self.prices.get(code).copied()
    }

    /// The currency of `money` without an argument.
    pub fn default_currency(&self) -> &str {
        &self.default_currency
    }
}
