//! Who may do what: the roles of seed 001 and its permission matrix, declared once in
//! [`MATRIX`] and applied by one function, [`authorize`], that every route calls.
//!
//! ```text
//!                     │ Read │ Write │ Delete │ Admin │
//! ├─ super_admin      │  ✓   │   ✓   │   ✓    │   ✓   │
//! ├─ dealership_admin │  ✓   │   ✓   │   ✓    │   ✓*  │ (* dealership scope)
//! ├─ manager          │  ✓   │   ✓   │   ✗    │   ✗   │
//! ├─ user             │  ✓   │   ✓*  │   ✗    │   ✗   │ (* own data only)
//! └─ api              │  ✓*  │   ✓*  │   ✗    │   ✗   │ (* configured scope)
//! ```
//!
//! Everyone but super_admin is also bound to their own dealership: a staff member of one
//! dealership never reaches another's rows, whatever the cell says.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::DealershipId;

/// A staff role (stored in `users.role`), or `Api` for an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SuperAdmin,
    DealershipAdmin,
    Manager,
    User,
    Api,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::SuperAdmin,
        Role::DealershipAdmin,
        Role::Manager,
        Role::User,
        Role::Api,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::SuperAdmin => "super_admin",
            Role::DealershipAdmin => "dealership_admin",
            Role::Manager => "manager",
            Role::User => "user",
            Role::Api => "api",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == value)
            .ok_or_else(|| format!("{value:?} is not one of super_admin, dealership_admin, manager, user"))
    }
}

/// The four columns of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Read,
    Write,
    Delete,
    Admin,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Read, Action::Write, Action::Delete, Action::Admin];
}

/// A cell of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// Everywhere (super_admin).
    Allowed,
    /// Within the caller's dealership.
    Dealership,
    /// Within the caller's dealership, and only on data the caller owns.
    OwnData,
    /// Within the key's dealership, and only with a matching scope on the key.
    KeyScope,
    Denied,
}

/// The matrix of seed 001, row by row in [`Role::ALL`] order, columns in [`Action::ALL`] order.
pub const MATRIX: [[Cell; 4]; 5] = {
    use Cell::*;
    [
        [Allowed, Allowed, Allowed, Allowed],             // super_admin
        [Dealership, Dealership, Dealership, Dealership], // dealership_admin
        [Dealership, Dealership, Denied, Denied],         // manager
        [Dealership, OwnData, Denied, Denied],            // user
        [KeyScope, KeyScope, Denied, Denied],             // api
    ]
};

pub fn cell(role: Role, action: Action) -> Cell {
    let row = Role::ALL.iter().position(|r| *r == role).expect("every role has a row");
    let column = Action::ALL
        .iter()
        .position(|a| *a == action)
        .expect("every action has a column");
    MATRIX[row][column]
}

/// Who is calling: a staff member from a verified access token, or an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    /// The staff user, or None for an API key.
    pub user_id: Option<i64>,
    /// The API key, or None for staff.
    pub api_key_id: Option<i64>,
    /// None only for super_admin.
    pub dealership_id: Option<DealershipId>,
    /// An API key's scopes, e.g. `vehicles:read`, `conversations:write`.
    pub scopes: Vec<String>,
    /// An API key's rate-limit tier (`standard`, `premium`, `enterprise`).
    pub key_tier: Option<String>,
}

/// What a route is about to touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    /// The resource family, as named in API key scopes: `vehicles`, `personas`, ...
    pub resource: &'a str,
    pub action: Action,
    /// The dealership the object belongs to; None for platform objects (the list of
    /// dealerships, creating one).
    pub dealership_id: Option<DealershipId>,
    /// For `OwnData` cells: the user who owns the object, when it has one.
    pub owner_user_id: Option<i64>,
}

/// Why a call was refused. Routes answer `OutsideTenant` with 404 — another dealership's ids
/// do not exist for the caller — and `Forbidden` with 403.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    OutsideTenant,
    Forbidden(String),
}

/// The one authorization check.
pub fn authorize(principal: &Principal, target: &Target<'_>) -> Result<(), Denial> {
    let rule = cell(principal.role, target.action);
    if rule == Cell::Allowed {
        return Ok(());
    }
    // Everyone below super_admin lives inside one dealership.
    match (principal.dealership_id, target.dealership_id) {
        (Some(own), Some(theirs)) if own == theirs => {}
        (_, Some(_)) => return Err(Denial::OutsideTenant),
        (_, None) => {
            return Err(Denial::Forbidden(format!(
                "{} may not {} platform-level {}",
                principal.role,
                verb(target.action),
                target.resource
            )));
        }
    }
    let forbidden = || {
        Err(Denial::Forbidden(format!(
            "{} may not {} {}",
            principal.role,
            verb(target.action),
            target.resource
        )))
    };
    match rule {
        Cell::Allowed | Cell::Dealership => Ok(()),
        Cell::OwnData => match (principal.user_id, target.owner_user_id) {
            (Some(me), Some(owner)) if me == owner => Ok(()),
            _ => forbidden(),
        },
        Cell::KeyScope => {
            let needed = format!("{}:{}", target.resource, scope_verb(target.action));
            let granted = principal
                .scopes
                .iter()
                .any(|scope| scope == &needed || scope == &format!("{}:*", target.resource) || scope == "*");
            if granted {
                Ok(())
            } else {
                Err(Denial::Forbidden(format!("this API key lacks the scope {needed}")))
            }
        }
        Cell::Denied => forbidden(),
    }
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Read => "read",
        Action::Write => "change",
        Action::Delete => "delete",
        Action::Admin => "administer",
    }
}

fn scope_verb(action: Action) -> &'static str {
    match action {
        Action::Read => "read",
        Action::Write | Action::Delete | Action::Admin => "write",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: DealershipId = DealershipId(1);
    const OTHER: DealershipId = DealershipId(2);

    fn staff(role: Role) -> Principal {
        Principal {
            role,
            user_id: Some(10),
            api_key_id: None,
            dealership_id: (role != Role::SuperAdmin).then_some(HOME),
            scopes: vec![],
            key_tier: None,
        }
    }

    fn target(action: Action, dealership: Option<DealershipId>, owner: Option<i64>) -> Target<'static> {
        Target {
            resource: "personas",
            action,
            dealership_id: dealership,
            owner_user_id: owner,
        }
    }

    #[test]
    fn every_cell_of_the_matrix_inside_the_callers_dealership() {
        use Action::*;
        let expected = [
            (Role::SuperAdmin, [true, true, true, true]),
            (Role::DealershipAdmin, [true, true, true, true]),
            (Role::Manager, [true, true, false, false]),
            // user: write only on own data (tested separately)
            (Role::User, [true, false, false, false]),
        ];
        for (role, allowed) in expected {
            for (action, allow) in [Read, Write, Delete, Admin].into_iter().zip(allowed) {
                let result = authorize(&staff(role), &target(action, Some(HOME), Some(99)));
                assert_eq!(result.is_ok(), allow, "{role} {action:?}: {result:?}");
            }
        }
    }

    #[test]
    fn a_user_writes_own_data_only() {
        let user = staff(Role::User);
        assert!(authorize(&user, &target(Action::Write, Some(HOME), Some(10))).is_ok());
        assert!(matches!(
            authorize(&user, &target(Action::Write, Some(HOME), Some(11))),
            Err(Denial::Forbidden(_))
        ));
        assert!(matches!(
            authorize(&user, &target(Action::Write, Some(HOME), None)),
            Err(Denial::Forbidden(_))
        ));
    }

    #[test]
    fn another_dealership_is_outside_the_tenant_for_everyone_but_super_admin() {
        for role in [Role::DealershipAdmin, Role::Manager, Role::User] {
            for action in Action::ALL {
                assert_eq!(
                    authorize(&staff(role), &target(action, Some(OTHER), Some(10))),
                    Err(Denial::OutsideTenant)
                );
            }
        }
        assert!(authorize(&staff(Role::SuperAdmin), &target(Action::Delete, Some(OTHER), None)).is_ok());
    }

    #[test]
    fn platform_objects_are_super_admin_only() {
        for role in [Role::DealershipAdmin, Role::Manager, Role::User] {
            assert!(matches!(
                authorize(&staff(role), &target(Action::Admin, None, None)),
                Err(Denial::Forbidden(_))
            ));
        }
        assert!(authorize(&staff(Role::SuperAdmin), &target(Action::Admin, None, None)).is_ok());
    }

    #[test]
    fn api_keys_need_a_matching_scope_and_never_delete_or_administer() {
        let key = |scopes: &[&str]| Principal {
            role: Role::Api,
            user_id: None,
            api_key_id: Some(5),
            dealership_id: Some(HOME),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            key_tier: None,
        };
        let vehicles = |action| Target {
            resource: "vehicles",
            action,
            dealership_id: Some(HOME),
            owner_user_id: None,
        };
        assert!(authorize(&key(&["vehicles:read"]), &vehicles(Action::Read)).is_ok());
        assert!(authorize(&key(&["vehicles:read"]), &vehicles(Action::Write)).is_err());
        assert!(authorize(&key(&["vehicles:*"]), &vehicles(Action::Write)).is_ok());
        assert!(authorize(&key(&["personas:read"]), &vehicles(Action::Read)).is_err());
        assert!(authorize(&key(&["*"]), &vehicles(Action::Delete)).is_err());
        assert!(authorize(&key(&["*"]), &vehicles(Action::Admin)).is_err());
        let elsewhere = Target {
            dealership_id: Some(OTHER),
            ..vehicles(Action::Read)
        };
        assert_eq!(authorize(&key(&["*"]), &elsewhere), Err(Denial::OutsideTenant));
    }

    #[test]
    fn roles_parse_from_their_stored_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("admin".parse::<Role>().unwrap_err().contains("\"admin\""));
    }
}
