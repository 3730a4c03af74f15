use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a staff user or integration client may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    FrontDesk,
    Marketing,
    Integration,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Manager,
        Role::FrontDesk,
        Role::Marketing,
        Role::Integration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::FrontDesk => "front_desk",
            Role::Marketing => "marketing",
            Role::Integration => "integration",
        }
    }

    /// Staff users are people; `integration` belongs to API clients only.
    pub fn is_staff(self) -> bool {
        self != Role::Integration
    }

    /// Roles that may see a guest's full identity document number.
    pub fn may_read_identity_numbers(self) -> bool {
        matches!(self, Role::Admin | Role::Manager | Role::FrontDesk)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn only_desk_and_above_read_identity_numbers() {
        assert!(Role::FrontDesk.may_read_identity_numbers());
        assert!(!Role::Marketing.may_read_identity_numbers());
        assert!(!Role::Integration.may_read_identity_numbers());
    }
}
