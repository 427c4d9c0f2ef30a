//! Request bodies and query strings, parsed with clear errors.
//!
//! The Lua shim hands over the raw body, its content type and the raw query
//! string; every rule about their shape lives here. JSON objects with a key
//! given twice are rejected, because which copy wins differs between parsers.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Fields that carry a password or key, whose values never appear in a
/// message.
const SECRET_FIELDS: [&str; 2] = ["password", "key"];

/// A list field as sent: one string to split, or an array of entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextOrItems {
    Text(String),
    Items(Vec<String>),
}

/// The fields of a request body or query string.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    map: Map<String, Value>,
    /// `body` or `query`, for messages.
    source: &'static str,
}

impl Fields {
    /// Parses a request body as JSON or as a URL-encoded form. An empty body
    /// has no fields.
    pub fn from_body(body: &[u8], content_type: Option<&str>) -> Result<Fields> {
        let media = content_type
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fields::new(Map::new(), "body"));
        }
        let is_json = media == "application/json" || media.ends_with("+json");
        let is_form = media == "application/x-www-form-urlencoded";
        if is_json || (media.is_empty() && body.first() == Some(&b'{')) {
            return parse_json_object(body).map(|map| Fields::new(map, "body"));
        }
        if is_form || media.is_empty() {
            return parse_form(body, "body").map(|map| Fields::new(map, "body"));
        }
        Err(Error::invalid(format!(
            "unsupported content type '{}' (accepted: application/json, \
             application/x-www-form-urlencoded)",
            media.escape_debug()
        )))
    }

    /// Parses a raw query string such as `status=0&size=10`.
    pub fn from_query(query: &str) -> Result<Fields> {
        parse_form(query.as_bytes(), "query").map(|map| Fields::new(map, "query"))
    }

    fn new(map: Map<String, Value>, source: &'static str) -> Fields {
        Fields { map, source }
    }

    /// Rejects any field not in `known`, naming it and listing the accepted ones.
    pub fn deny_unknown(&self, known: &[&str]) -> Result<()> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(key) => Err(Error::invalid(format!(
                "unknown field '{}' in the request {} (accepted: {})",
                key.escape_debug(),
                self.source,
                known.join(", ")
            ))),
        }
    }

    /// Returns a string field; numbers and booleans are accepted in their
    /// text form, since form bodies cannot tell them apart.
    pub fn string(&self, name: &str) -> Result<Option<String>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(other) => Err(self.wrong_type(name, "a string", other)),
        }
    }

    /// Returns a string field that must be present and not blank.
    pub fn required_string(&self, name: &str) -> Result<String> {
        match self.string(name)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(Error::invalid(format!("{name} is required"))),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    /// Returns a field that is a JSON object, or a string holding one (Kong's
    /// portal sends `meta` as a JSON string).
    pub fn object(&self, name: &str) -> Result<Option<Map<String, Value>>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map.clone())),
            Some(Value::String(text)) => match parse_json_object(text.as_bytes()) {
                Ok(map) => Ok(Some(map)),
                Err(err) => Err(Error::invalid(format!(
                    "{name} is not a valid JSON object: {}",
                    err.message
                ))),
            },
            Some(other) => Err(self.wrong_type(name, "a JSON object", other)),
        }
    }

    /// Returns a list field given as an array of strings or as one string.
    /// The two stay apart: a string is a list that the caller splits, while
    /// each array element is one entry as given.
    pub fn string_or_list(&self, name: &str) -> Result<Option<TextOrItems>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(TextOrItems::Text(s.clone()))),
            Some(Value::Array(items)) => {
                let mut entries = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => entries.push(s.clone()),
                        other => return Err(self.wrong_type(name, "strings", other)),
                    }
                }
                Ok(Some(TextOrItems::Items(entries)))
            }
            Some(other) => Err(self.wrong_type(name, "a string or an array of strings", other)),
        }
    }

    fn wrong_type(&self, name: &str, expected: &str, got: &Value) -> Error {
        if SECRET_FIELDS.contains(&name) {
            return Error::invalid(format!("{name} must be {expected}, got {}", type_name(got)));
        }
        let mut shown = got.to_string();
        if shown.len() > 60 {
            let cut = (0..=60).rev().find(|i| shown.is_char_boundary(*i)).unwrap_or(0);
            shown.truncate(cut);
            shown.push_str("...");
        }
        Error::invalid(format!(
            "{name} must be {expected}, got {} {}",
            type_name(got),
            shown
        ))
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn parse_form(bytes: &[u8], source: &str) -> Result<Map<String, Value>> {
    let mut map = Map::new();
    for pair in bytes.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = match pair.iter().position(|b| *b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        let key = decode_form_part(raw_key, source, "a field name")?;
        if key.is_empty() {
            continue;
        }
        let value = decode_form_part(raw_value, source, &format!("field '{}'", key.escape_debug()))?;
        if map.contains_key(&key) {
            return Err(Error::invalid(format!(
                "field '{}' is given twice in the request {source}",
                key.escape_debug()
            )));
        }
        map.insert(key, Value::String(value));
    }
    Ok(map)
}

/// Decodes one URL-encoded part (`+` is a space). Bytes that are not UTF-8
/// are rejected rather than replaced, so that a password or name is never
/// silently changed.
fn decode_form_part(raw: &[u8], source: &str, what: &str) -> Result<String> {
    let spaced: Vec<u8> = raw.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
    let decoded: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    String::from_utf8(decoded).map_err(|_| {
        Error::invalid(format!(
            "{what} in the request {source} is not valid UTF-8 once percent-decoded"
        ))
    })
}

/// Parses a JSON object, rejecting keys given twice at any depth.
pub fn parse_json_object(bytes: &[u8]) -> Result<Map<String, Value>> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue::deserialize(&mut deserializer)
        .and_then(|v| deserializer.end().map(|_| v))
        .map_err(|e| Error::invalid(format!("malformed JSON in the request body: {e}")))?;
    match value.0 {
        Value::Object(map) => Ok(map),
        other => Err(Error::invalid(format!(
            "the request body must be a JSON object, got {}",
            type_name(&other)
        ))),
    }
}

/// A JSON value whose objects have no repeated keys.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> std::result::Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let StrictValue(value) = access.next_value()?;
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "key '{}' is given twice",
                    key.escape_debug()
                )));
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_parses_to_fields() {
        let fields = Fields::from_body(br#"{"email":"a@b.co","n":5}"#, Some("application/json"))
            .unwrap();
        assert_eq!(fields.string("email").unwrap().as_deref(), Some("a@b.co"));
        assert_eq!(fields.string("n").unwrap().as_deref(), Some("5"));
    }

    #[test]
    fn form_body_parses_to_fields() {
        let fields = Fields::from_body(
            b"status=0&email=a%2Bb%40x.co",
            Some("application/x-www-form-urlencoded; charset=utf-8"),
        )
        .unwrap();
        assert_eq!(fields.string("status").unwrap().as_deref(), Some("0"));
        assert_eq!(fields.string("email").unwrap().as_deref(), Some("a+b@x.co"));
    }

    #[test]
    fn duplicate_json_key_is_rejected() {
        let err = Fields::from_body(br#"{"status":0,"status":2}"#, Some("application/json"))
            .unwrap_err();
        assert!(err.message.contains("key 'status' is given twice"), "{}", err.message);
    }

    #[test]
    fn duplicate_nested_json_key_is_rejected() {
        let err = parse_json_object(br#"{"meta":{"a":1,"a":2}}"#).unwrap_err();
        assert!(err.message.contains("key 'a' is given twice"), "{}", err.message);
    }

    #[test]
    fn form_value_that_is_not_utf8_is_rejected() {
        let err = Fields::from_body(
            b"password=abcdefgh%ff",
            Some("application/x-www-form-urlencoded"),
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "field 'password' in the request body is not valid UTF-8 once percent-decoded"
        );
    }

    #[test]
    fn form_plus_and_escapes_decode() {
        let fields = Fields::from_query("q=a+b%2Bc&flag").unwrap();
        assert_eq!(fields.string("q").unwrap().as_deref(), Some("a b+c"));
        assert_eq!(fields.string("flag").unwrap().as_deref(), Some(""));
    }

    #[test]
    fn duplicate_form_key_is_rejected() {
        let err = Fields::from_query("size=1&size=2").unwrap_err();
        assert_eq!(err.message, "field 'size' is given twice in the request query");
    }

    #[test]
    fn malformed_json_names_the_position() {
        let err = Fields::from_body(b"{\"email\": ", Some("application/json")).unwrap_err();
        assert!(err.message.starts_with("malformed JSON in the request body: "), "{}", err.message);
    }

    #[test]
    fn non_object_json_is_rejected() {
        let err = Fields::from_body(b"[1,2]", Some("application/json")).unwrap_err();
        assert_eq!(err.message, "the request body must be a JSON object, got array");
    }

    #[test]
    fn trailing_data_after_json_is_rejected() {
        assert!(Fields::from_body(b"{} {}", Some("application/json")).is_err());
    }

    #[test]
    fn unsupported_content_type_is_rejected() {
        let err = Fields::from_body(b"x", Some("text/xml")).unwrap_err();
        assert_eq!(
            err.message,
            "unsupported content type 'text/xml' (accepted: application/json, \
             application/x-www-form-urlencoded)"
        );
    }

    #[test]
    fn empty_body_has_no_fields() {
        let fields = Fields::from_body(b"  ", Some("application/json")).unwrap();
        assert_eq!(fields.string("email").unwrap(), None);
    }

    #[test]
    fn wrong_type_names_field_and_type() {
        let fields = Fields::from_body(br#"{"email":["a"]}"#, Some("application/json")).unwrap();
        assert_eq!(
            fields.string("email").unwrap_err().message,
            "email must be a string, got array [\"a\"]"
        );
    }

    #[test]
    fn unknown_field_is_named() {
        let fields = Fields::from_body(br#"{"emial":"x"}"#, Some("application/json")).unwrap();
        assert_eq!(
            fields.deny_unknown(&["email"]).unwrap_err().message,
            "unknown field 'emial' in the request body (accepted: email)"
        );
    }

    #[test]
    fn meta_may_be_a_json_string() {
        let fields = Fields::from_body(
            br#"{"meta":"{\"full_name\":\"Ada\"}"}"#,
            Some("application/json"),
        )
        .unwrap();
        let meta = fields.object("meta").unwrap().unwrap();
        assert_eq!(meta["full_name"], "Ada");
    }

    #[test]
    fn wrong_type_of_secret_hides_the_value() {
        let fields = Fields::from_body(
            br#"{"password":["hunter2-secret"],"key":{"k":"key-secret"}}"#,
            Some("application/json"),
        )
        .unwrap();
        let err = fields.string("password").unwrap_err();
        assert_eq!(err.message, "password must be a string, got array");
        let err = fields.string("key").unwrap_err();
        assert_eq!(err.message, "key must be a string, got object");
    }

    #[test]
    fn list_field_accepts_array_or_string() {
        let fields = Fields::from_body(br#"{"emails":["a@x.co","b c@x.co"]}"#, None).unwrap();
        assert_eq!(
            fields.string_or_list("emails").unwrap(),
            Some(TextOrItems::Items(vec!["a@x.co".into(), "b c@x.co".into()]))
        );
        let fields = Fields::from_body(br#"{"emails":"a@x.co, b@x.co"}"#, None).unwrap();
        assert_eq!(
            fields.string_or_list("emails").unwrap(),
            Some(TextOrItems::Text("a@x.co, b@x.co".into()))
        );
        let err = Fields::from_body(br#"{"emails":[1]}"#, None)
            .unwrap()
            .string_or_list("emails")
            .unwrap_err();
        assert_eq!(err.message, "emails must be strings, got number 1");
    }
}
