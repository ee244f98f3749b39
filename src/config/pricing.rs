//! `[pricing]`: what one TikTok coin costs, for templates that show money
//! (`{{ total_diamonds | money("EUR") }}`). Built-in prices
//! ([`super::currency::DEFAULT_COIN_PRICES`]) apply unless overridden here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Problem;
use super::currency::{CURRENCIES, CoinPrices, DEFAULT_CURRENCY, currency};
use crate::limits::USD_PER_DIAMOND;

/// `[pricing]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PricingConfig {
    /// The price of one coin by ISO 4217 code (upper case), e.g.
    /// `{ USD = 0.0133, EUR = 0.0123 }`. Entries add to or replace the built-in prices.
    pub coin_prices: BTreeMap<String, f64>,
    /// The currency of `money` without an argument.
    pub currency: String,
    /// What one diamond is worth to the creator in US dollars, for a gift's `usd` estimate
    /// on the event feed, webhooks and `/api/events` (not what a viewer pays per coin:
    /// that is `coin_prices`).
    pub usd_per_diamond: f64,
}

impl Default for PricingConfig {
    fn default() -> Self {
        Self {
            coin_prices: BTreeMap::new(),
            currency: DEFAULT_CURRENCY.into(),
            usd_per_diamond: USD_PER_DIAMOND,
        }
    }
}

impl PricingConfig {
    /// The table templates use: the built-in prices with these over them.
    pub fn prices(&self) -> CoinPrices {
        CoinPrices::new(&self.coin_prices, &self.currency)
    }
}

/// Every problem of `[pricing]`: unknown or lower-case codes, prices that are not a
/// Every problem of `[pricing]`: unknown or lower-case codes, a default currency without a
/// price (the prices are checked against their range with every other number).
pub fn validate(pricing: &PricingConfig, problems: &mut Vec<Problem>) {
    let known = || {
        format!(
            "known codes: {}",
            CURRENCIES
                .iter()
                .map(|(c, _, _)| *c)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    // The prices are checked against their range (`config::ranges`); that check reads them
    // as JSON, which has no NaN or infinity, so those are refused here.
    for (code, price) in &pricing.coin_prices {
        let path = format!("pricing.coin_prices.{code}");
        if !price.is_finite() {
            problems.push(
                Problem::new(&path, format!("{price} is not a price"))
                    .with_hint("e.g. USD = 0.0133 (one coin costs about 1.3 US cents)"),
            );
        }
        if currency(code).is_none() {
            let upper = code.to_ascii_uppercase();
            let hint = if currency(&upper).is_some() {
                format!("write it in upper case: {upper}")
            } else {
                known()
            };
            problems.push(
                Problem::new(&path, format!("`{code}` is not a known currency code"))
                    .with_hint(hint),
            );
        }
    }
    if !pricing.usd_per_diamond.is_finite() {
        problems.push(
            Problem::new(
                "pricing.usd_per_diamond",
                format!("{} is not a price", pricing.usd_per_diamond),
            )
            .with_hint("e.g. 0.005 (half a cent per diamond)"),
        );
    }
    if !pricing
        .prices()
        .codes()
        .contains(&pricing.currency.as_str())
    {
        problems.push(
            Problem::new(
                "pricing.currency",
                format!("no coin price for `{}`", pricing.currency),
            )
            .with_hint(format!(
                "priced: {}; add it under coin_prices (codes in upper case)",
                pricing.prices().codes().join(", ")
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_price_is_reported_with_its_path() {
        let mut pricing = PricingConfig {
            currency: "CHF".into(),
            ..PricingConfig::default()
        };
        for (code, price) in [
            ("USD", 0.012),
            ("EUR", 0.0),
            ("usd", 0.01),
            ("XYZ", 1.0),
            ("GBP", f64::NAN),
        ] {
            pricing.coin_prices.insert(code.into(), price);
        }
        pricing.usd_per_diamond = f64::INFINITY;
        let mut problems = Vec::new();
        validate(&pricing, &mut problems);
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 5, "{text:#?}");
        let has = |path: &str, words: &str| {
            assert!(
                text.iter()
                    .any(|p| p.starts_with(&format!("{path}: ")) && p.contains(words)),
                "{path} {words}: {text:#?}"
            );
        };
        has("pricing.coin_prices.GBP", "NaN is not a price");
        has("pricing.coin_prices.usd", "upper case: USD");
        has("pricing.coin_prices.XYZ", "known codes: USD, EUR");
        has("pricing.currency", "no coin price for `CHF`");
        has("pricing.usd_per_diamond", "inf is not a price");

        // The prices: against their range, like every number of the config.
        let mut ranged = Vec::new();
        pricing.usd_per_diamond = 2.0;
        crate::config::ranges::check(&pricing, "pricing", &[], &mut ranged);
        let ranged: Vec<String> = ranged.iter().map(ToString::to_string).collect();
        assert_eq!(ranged.len(), 2, "{ranged:#?}");
        assert!(
            ranged[0].starts_with("pricing.coin_prices.EUR: 0.0 is out of range"),
            "{ranged:#?}"
        );
        assert!(
            ranged[1].starts_with("pricing.usd_per_diamond: 2.0 is out of range"),
            "{ranged:#?}"
        );

        let mut fine = Vec::new();
        validate(&PricingConfig::default(), &mut fine);
        assert!(fine.is_empty(), "{fine:?}");
    }
}
