//! Generates schema-valid example arguments from a tool's JSON schema.

use serde_json::{Map, Value, json};

/// Deepest nesting we generate before giving up with `null`.
const MAX_DEPTH: usize = 8;
/// Upper bound on generated array items and string length, whatever the schema asks.
const MAX_SIZE: u64 = 4096;

/// An example value valid against `schema` (resolving local `$ref`s against `schema` itself).
pub fn example_for(schema: &Value) -> Value {
    generate(schema, schema, 0)
}

fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let path = reference.strip_prefix("#/")?;
    path.split('/').try_fold(root, |node, part| node.get(part))
}

fn generate(schema: &Value, root: &Value, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    let Some(obj) = schema.as_object() else {
        return json!({});
    };
    if let Some(target) = obj
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| resolve(root, r))
    {
        return generate(target, root, depth + 1);
    }
    if let Some(v) = obj.get("const") {
        return v.clone();
    }
    if let Some(first) = obj
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return first.clone();
    }
    if let Some(v) = obj.get("default") {
        return v.clone();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(first) = obj
            .get(key)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            return generate(first, root, depth + 1);
        }
    }
    if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
        return merge_all(all, root, depth);
    }
    let ty = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if obj.contains_key("properties") => "object",
        _ => "object",
    };
    match ty {
        "string" => string_example(obj),
        "integer" => json!(number_bound(obj).map_or(1, |n| n.ceil() as i64)),
        "number" => json!(number_bound(obj).unwrap_or(1.0)),
        "boolean" => json!(true),
        "null" => Value::Null,
        "array" => array_example(obj, root, depth),
        _ => object_example(obj, root, depth),
    }
}

fn number_bound(obj: &Map<String, Value>) -> Option<f64> {
    let min = obj.get("minimum").and_then(Value::as_f64);
    let exclusive = obj
        .get("exclusiveMinimum")
        .and_then(Value::as_f64)
        .map(|m| m + 1.0);
    min.or(exclusive).or_else(|| {
        obj.get("maximum")
            .and_then(Value::as_f64)
            .map(|m| m.min(1.0))
    })
}

fn string_example(obj: &Map<String, Value>) -> Value {
    let format = obj.get("format").and_then(Value::as_str);
    let base = match format {
        Some("date-time") => "2024-01-01T00:00:00Z".to_string(),
        Some("date") => "2024-01-01".to_string(),
        Some("email") => "user@example.com".to_string(),
        Some("uri") | Some("url") => "https://example.com".to_string(),
        Some("uuid") => "00000000-0000-4000-8000-000000000000".to_string(),
        _ => "example".to_string(),
    };
    let min = obj
        .get("minLength")
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .min(MAX_SIZE) as usize;
    let max = obj
        .get("maxLength")
        .and_then(Value::as_u64)
        .map(|m| m as usize);
    let mut s = base;
    while s.chars().count() < min {
        s.push('x');
    }
    if let Some(max) = max {
        s = s.chars().take(max).collect();
    }
    Value::String(s)
}

fn array_example(obj: &Map<String, Value>, root: &Value, depth: usize) -> Value {
    let item = obj
        .get("items")
        .map_or(json!("example"), |i| generate(i, root, depth + 1));
    let min = obj
        .get("minItems")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .max(1);
    let max = obj
        .get("maxItems")
        .and_then(Value::as_u64)
        .unwrap_or(u64::MAX);
    Value::Array(vec![item; min.min(max).min(MAX_SIZE) as usize])
}

fn object_example(obj: &Map<String, Value>, root: &Value, depth: usize) -> Value {
    let mut out = Map::new();
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            out.insert(name.clone(), generate(prop, root, depth + 1));
        }
    }
    Value::Object(out)
}

fn merge_all(all: &[Value], root: &Value, depth: usize) -> Value {
    let mut out = Map::new();
    for s in all {
        if let Value::Object(m) = generate(s, root, depth + 1) {
            out.extend(m);
        }
    }
    Value::Object(out)
}
