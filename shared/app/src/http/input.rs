//! Input at the edge: a JSON body or a query string, checked field by field. Every problem is
//! collected, so a caller fixes a form in one round, not one field per request; unknown
//! fields are refused (a typo must not be silently ignored); bodies are size-limited.
//!
//! Each accessor also writes down what it accepts, so a route's body reader, run once on
//! [`Fields::describe`], is the JSON Schema of its request in the OpenAPI document: the
//! documentation cannot drift from the code that enforces it.

use std::collections::BTreeSet;

use lambda_http::{Body, Request, RequestExt, http::StatusCode};
use rylie_store::page::{Direction, Page};
use serde_json::{Map, Value, json};

use super::{ApiError, envelope::FieldError};

/// The largest body a route accepts (API Gateway's own limit is 10 MB; ours is far lower).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Reads the body as a JSON object.
pub fn json_object(request: &Request) -> Result<Fields, ApiError> {
    let bytes: &[u8] = match request.body() {
        Body::Empty => b"",
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => b"",
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!(
                "the body has {} bytes; at most {MAX_BODY_BYTES} are accepted",
                bytes.len()
            ),
        ));
    }
    if bytes.is_empty() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(Fields::new(map)),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
        Err(error) => Err(ApiError::bad_request(format!("the body is not valid JSON: {error}"))),
    }
}

/// Reads the body with `reader` (a route's fields, in one function) and refuses it with every
/// problem found, unknown fields included.
pub fn body<T>(request: &Request, reader: impl FnOnce(&mut Fields) -> T) -> Result<T, ApiError> {
    let mut fields = json_object(request)?;
    let value = reader(&mut fields);
    fields.finish()?;
    Ok(value)
}

/// The JSON Schema of the body `reader` accepts, read from the reader itself.
pub fn schema_of<T>(reader: impl FnOnce(&mut Fields) -> T) -> Value {
    let mut fields = Fields::describe();
    reader(&mut fields);
    fields.schema()
}

/// A JSON object being checked; problems accumulate until [`Fields::finish`].
#[derive(Debug)]
pub struct Fields {
    map: Map<String, Value>,
    seen: BTreeSet<String>,
    errors: Vec<FieldError>,
    /// What each accessor accepts, by field: the request's JSON Schema.
    properties: Map<String, Value>,
    required: BTreeSet<String>,
}

impl Fields {
    pub fn new(map: Map<String, Value>) -> Self {
        Self {
            map,
            seen: BTreeSet::new(),
            errors: Vec::new(),
            properties: Map::new(),
            required: BTreeSet::new(),
        }
    }

    /// An empty object, to run a body reader on for its schema (every field is absent).
    pub fn describe() -> Self {
        Self::new(Map::new())
    }

    /// The JSON Schema of the fields read so far: an object refusing unknown properties.
    pub fn schema(&self) -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": self.properties,
            "required": self.required,
        })
    }

    /// Writes down what `field` accepts (the last word wins: `email` refines `string`).
    fn accepts(&mut self, field: &str, schema: Value) {
        self.properties.insert(field.to_owned(), schema);
    }

    pub fn error(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
            code,
        });
    }

    /// True once any field has been refused.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    fn take(&mut self, field: &str) -> Option<Value> {
        self.seen.insert(field.to_owned());
        self.map.get(field).cloned().filter(|value| !value.is_null())
    }

    /// A string of `min..=max` characters (after trimming); None when absent or invalid.
    pub fn string(&mut self, field: &str, required: bool, min: usize, max: usize) -> Option<String> {
        self.accepts(field, json!({ "type": "string", "minLength": min, "maxLength": max }));
        if required {
            self.required.insert(field.to_owned());
        }
        match self.take(field) {
            None if required => {
                self.error(field, "REQUIRED", "is required");
                None
            }
            None => None,
            Some(Value::String(text)) => {
                let text = text.trim().to_owned();
                let length = text.chars().count();
                if length < min || length > max {
                    self.error(field, "INVALID_LENGTH", format!("must have {min} to {max} characters"));
                    None
                } else {
                    Some(text)
                }
            }
            Some(_) => {
                self.error(field, "INVALID_TYPE", "must be a string");
                None
            }
        }
    }

    /// An e-mail address, lower-cased: one `@`, no spaces, a dot in the domain.
    pub fn email(&mut self, field: &str, required: bool) -> Option<String> {
        let value = self.string(field, required, 3, 254);
        self.accepts(field, json!({ "type": "string", "format": "email", "maxLength": 254 }));
        let value = value?.to_lowercase();
        if is_email(&value) {
            Some(value)
        } else {
            self.error(field, "INVALID_FORMAT", "must be an e-mail address");
            None
        }
    }

    /// A list of at most `max_items` e-mail addresses, lower-cased.
    pub fn emails(&mut self, field: &str, max_items: usize) -> Option<Vec<String>> {
        let values = self.strings(field, max_items, 254);
        self.accepts(
            field,
            json!({ "type": "array", "maxItems": max_items, "items": { "type": "string", "format": "email" } }),
        );
        let values: Vec<String> = values?.into_iter().map(|value| value.to_lowercase()).collect();
        match values.iter().find(|value| !is_email(value)) {
            Some(bad) => {
                self.error(field, "INVALID_FORMAT", format!("{bad:?} is not an e-mail address"));
                None
            }
            None => Some(values),
        }
    }

    /// One of `allowed`, as given.
    pub fn one_of(&mut self, field: &str, allowed: &[&str]) -> Option<String> {
        let value = self.string(field, false, 1, 64);
        self.accepts(field, json!({ "type": "string", "enum": allowed }));
        let value = value?;
        if allowed.contains(&value.as_str()) {
            Some(value)
        } else {
            self.error(field, "INVALID_VALUE", format!("must be one of {}", allowed.join(", ")));
            None
        }
    }

    pub fn number(&mut self, field: &str, min: f64, max: f64) -> Option<f64> {
        self.accepts(field, json!({ "type": "number", "minimum": min, "maximum": max }));
        match self.take(field) {
            None => None,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(value) if (min..=max).contains(&value) => Some(value),
                _ => {
                    self.error(field, "OUT_OF_RANGE", format!("must be between {min} and {max}"));
                    None
                }
            },
            Some(_) => {
                self.error(field, "INVALID_TYPE", "must be a number");
                None
            }
        }
    }

    pub fn integer(&mut self, field: &str, min: i64, max: i64) -> Option<i64> {
        self.accepts(field, json!({ "type": "integer", "minimum": min, "maximum": max }));
        match self.take(field) {
            None => None,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(value) if (min..=max).contains(&value) => Some(value),
                _ => {
                    self.error(
                        field,
                        "OUT_OF_RANGE",
                        format!("must be a whole number from {min} to {max}"),
                    );
                    None
                }
            },
            Some(_) => {
                self.error(field, "INVALID_TYPE", "must be a whole number");
                None
            }
        }
    }

    pub fn boolean(&mut self, field: &str) -> Option<bool> {
        self.accepts(field, json!({ "type": "boolean" }));
        match self.take(field) {
            None => None,
            Some(Value::Bool(value)) => Some(value),
            Some(_) => {
                self.error(field, "INVALID_TYPE", "must be true or false");
                None
            }
        }
    }

    /// A list of strings, each `1..=max_len` characters, at most `max_items`.
    pub fn strings(&mut self, field: &str, max_items: usize, max_len: usize) -> Option<Vec<String>> {
        self.accepts(
            field,
            json!({ "type": "array", "maxItems": max_items,
                    "items": { "type": "string", "minLength": 1, "maxLength": max_len } }),
        );
        match self.take(field) {
            None => None,
            Some(Value::Array(items)) if items.len() <= max_items => {
                let strings: Option<Vec<String>> = items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .map(|s| s.trim().to_owned())
                            .filter(|s| !s.is_empty() && s.len() <= max_len)
                    })
                    .collect();
                if strings.is_none() {
                    self.error(
                        field,
                        "INVALID_ITEM",
                        format!("must hold strings of 1 to {max_len} characters"),
                    );
                }
                strings
            }
            Some(Value::Array(_)) => {
                self.error(field, "TOO_MANY", format!("must have at most {max_items} items"));
                None
            }
            Some(_) => {
                self.error(field, "INVALID_TYPE", "must be a list of strings");
                None
            }
        }
    }

    /// A JSON object, as sent (the caller checks its inside).
    pub fn object(&mut self, field: &str) -> Option<Value> {
        self.accepts(field, json!({ "type": "object" }));
        match self.take(field) {
            None => None,
            Some(value @ Value::Object(_)) => Some(value),
            Some(_) => {
                self.error(field, "INVALID_TYPE", "must be an object");
                None
            }
        }
    }

    /// An RFC 3339 date-time (`2026-12-01T00:00:00Z`).
    pub fn time(&mut self, field: &str, required: bool) -> Option<chrono::DateTime<chrono::Utc>> {
        let text = self.string(field, required, 1, 64);
        self.accepts(field, json!({ "type": "string", "format": "date-time" }));
        match chrono::DateTime::parse_from_rfc3339(&text?) {
            Ok(at) => Some(at.with_timezone(&chrono::Utc)),
            Err(_) => {
                self.error(
                    field,
                    "INVALID_FORMAT",
                    "must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z",
                );
                None
            }
        }
    }

    /// A list of `min..=max` objects, each read by `reader` like a body of its own: its
    /// problems are reported as `field[i].name`, and the item schema is the reader's.
    pub fn objects<T>(
        &mut self,
        field: &str,
        required: bool,
        (min, max): (usize, usize),
        reader: impl Fn(&mut Fields) -> T,
    ) -> Option<Vec<T>> {
        let mut item = Fields::describe();
        reader(&mut item);
        self.accepts(
            field,
            json!({ "type": "array", "minItems": min, "maxItems": max, "items": item.schema() }),
        );
        if required {
            self.required.insert(field.to_owned());
        }
        let items = match self.take(field) {
            None if required => {
                self.error(field, "REQUIRED", "is required");
                return None;
            }
            None => return None,
            Some(Value::Array(items)) if (min..=max).contains(&items.len()) => items,
            Some(Value::Array(_)) => {
                self.error(field, "INVALID_LENGTH", format!("must have {min} to {max} items"));
                return None;
            }
            Some(_) => {
                self.error(field, "INVALID_TYPE", "must be a list of objects");
                return None;
            }
        };
        let total = items.len();
        let mut read = Vec::with_capacity(total);
        for (index, value) in items.into_iter().enumerate() {
            let Value::Object(map) = value else {
                self.error(&format!("{field}[{index}]"), "INVALID_TYPE", "must be an object");
                continue;
            };
            let mut fields = Fields::new(map);
            let value = reader(&mut fields);
            match fields.finish() {
                Ok(()) => read.push(value),
                Err(refused) => {
                    for error in refused.details {
                        self.error(&format!("{field}[{index}].{}", error.field), error.code, error.message);
                    }
                }
            }
        }
        // Every item read, or none: a caller checks the list as a whole only when it is.
        (read.len() == total).then_some(read)
    }

    /// Like [`Fields::strings`], but `required` refuses an absent or null list.
    pub fn required_strings(
        &mut self,
        field: &str,
        required: bool,
        max_items: usize,
        max_len: usize,
    ) -> Option<Vec<String>> {
        let absent = self.map.get(field).is_none_or(Value::is_null);
        let values = self.strings(field, max_items, max_len);
        if required {
            self.required.insert(field.to_owned());
            if absent {
                self.error(field, "REQUIRED", "is required");
            }
        }
        values
    }

    /// Refuses unknown fields and reports every problem at once.
    pub fn finish(mut self) -> Result<(), ApiError> {
        let unknown: Vec<String> = self
            .map
            .keys()
            .filter(|key| !self.seen.contains(*key))
            .cloned()
            .collect();
        for field in unknown {
            self.error(&field, "UNKNOWN_FIELD", "is not a field of this request");
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.errors))
        }
    }
}

/// `?page=&limit=&sort=&order=`: page from 1, limit 1..=100, sort from `sortable`
/// ((name, column) pairs; the first is the default), order asc|desc (default desc for dates).
pub fn page(request: &Request, sortable: &[(&str, &'static str)], default_sort: &str) -> Result<Page, ApiError> {
    let query = request.query_string_parameters();
    let mut errors = Vec::new();
    let mut number = |name: &str, default: i64, max: i64| -> i64 {
        match query.first(name) {
            None => default,
            Some(raw) => match raw.parse::<i64>() {
                Ok(value) if (1..=max).contains(&value) => value,
                _ => {
                    errors.push(FieldError {
                        field: name.to_owned(),
                        message: format!("must be a whole number from 1 to {max}"),
                        code: "OUT_OF_RANGE",
                    });
                    default
                }
            },
        }
    };
    let page = number("page", 1, 1_000_000);
    let limit = number("limit", Page::DEFAULT_LIMIT, Page::MAX_LIMIT);
    let sort_name = query.first("sort").unwrap_or(default_sort);
    let sort_column = match sortable.iter().find(|(name, _)| *name == sort_name) {
        Some((_, column)) => column,
        None => {
            let names: Vec<&str> = sortable.iter().map(|(name, _)| *name).collect();
            errors.push(FieldError {
                field: "sort".to_owned(),
                message: format!("must be one of {}", names.join(", ")),
                code: "INVALID_VALUE",
            });
            sortable[0].1
        }
    };
    let direction = match query.first("order") {
        None | Some("asc") => Direction::Asc,
        Some("desc") => Direction::Desc,
        Some(_) => {
            errors.push(FieldError {
                field: "order".to_owned(),
                message: "must be asc or desc".to_owned(),
                code: "INVALID_VALUE",
            });
            Direction::Asc
        }
    };
    if errors.is_empty() {
        Ok(Page {
            page,
            limit,
            sort_column,
            direction,
        })
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Query-string filters (`?status=&from=`), checked like a body: every problem is collected
/// and reported at once by [`Query::finish`].
#[derive(Debug)]
pub struct Query<'r> {
    request: &'r Request,
    errors: Vec<FieldError>,
}

impl<'r> Query<'r> {
    pub fn new(request: &'r Request) -> Self {
        Self {
            request,
            errors: Vec::new(),
        }
    }

    fn refuse(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
            code,
        });
    }

    /// The raw value, as sent.
    pub fn text(&self, name: &str) -> Option<String> {
        self.request.query_string_parameters().first(name).map(str::to_owned)
    }

    /// A positive whole number (an id).
    pub fn id(&mut self, name: &str) -> Option<i64> {
        let raw = self.text(name)?;
        match raw.parse::<i64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                self.refuse(name, "INVALID_VALUE", "must be a positive whole number (an id)");
                None
            }
        }
    }

    /// An RFC 3339 time.
    pub fn time(&mut self, name: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        let raw = self.text(name)?;
        match chrono::DateTime::parse_from_rfc3339(&raw) {
            Ok(at) => Some(at.with_timezone(&chrono::Utc)),
            Err(_) => {
                self.refuse(
                    name,
                    "INVALID_FORMAT",
                    "must be an RFC 3339 time, e.g. 2026-11-25T00:00:00Z",
                );
                None
            }
        }
    }

    /// One of `allowed`.
    pub fn one_of(&mut self, name: &str, allowed: &[&str]) -> Option<String> {
        let raw = self.text(name)?;
        if allowed.contains(&raw.as_str()) {
            Some(raw)
        } else {
            self.refuse(name, "INVALID_VALUE", format!("must be one of {}", allowed.join(", ")));
            None
        }
    }

    /// Every problem at once, or nothing.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.errors))
        }
    }
}

/// A numeric id from the path (`persona_id`, ...); anything else is a 404, like an id that
/// does not exist.
pub fn path_id(request: &Request, name: &str) -> Result<i64, ApiError> {
    request
        .path_parameters()
        .first(name)
        .and_then(|raw| raw.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(format!("no such {}", name.trim_end_matches("_id"))))
}

/// One `@`, a non-empty local part, a dot in the domain, no spaces.
fn is_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !domain.contains('@') && !value.contains(char::is_whitespace)
        }
        None => false,
    }
}
