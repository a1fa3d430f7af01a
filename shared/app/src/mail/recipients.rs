//! Who a mail is for. The envelope recipients (what SES received the mail for, not the `To:`
//! header, which a forward or a BCC leaves unrelated) are read as `leads+<alias>@<inbound
//! domain>`, or looked up as an address a dealership registered as its own.

use rylie_store::{StoreError, Transaction, inbound_emails};

/// An envelope recipient, lower-cased, with the alias it carries, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub address: String,
    /// `<alias>` of `<anything>+<alias>@<domain>`, when the domain is ours (any domain when
    /// no inbound domain is configured).
    pub alias: Option<String>,
}

impl Address {
    pub fn parse(raw: &str, inbound_domain: Option<&str>) -> Option<Address> {
        let address = raw.trim().trim_start_matches('<').trim_end_matches('>').to_lowercase();
        let (local, domain) = address.rsplit_once('@')?;
        if local.is_empty() || domain.is_empty() {
            return None;
        }
        let ours = inbound_domain.is_none_or(|inbound| inbound == domain);
        let alias = local
            .split_once('+')
            .map(|(_, alias)| alias.to_owned())
            .filter(|alias| ours && !alias.is_empty());
        Some(Address { address, alias })
    }
}

/// Where a mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routing {
    To(inbound_emails::Recipient),
    /// No dealership receives mail at these addresses (or two claim one of them).
    Nowhere(String),
}

/// The dealership of the first recipient address one dealership receives mail at. A mail
/// addressed to several dealerships is processed for the first; `notes` says so.
pub async fn route(
    tx: &Transaction<'_>,
    recipients: &[String],
    inbound_domain: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<Routing, StoreError> {
    let mut chosen: Option<inbound_emails::Recipient> = None;
    let mut problems = Vec::new();
    for raw in recipients {
        let Some(address) = Address::parse(raw, inbound_domain) else {
            problems.push(format!("{raw:?} is not an address"));
            continue;
        };
        let found = inbound_emails::recipients(tx, address.alias.as_deref(), &address.address).await?;
        match found.as_slice() {
            [] => problems.push(format!("no dealership receives mail at {}", address.address)),
            [one] => match &chosen {
                None => chosen = Some(one.clone()),
                Some(first) if first.dealership != one.dealership => notes.push(format!(
                    "also addressed to dealership {} at {}; processed for dealership {} only",
                    one.dealership, address.address, first.dealership
                )),
                Some(_) => {}
            },
            [first, second, ..] => problems.push(format!(
                "{} is claimed by dealerships {} and {}",
                address.address, first.dealership, second.dealership
            )),
        }
    }
    Ok(match chosen {
        Some(recipient) => Routing::To(recipient),
        None if problems.is_empty() => Routing::Nowhere("the mail has no recipients".to_owned()),
        None => Routing::Nowhere(problems.join("; ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alias_comes_from_the_plus_part_on_our_domain_only() {
        let ours = Address::parse("Leads+Sunset@In.Rylie.Example", Some("in.rylie.example")).unwrap();
        assert_eq!(ours.alias.as_deref(), Some("sunset"));
        assert_eq!(ours.address, "leads+sunset@in.rylie.example");
        let theirs = Address::parse("leads+sunset@elsewhere.example", Some("in.rylie.example")).unwrap();
        assert_eq!(
            theirs.alias, None,
            "a plus address on another domain is only an address"
        );
        let any = Address::parse("<leads+sunset@anything.example>", None).unwrap();
        assert_eq!(any.alias.as_deref(), Some("sunset"));
        assert_eq!(Address::parse("leads@dealer.example", None).unwrap().alias, None);
        assert_eq!(Address::parse("no-at-sign", None), None);
    }
}
