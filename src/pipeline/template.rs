//! Templates (minijinja): compiled and checked at load, never failing at runtime.
//!
//! At load every slot's template is parsed, its variables are checked against what the slot
//! offers (an unknown variable or attribute is an error with the key path and the nearest
//! name), and it is test-rendered against the slot's sample event. At runtime a render that
//! fails anyway (a value the sample did not have, the fuel limit) is counted and replaced by
//! the slot's default template.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use super::money::CoinPrices;

use super::samples::sample_context;
use crate::config::identifiers::nearest;
use crate::config::{Problem, RoutesConfig, Slot};
use crate::limits::{MAX_RENDERED_CHARS, TEMPLATE_FUEL};

/// The role flags `user.roles.*` offers.
const ROLE_FIELDS: &[&str] = &[
    "follower",
    "subscriber",
    "moderator",
    "gift_giver",
    "friend",
    "creator",
];

/// Every slot's template, compiled. Pipelines with the same template text share one
/// compiled set (see [`shared`]).
#[derive(Debug, Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
}

/// The template texts of every slot, in [`Slot::ALL`] order, then the coin prices: what a
/// compiled set is keyed by.
type TemplateKey = Vec<String>;

/// Compiled sets alive in the process, by their texts. minijinja reserves ~23 KB for each
/// compiled template and a bridge has two per slot (configured and default): a thousand
/// bridges on the same templates share one set instead of holding ~400 MB of copies.
/// Entries are weak, so a set goes when its last pipeline does.
fn shared() -> &'static Mutex<HashMap<TemplateKey, Weak<Environment<'static>>>> {
    static SHARED: OnceLock<Mutex<HashMap<TemplateKey, Weak<Environment<'static>>>>> =
        OnceLock::new();
    SHARED.get_or_init(Mutex::default)
}

/// A rendered line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The text, on one line, trimmed.
    pub text: String,
    /// The configured template failed and the default one was used.
    pub fell_back: bool,
}

fn configured_name(slot: Slot) -> String {
    slot.path()
}

fn default_name(slot: Slot) -> String {
    format!("default:{}", slot.path())
}

fn thousands(value: Value) -> String {
    match value.as_i64() {
        Some(n) => crate::format::group_thousands(n),
        None => value.to_string(),
    }
}

fn environment(undefined: UndefinedBehavior, prices: &Arc<CoinPrices>) -> Environment<'static> {
    let mut env = Environment::new();
    // Chat is plain text: nothing is escaped, and TikTok text is only ever a value.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_undefined_behavior(undefined);
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.add_filter("thousands", thousands);
    let prices = Arc::clone(prices);
    env.add_filter("money", move |value: Value, currency: Option<String>| {
        super::money::filter(&prices, &value, currency.as_deref())
    });
    env
}

impl Templates {
    /// Compiles every slot's template (enabled or not, so turning a route on later cannot
    /// break) and checks it, with the built-in coin prices. Every problem is reported with
    /// its key path.
    pub fn compile(routes: &RoutesConfig) -> Result<Self, Vec<Problem>> {
        Self::compile_priced(routes, CoinPrices::default())
    }

    /// [`Templates::compile`] with the coin prices of the `money` filter. A template that
    /// asks for a currency without a price fails its sample render here, so the mistake
    /// is a config error; one hidden in a branch the sample does not take falls back to
    /// the default template at runtime (counted).
    pub fn compile_priced(routes: &RoutesConfig, prices: CoinPrices) -> Result<Self, Vec<Problem>> {
        let mut key: TemplateKey = Slot::ALL
            .iter()
            .map(|&slot| routes.template(slot).to_owned())
            .collect();
        key.push(format!("{prices:?}"));
        // The same texts and prices compiled and checked before: checking is a pure
        // function of them.
        let mut sets = shared().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(env) = sets.get(&key).and_then(Weak::upgrade) {
            return Ok(Self { env });
        }
        let env = Arc::new(Self::compile_checked(routes, prices)?);
        sets.retain(|_, set| set.strong_count() > 0);
        sets.insert(key, Arc::downgrade(&env));
        Ok(Self { env })
    }

    fn compile_checked(
        routes: &RoutesConfig,
        prices: CoinPrices,
    ) -> Result<Environment<'static>, Vec<Problem>> {
        let prices = Arc::new(prices);
        let mut env = environment(UndefinedBehavior::Lenient, &prices);
        let mut check = environment(UndefinedBehavior::SemiStrict, &prices);
        let mut problems = Vec::new();
        for slot in Slot::ALL {
            let source = routes.template(slot).to_owned();
            // The defaults are ours and tested; a failure here is a bug, reported like any.
            for target in [&mut env, &mut check] {
                if let Err(e) =
                    target.add_template_owned(default_name(slot), slot.default_template())
                {
                    problems.push(Problem::new(slot.path(), format!("built-in template: {e}")));
                }
            }
            if let Err(e) = env.add_template_owned(configured_name(slot), source.clone()) {
                problems.push(syntax_problem(slot, &e));
                continue;
            }
            if check
                .add_template_owned(configured_name(slot), source)
                .is_err()
            {
                continue;
            }
            let before = problems.len();
            check_variables(&env, slot, &mut problems);
            if problems.len() == before {
                let sample = sample_context(slot, "creator");
                let rendered = check
                    .get_template(&configured_name(slot))
                    .and_then(|t| t.render(sample));
                if let Err(e) = rendered {
                    problems.push(
                        Problem::new(
                            slot.path(),
                            format!("fails on a sample event: {}", describe(&e)),
                        )
                        .with_hint(format!("variables: {}", slot.variable_names().join(", "))),
                    );
                }
            }
        }
        if problems.is_empty() {
            Ok(env)
        } else {
            Err(problems)
        }
    }

    /// Renders a slot. Falls back to the slot's default template when the configured one
    /// fails; `Err` only when the default fails too.
    pub fn render(&self, slot: Slot, context: &Value) -> Result<Rendered, minijinja::Error> {
        let attempt = |name: &str| {
            self.env
                .get_template(name)
                .and_then(|t| t.render(context.clone()))
        };
        match attempt(&configured_name(slot)) {
            Ok(text) => Ok(Rendered {
                text: one_line(&text),
                fell_back: false,
            }),
            Err(_) => attempt(&default_name(slot)).map(|text| Rendered {
                text: one_line(&text),
                fell_back: true,
            }),
        }
    }
}

/// Lines (of multi-line TOML templates, or of text) are trimmed and joined with a space;
/// spaces inside a line are kept (they may be part of a nickname); the length is bounded.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_RENDERED_CHARS));
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
    }
    if out.chars().count() > MAX_RENDERED_CHARS {
        out = out.chars().take(MAX_RENDERED_CHARS).collect();
    }
    out
}

fn describe(e: &minijinja::Error) -> String {
    match (e.detail(), e.line()) {
        (Some(detail), Some(line)) => format!("{} (line {line})", detail),
        (Some(detail), None) => detail.to_owned(),
        _ => e.kind().to_string(),
    }
}

fn syntax_problem(slot: Slot, e: &minijinja::Error) -> Problem {
    Problem::new(
        slot.path(),
        format!("template does not parse: {}", describe(e)),
    )
    .with_hint("minijinja syntax: {{ variable }}, {% if ... %}...{% endif %}, {{ value | filter }}")
}

/// Every variable the template reads must be one the slot offers, down to attributes.
fn check_variables(env: &Environment<'static>, slot: Slot, problems: &mut Vec<Problem>) {
    let Ok(template) = env.get_template(&configured_name(slot)) else {
        return;
    };
    let globals: Vec<String> = env.globals().map(|(name, _)| name.to_owned()).collect();
    let mut used: Vec<String> = template.undeclared_variables(true).into_iter().collect();
    used.sort();
    for path in used {
        let parts: Vec<&str> = path.split('.').collect();
        let root = parts[0];
        if globals.iter().any(|g| g == root) {
            continue;
        }
        let Some(attrs) = slot.attributes_of(root) else {
            let names = slot.variable_names();
            let hint = match nearest(root, names.iter().copied()) {
                Some(best) => format!(
                    "did you mean `{best}`? ({} has: {})",
                    slot.route(),
                    names.join(", ")
                ),
                None => format!("{} has: {}", slot.route(), names.join(", ")),
            };
            problems.push(
                Problem::new(slot.path(), format!("unknown variable `{root}`")).with_hint(hint),
            );
            continue;
        };
        let Some(attr) = parts.get(1) else { continue };
        if attrs.is_empty() {
            continue; // plain values and lists: nothing more to check statically
        }
        if !attrs.contains(attr) {
            let hint = match nearest(attr, attrs.iter().copied()) {
                Some(best) => format!("did you mean `{root}.{best}`?"),
                None => format!("`{root}` has: {}", attrs.join(", ")),
            };
            problems.push(
                Problem::new(slot.path(), format!("`{root}` has no `{attr}`")).with_hint(hint),
            );
            continue;
        }
        if *attr == "roles"
            && let Some(flag) = parts.get(2)
            && !ROLE_FIELDS.contains(flag)
        {
            problems.push(
                Problem::new(slot.path(), format!("`{root}.roles` has no `{flag}`"))
                    .with_hint(format!("roles: {}", ROLE_FIELDS.join(", "))),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes_with(edit: impl FnOnce(&mut RoutesConfig)) -> RoutesConfig {
        let mut routes = RoutesConfig::default();
        edit(&mut routes);
        routes
    }

    #[test]
    fn every_default_template_compiles_and_renders_its_sample() {
        let t = Templates::compile(&RoutesConfig::default()).unwrap();
        for slot in Slot::ALL {
            let r = t.render(slot, &sample_context(slot, "creator")).unwrap();
            assert!(!r.fell_back, "{slot:?}");
            assert!(r.text.starts_with("[TT]"), "{slot:?}: {}", r.text);
        }
    }

    #[test]
    fn the_same_templates_share_one_compiled_set() {
        let custom = |text: &str| routes_with(|r| r.chat.template = text.into());
        let a = Templates::compile(&custom("[x] {{ user.nickname }}: {{ text }}")).unwrap();
        let b = Templates::compile(&custom("[x] {{ user.nickname }}: {{ text }}")).unwrap();
        let c = Templates::compile(&custom("[y] {{ user.nickname }}: {{ text }}")).unwrap();
        assert!(Arc::ptr_eq(&a.env, &b.env));
        assert!(!Arc::ptr_eq(&a.env, &c.env));
        // Other coin prices are another `money` filter: another set.
        let mut usd = std::collections::BTreeMap::new();
        usd.insert("USD".to_owned(), 0.02);
        let priced = Templates::compile_priced(
            &custom("[x] {{ user.nickname }}: {{ text }}"),
            CoinPrices::new(&usd, "USD"),
        )
        .unwrap();
        assert!(!Arc::ptr_eq(&a.env, &priced.env));
        let rendered = c.render(Slot::Chat, &sample_context(Slot::Chat, "creator"));
        assert!(rendered.unwrap().text.starts_with("[y]"));
        // The cache holds no set alive, and a bad text is never cached.
        let weak = Arc::downgrade(&c.env);
        drop(c);
        assert!(weak.upgrade().is_none());
        assert!(Templates::compile(&custom("{{ nope }}")).is_err());
        assert!(Templates::compile(&custom("{{ nope }}")).is_err());
    }

    #[test]
    fn unknown_variables_and_attributes_are_load_errors_with_paths() {
        let routes = routes_with(|r| {
            r.gift.template = "{{ user.nick }} sent {{ gift.nmae }} x{{ cuont }}".into();
            r.chat.template = "{{ user.roles.admin }}: {{ text }}".into();
            r.follow.template = "{% if %}".into();
        });
        let problems = Templates::compile(&routes).unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(
                |p| p.starts_with("routes.gift.template: unknown variable `cuont`")
                    && p.contains("did you mean `count`?")
            ),
            "{text:#?}"
        );
        assert!(
            text.iter().any(
                |p| p.starts_with("routes.gift.template: `gift` has no `nmae`")
                    && p.contains("`gift.name`")
            ),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|p| p.starts_with("routes.gift.template: `user` has no `nick`")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|p| p.starts_with("routes.chat.template: `user.roles` has no `admin`")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|p| p.starts_with("routes.follow.template: template does not parse")),
            "{text:#?}"
        );
    }

    #[test]
    fn variables_of_another_kind_are_refused() {
        let routes =
            routes_with(|r| r.follow.template = "{{ user.name }} sent {{ gift.name }}".into());
        let problems = Templates::compile(&routes).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "routes.follow.template");
    }

    #[test]
    fn tiktok_text_is_a_value_never_template_source() {
        let t = Templates::compile(&RoutesConfig::default()).unwrap();
        let ctx = Value::from_pairs([
            ("user", Value::from_pairs([("name", "x")])),
            (
                "text",
                Value::from("{{ 7 * 7 }} {% for i in range(9) %}{% endfor %}"),
            ),
        ]);
        let r = t.render(Slot::Chat, &ctx).unwrap();
        assert_eq!(
            r.text,
            "[TT] x: {{ 7 * 7 }} {% for i in range(9) %}{% endfor %}"
        );
    }

    #[test]
    fn a_runtime_failure_falls_back_to_the_default() {
        let routes = routes_with(|r| {
            r.chat.template =
                "{% if text == 'boom' %}{{ 1 // 0 }}{% endif %}{{ user.name }}> {{ text }}".into();
        });
        let t = Templates::compile(&routes).unwrap();
        let ctx = |text: &str| {
            Value::from_pairs([
                ("user", Value::from_pairs([("name", "x")])),
                ("text", Value::from(text)),
            ])
        };
        assert_eq!(
            t.render(Slot::Chat, &ctx("hi")).unwrap(),
            Rendered {
                text: "x> hi".into(),
                fell_back: false
            }
        );
        assert_eq!(
            t.render(Slot::Chat, &ctx("boom")).unwrap(),
            Rendered {
                text: "[TT] x: boom".into(),
                fell_back: true
            }
        );
    }

    #[test]
    fn runaway_templates_are_stopped_at_load() {
        let routes = routes_with(|r| {
            r.chat.template =
                "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
                    .into();
        });
        let problems = Templates::compile(&routes).unwrap_err();
        assert_eq!(problems[0].path, "routes.chat.template");
        assert!(
            problems[0].message.contains("fails on a sample event"),
            "{problems:?}"
        );
    }

    #[test]
    fn filters_and_conditionals_work() {
        let routes = routes_with(|r| {
            r.gift.template = "{{ user.name | upper }}{% if total_diamonds >= 10 %} big{% endif %} {{ total_diamonds | thousands }}".into();
        });
        let t = Templates::compile(&routes).unwrap();
        let r = t
            .render(Slot::Gift, &sample_context(Slot::Gift, "c"))
            .unwrap();
        assert_eq!(r.text, "ANA 🌸 big 12");
        assert_eq!(thousands(Value::from(1_234_567)), "1,234,567");
        assert_eq!(thousands(Value::from(-1_000)), "-1,000");
        assert_eq!(thousands(Value::from(999)), "999");
    }

    #[test]
    fn multi_line_templates_become_one_line() {
        assert_eq!(one_line("  a\n  b\r\n c  \n\n"), "a b c");
        assert_eq!(one_line("keeps   inner  spaces"), "keeps   inner  spaces");
    }
}

#[cfg(test)]
mod money_tests {
    use super::*;
    use crate::config::pricing::PricingConfig;

    #[test]
    fn the_money_filter_renders_and_unpriced_currencies_are_load_errors() {
        let mut pricing = PricingConfig::default();
        pricing.coin_prices.insert("EUR".into(), 0.01);
        let mut routes = RoutesConfig::default();
        routes.gift.template = "{{ gift.name }} x{{ count }} = {{ total_diamonds | money }} / {{ total_diamonds | money(\"EUR\") }}".into();
        let t = Templates::compile_priced(&routes, pricing.prices()).unwrap();
        let r = t
            .render(Slot::Gift, &sample_context(Slot::Gift, "c"))
            .unwrap();
        // The sample: 12 Roses of 1 coin.
        assert_eq!(r.text, "Rose x12 = $0.16 / €0.12");

        routes.gift.template = "{{ total_diamonds | money(\"CHF\") }}".into();
        let problems = Templates::compile_priced(&routes, pricing.prices()).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "routes.gift.template");
        assert!(
            problems[0]
                .message
                .contains("no coin price for currency \"CHF\""),
            "{problems:?}"
        );

        // Hidden in a branch the sample does not take: the line falls back, never breaks.
        routes.gift.template =
            "{% if count > 1000 %}{{ total_diamonds | money(\"CHF\") }}{% else %}ok{% endif %}"
                .into();
        let t = Templates::compile_priced(&routes, pricing.prices()).unwrap();
        let big = Value::from_pairs([
            ("user", Value::from_pairs([("name", "x")])),
            ("gift", Value::from_pairs([("name", "Rose")])),
            ("count", Value::from(5000)),
            ("total_diamonds", Value::from(5000)),
        ]);
        let r = t.render(Slot::Gift, &big).unwrap();
        assert!(r.fell_back, "{r:?}");
        assert!(r.text.contains("5000× Rose"), "{r:?}");
    }
}
