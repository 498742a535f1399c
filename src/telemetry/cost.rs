//! Model prices (`[models.NAME] price_input_per_mtok` / `price_output_per_mtok`, US dollars per
//! million tokens) and the cost of a request from its usage. Prices are registered by model
//! name when the config is loaded; the model-request hook ([`super::metrics::ModelRequest`])
//! asks here.

use std::collections::HashMap;
use std::sync::RwLock;

/// A model's prices in US dollars per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Prices {
    /// Per million prompt (input) tokens.
    pub input_per_mtok: f64,
    /// Per million completion (output) tokens.
    pub output_per_mtok: f64,
}

impl Prices {
    /// The cost of one request with this usage.
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        (prompt_tokens as f64 * self.input_per_mtok
            + completion_tokens as f64 * self.output_per_mtok)
            / 1_000_000.0
    }
}

static PRICES: RwLock<Option<HashMap<String, Prices>>> = RwLock::new(None);

/// Registers the prices of requests for `model` (the name the client sends, e.g. `gpt-4o`).
pub fn set_prices(model: &str, prices: Prices) {
    if let Ok(mut table) = PRICES.write() {
        table
            .get_or_insert_with(HashMap::new)
            .insert(model.to_string(), prices);
    }
}

/// The cost of a request for `model` with this usage, when the model has prices.
pub fn cost_of(model: &str, prompt_tokens: u64, completion_tokens: u64) -> Option<f64> {
    let table = PRICES.read().ok()?;
    let prices = table.as_ref()?.get(model)?;
    Some(prices.cost(prompt_tokens, completion_tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_is_per_million_tokens() {
        let prices = Prices {
            input_per_mtok: 3.0,
            output_per_mtok: 15.0,
        };
        assert!((prices.cost(1_000_000, 0) - 3.0).abs() < 1e-12);
        assert!((prices.cost(2000, 1000) - 0.021).abs() < 1e-12);
        set_prices("cost-test-model", prices);
        assert_eq!(
            cost_of("cost-test-model", 2000, 1000),
            Some(prices.cost(2000, 1000))
        );
        assert_eq!(cost_of("unpriced-model", 1, 1), None);
    }
}
