//! Templates a dealership writes: text with `{{variable}}` placeholders filled from the
//! dealership and the customer — persona prompts ([`VARIABLES`]) and its own e-mail wording
//! ([`EMAIL_VARIABLES`]). A template is checked when it is saved, so an unknown or misspelt
//! variable is a 400 for the dealer, not a blank in a customer's chat or mail.

/// The variables a template may use.
pub const VARIABLES: &[&str] = &[
    "dealership_name",
    "dealership_phone",
    "dealership_address",
    "dealership_website",
    "dealership_hours",
    "dealership_timezone",
    "customer_name",
    "customer_first_name",
    "persona_name",
    "current_date",
];

/// The variables a dealership's first-contact e-mail may use.
pub const EMAIL_VARIABLES: &[&str] = &[
    "dealership_name",
    "dealership_phone",
    "dealership_website",
    "customer_name",
    "customer_first_name",
    "persona_name",
    "vehicle",
    "vehicle_price",
    "vehicle_link",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("uses unknown variable {{{{{name}}}}}; known: {known}", known = known.join(", "))]
    UnknownVariable {
        name: String,
        known: &'static [&'static str],
    },
    #[error("has a {{{{ without a matching }}}}")]
    Unclosed,
}

/// The variables a persona `template` uses, in order, or the first problem.
pub fn variables(template: &str) -> Result<Vec<&str>, TemplateError> {
    variables_of(template, VARIABLES)
}

/// The variables `template` uses, in order, each one of `known`, or the first problem.
pub fn variables_of<'t>(template: &'t str, known: &'static [&'static str]) -> Result<Vec<&'t str>, TemplateError> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(TemplateError::Unclosed)?;
        let name = after[..end].trim();
        if !known.contains(&name) {
            return Err(TemplateError::UnknownVariable {
                name: name.to_owned(),
                known,
            });
        }
        found.push(name);
        rest = &after[end + 2..];
    }
    Ok(found)
}

/// Fills a persona template's placeholders; `value` answers each known variable.
pub fn render(template: &str, value: impl Fn(&str) -> String) -> Result<String, TemplateError> {
    render_of(template, VARIABLES, value)
}

/// Fills the placeholders, each one of `known`; `value` answers them.
pub fn render_of(
    template: &str,
    known: &'static [&'static str],
    value: impl Fn(&str) -> String,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(TemplateError::Unclosed)?;
        let name = after[..end].trim();
        if !known.contains(&name) {
            return Err(TemplateError::UnknownVariable {
                name: name.to_owned(),
                known,
            });
        }
        out.push_str(&value(name));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_variables_are_listed_and_rendered() {
        let template = "You are {{ persona_name }} at {{dealership_name}}. Greet {{customer_first_name}}.";
        assert_eq!(
            variables(template).unwrap(),
            vec!["persona_name", "dealership_name", "customer_first_name"]
        );
        let rendered = render(template, |name| name.to_uppercase()).unwrap();
        assert_eq!(
            rendered,
            "You are PERSONA_NAME at DEALERSHIP_NAME. Greet CUSTOMER_FIRST_NAME."
        );
    }

    #[test]
    fn an_unknown_variable_is_named() {
        let error = variables("Hi {{customer_nmae}}").unwrap_err();
        assert_eq!(
            error,
            TemplateError::UnknownVariable {
                name: "customer_nmae".into(),
                known: VARIABLES
            }
        );
        assert!(error.to_string().contains("{{customer_nmae}}"), "{error}");
        assert_eq!(variables("Hi {{customer_name"), Err(TemplateError::Unclosed));
    }
}
